//! Prises en charge (PEC): requests to complementary payers for a stay or a planned
//! stay, their answers, alerts, and the data of the request letter.

use quittance_domain::money::{Currency, Money};
use quittance_domain::pec::{self, Event, ITEMS, Status};
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;
use crate::care::payers;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pec {
    pub id: i64,
    pub establishment_id: i64,
    pub patient_id: i64,
    pub stay_id: Option<i64>,
    pub planned_admission_date: Option<String>,
    pub payer_id: i64,
    pub number: String,
    pub status: String,
    pub requested_items: String,
    pub requested_days: i64,
    /// Minor units of `currency`.
    pub estimate_minor: i64,
    pub currency: String,
    pub sent_at: Option<String>,
    pub answered_at: Option<String>,
    pub agreement_number: Option<String>,
    pub agreed_items: Option<String>,
    pub cap_per_day_minor: Option<i64>,
    pub max_days: Option<i64>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub answer_note: Option<String>,
    pub version: i64,
}

const COLS: &str = "id, establishment_id, patient_id, stay_id, planned_admission_date, payer_id, number, status, requested_items, requested_days, \
    estimate_minor, currency, sent_at, answered_at, agreement_number, agreed_items, cap_per_day_minor, max_days, valid_from, valid_to, answer_note, version";

/// A new request (brouillon).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PecInput {
    pub payer_id: String,
    /// The stay, or blank with a planned admission date.
    pub stay_id: String,
    /// JJ/MM/AAAA, for a planned stay.
    pub planned_admission_date: String,
    /// Comma-separated: forfait_journalier, chambre_particuliere, ticket_moderateur, prestations_annexes.
    pub requested_items: String,
    pub requested_days: String,
    /// French amount (`880,00` EUR, `12 500` XPF).
    pub estimate: String,
}

/// The payer's answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AnswerInput {
    /// acceptee, partielle, refusee.
    pub status: String,
    pub agreement_number: String,
    /// Comma-separated items agreed.
    pub agreed_items: String,
    /// French amount per day (blank = no cap).
    pub cap_per_day: String,
    pub max_days: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
    pub valid_to: String,
    pub note: String,
}

fn json(p: &Pec) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("version");
    }
    v
}

fn items(e: &mut FieldErrors, field: &str, v: &str, required: bool) -> String {
    let mut list: Vec<&str> = v.split(',').map(str::trim).filter(|x| !x.is_empty()).collect();
    list.sort();
    list.dedup();
    if list.iter().any(|x| !ITEMS.iter().any(|(c, _)| c == x)) {
        e.add(field, "Élément inconnu.");
    }
    if required && list.is_empty() {
        e.add(field, "Cochez au moins un élément.");
    }
    list.join(",")
}

fn day(e: &mut FieldErrors, field: &str, v: &str) -> Option<jiff::civil::Date> {
    if v.trim().is_empty() {
        return None;
    }
    match quittance_domain::fr::parse_date_fr(v) {
        Ok(d) => Some(d),
        Err(m) => {
            e.add(field, m);
            None
        }
    }
}

async fn currency(tx: &mut Tx, establishment_id: i64) -> Result<Currency, Error> {
    let c: (String,) = tx.one("SELECT currency FROM establishments WHERE id = $1", &args![establishment_id]).await?;
    Currency::from_code(&c.0).ok_or(Error::Integrity("devise inconnue".into()))
}

async fn load(tx: &mut Tx, id: i64) -> Result<Pec, Error> {
    tx.opt(&format!("SELECT {COLS} FROM cover_authorizations WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Prise en charge"))
}

/// The requests of a patient, newest first.
/// The view is audited (`view_pecs`).
pub async fn list(db: &Db, actor: &Actor, patient_id: i64) -> Result<Vec<Pec>, Error> {
    let file = patients::checked(db, actor, patient_id, "view_pecs").await?;
    let v = list_checked(db, &file).await?;
    patients::audit_view(db, actor, &file, "view_pecs", serde_json::json!({})).await?;
    Ok(v)
}

/// [`list`] for a file already checked and viewed in this request (no second check, no row).
pub async fn list_checked(db: &Db, file: &patients::Checked) -> Result<Vec<Pec>, Error> {
    let mut tx = db.read().await?;
    let v = tx.all(&format!("SELECT {COLS} FROM cover_authorizations WHERE patient_id = $1 ORDER BY id DESC"), &args![file.id()]).await?;
    tx.rollback().await?;
    Ok(v)
}

/// One request. The view is audited (`view_pec`, the request's id in `changes`).
pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Pec, Error> {
    let mut tx = db.read().await?;
    let p = load(&mut tx, id).await;
    tx.rollback().await?;
    let p = p?;
    let file = patients::checked(db, actor, p.patient_id, "view_pec").await?;
    patients::audit_view(db, actor, &file, "view_pec", serde_json::json!({ "pec": id })).await?;
    Ok(p)
}

/// Creates a draft request, numbered `PEC-YYYY-NNNNNN` (gapless per establishment and year).
pub async fn create(db: &Db, actor: &Actor, patient_id: i64, input: &PecInput) -> Result<Pec, Error> {
    let (patient, sites) = patients::write_access(db, actor, patient_id).await?;
    let est = patient.establishment_id;
    let mut e = FieldErrors::new();
    let requested_items = items(&mut e, "requested_items", &input.requested_items, true);
    let requested_days = match input.requested_days.trim().parse::<i64>() {
        Ok(d) if (1..=365).contains(&d) => d,
        _ => {
            e.add("requested_days", "Nombre de jours entre 1 et 365.");
            0
        }
    };
    let planned = day(&mut e, "planned_admission_date", &input.planned_admission_date);
    let stay_id = input.stay_id.trim().parse::<i64>().ok();
    if stay_id.is_none() && planned.is_none() {
        e.add("stay_id", "Choisissez le séjour, ou indiquez la date d'admission prévue.");
    }
    let mut tx = db.begin().await?;
    let cur = currency(&mut tx, est).await?;
    let estimate = if input.estimate.trim().is_empty() {
        Money::zero(cur)
    } else {
        match Money::parse_fr(&input.estimate, cur) {
            Ok(m) if !m.is_negative() => m,
            Ok(_) => {
                e.add("estimate", "Le montant estimé ne peut pas être négatif.");
                Money::zero(cur)
            }
            Err(m) => {
                e.add("estimate", m.to_string());
                Money::zero(cur)
            }
        }
    };
    let payer_id = input.payer_id.trim().parse::<i64>().ok();
    match payer_id {
        None => e.add("payer_id", "Choisissez l'organisme complémentaire."),
        Some(pid) => match payers::load(&mut tx, pid).await {
            Ok(p) if p.establishment_id == est && matches!(p.kind.as_str(), "complementaire" | "aide_medicale" | "autre") => {}
            Ok(p) if p.establishment_id == est => e.add("payer_id", "Une prise en charge se demande à un organisme complémentaire."),
            _ => e.add("payer_id", "Organisme inconnu dans cet établissement."),
        },
    }
    if let Some(s) = stay_id
        && tx.int("SELECT COUNT(*) FROM stays WHERE id = $1 AND patient_id = $2", &args![s, patient_id]).await? == 0 {
            e.add("stay_id", "Ce séjour n'est pas celui du patient.");
        }
    if let Err(errs) = e.into_result() {
        tx.rollback().await?;
        return Err(Error::Invalid(errs));
    }
    let year = jiff::Zoned::now().year();
    let n = tx
        .int(
            "INSERT INTO number_counters (establishment_id, series_code, year, last_number) VALUES ($1, 'PEC', $2, 1) \
             ON CONFLICT (establishment_id, series_code, year) DO UPDATE SET last_number = number_counters.last_number + 1 RETURNING last_number",
            &args![est, year as i64],
        )
        .await?;
    let number = format!("PEC-{year}-{n:06}");
    let now = now_text();
    let id = tx
        .int(
            "INSERT INTO cover_authorizations (establishment_id, patient_id, stay_id, planned_admission_date, payer_id, number, status, requested_items, \
             requested_days, estimate_minor, currency, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, 'brouillon', $7, $8, $9, $10, $11, $11, 1) RETURNING id",
            &args![
                est, patient_id, stay_id, planned.map(|d| d.to_string()), payer_id.unwrap_or(0), number.clone(), requested_items, requested_days,
                estimate.minor, cur.code(), now
            ],
        )
        .await?;
    let p = load(&mut tx, id).await?;
    tx.audit(actor, AuditEvent::new("patient", "pec_create").id(patient_id).at(Some(est), sites.first().copied()).changes(diff(&serde_json::json!({}), &json(&p))));
    tx.commit().await?;
    Ok(p)
}

async fn apply(db: &Db, actor: &Actor, id: i64, version: i64, event: Event, answer: Option<&AnswerInput>) -> Result<Pec, Error> {
    let before = get(db, actor, id).await?;
    let (_, sites) = patients::write_access(db, actor, before.patient_id).await?;
    if before.version != version {
        return Err(Error::Conflict("Cette demande a été modifiée par quelqu'un d'autre : rechargez-la.".into()));
    }
    let from = Status::from_code(&before.status).ok_or(Error::Integrity("statut inconnu".into()))?;
    let to = pec::transition(from, event).map_err(|m| Error::invalid("status", m))?;
    let mut tx = db.begin().await?;
    let now = now_text();
    match (event, answer) {
        (Event::Send, _) => {
            tx.exec("UPDATE cover_authorizations SET status = $1, sent_at = $2, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4", &args![to.code(), now, id, version]).await?;
        }
        (Event::Expire, _) => {
            tx.exec("UPDATE cover_authorizations SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4", &args![to.code(), now, id, version]).await?;
        }
        (Event::Answer(_), Some(a)) => {
            let mut e = FieldErrors::new();
            let cur = currency(&mut tx, before.establishment_id).await?;
            let refused = to == Status::Refusee;
            let agreement_number = e.optional("agreement_number", &a.agreement_number, 40);
            if !refused && agreement_number.is_none() {
                e.add("agreement_number", "Le numéro d'accord est obligatoire pour un accord.");
            }
            let agreed = items(&mut e, "agreed_items", &a.agreed_items, !refused);
            if to == Status::Acceptee && !agreed.is_empty() && agreed != before.requested_items {
                let requested: Vec<&str> = before.requested_items.split(',').collect();
                if agreed.split(',').any(|x| !requested.contains(&x)) {
                    e.add("agreed_items", "Un accord ne peut porter que sur des éléments demandés.");
                }
            }
            let cap = if a.cap_per_day.trim().is_empty() {
                None
            } else {
                match Money::parse_fr(&a.cap_per_day, cur) {
                    Ok(m) if !m.is_negative() => Some(m.minor),
                    Ok(_) => {
                        e.add("cap_per_day", "Le plafond ne peut pas être négatif.");
                        None
                    }
                    Err(m) => {
                        e.add("cap_per_day", m.to_string());
                        None
                    }
                }
            };
            let max_days = if a.max_days.trim().is_empty() {
                None
            } else {
                match a.max_days.trim().parse::<i64>() {
                    Ok(d) if (1..=365).contains(&d) => Some(d),
                    _ => {
                        e.add("max_days", "Nombre de jours entre 1 et 365.");
                        None
                    }
                }
            };
            let vf = day(&mut e, "valid_from", &a.valid_from);
            let vt = day(&mut e, "valid_to", &a.valid_to);
            if !refused && (a.valid_from.trim().is_empty() || a.valid_to.trim().is_empty()) {
                e.add("valid_to", "Indiquez la période de validité de l'accord.");
            }
            if let (Some(f), Some(t)) = (vf, vt)
                && t < f {
                    e.add("valid_to", "La fin de validité précède le début.");
                }
            let note = e.optional("note", &a.note, 500);
            if let Err(errs) = e.into_result() {
                tx.rollback().await?;
                return Err(Error::Invalid(errs));
            }
            tx.exec(
                "UPDATE cover_authorizations SET status = $1, answered_at = $2, agreement_number = $3, agreed_items = $4, cap_per_day_minor = $5, \
                 max_days = $6, valid_from = $7, valid_to = $8, answer_note = $9, updated_at = $2, version = version + 1 WHERE id = $10 AND version = $11",
                &args![to.code(), now, agreement_number, if agreed.is_empty() { None } else { Some(agreed) }, cap, max_days, vf.map(|d| d.to_string()), vt.map(|d| d.to_string()), note, id, version],
            )
            .await?;
        }
        (Event::Answer(_), None) => return Err(Error::invalid("status", "Réponse manquante.")),
    }
    let after = load(&mut tx, id).await?;
    if after.version != version + 1 {
        return Err(Error::Conflict("Cette demande a été modifiée par quelqu'un d'autre : rechargez-la.".into()));
    }
    let action = match event {
        Event::Send => "pec_send",
        Event::Answer(_) => "pec_answer",
        Event::Expire => "pec_expire",
    };
    tx.audit(actor, AuditEvent::new("patient", action).id(before.patient_id).at(Some(before.establishment_id), sites.first().copied()).changes(diff(&json(&before), &json(&after))));
    tx.commit().await?;
    Ok(after)
}

pub async fn send(db: &Db, actor: &Actor, id: i64, version: i64) -> Result<Pec, Error> {
    apply(db, actor, id, version, Event::Send, None).await
}

pub async fn answer(db: &Db, actor: &Actor, id: i64, version: i64, a: &AnswerInput) -> Result<Pec, Error> {
    let status = Status::from_code(a.status.trim()).filter(|s| matches!(s, Status::Acceptee | Status::Partielle | Status::Refusee));
    let Some(status) = status else { return Err(Error::invalid("status", "Réponse : acceptée, partielle ou refusée.")) };
    apply(db, actor, id, version, Event::Answer(status), Some(a)).await
}

pub async fn expire(db: &Db, actor: &Actor, id: i64, version: i64) -> Result<Pec, Error> {
    apply(db, actor, id, version, Event::Expire, None).await
}

/// An alert on a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub pec_id: i64,
    pub patient_id: i64,
    pub number: String,
    pub message: String,
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    patient_id: i64,
    number: String,
    status: String,
    sent_at: Option<String>,
    valid_to: Option<String>,
    admission_at: Option<String>,
    discharge_at: Option<String>,
    planned_discharge_date: Option<String>,
}

/// Requests without answer after the establishment's delay, and agreements that
/// expire before the end of their stay.
pub async fn alerts(db: &Db, actor: &Actor, establishment_id: i64, today: jiff::civil::Date) -> Result<Vec<Alert>, Error> {
    actor
        .require(db, quittance_domain::access::Permission::ReadPatients, quittance_domain::access::Scope::Establishment(establishment_id), "pec", "alerts")
        .await?;
    let sites = if actor.system { None } else { actor.grants.sites_for(quittance_domain::access::Permission::ReadPatients, establishment_id) };
    let mut tx = db.read().await?;
    let rules = crate::readiness::rules(&mut tx, establishment_id).await?;
    let site_filter = patients::sites_clause(sites.as_deref(), "c.patient_id");
    let rows: Vec<AlertRow> = tx
        .all(
            &format!(
                "SELECT c.id, c.patient_id, c.number, c.status, c.sent_at, c.valid_to, s.admission_at, s.discharge_at, s.planned_discharge_date \
                 FROM cover_authorizations c LEFT JOIN stays s ON s.id = c.stay_id \
                 WHERE c.establishment_id = $1 AND c.status IN ('envoyee', 'acceptee', 'partielle'){site_filter} ORDER BY c.id"
            ),
            &args![establishment_id],
        )
        .await?;
    tx.rollback().await?;
    let d = |t: &Option<String>| t.as_deref().and_then(|x| x.get(..10)).and_then(|x| x.parse::<jiff::civil::Date>().ok());
    let mut out = Vec::new();
    for r in rows {
        let status = Status::from_code(&r.status).unwrap_or(Status::Brouillon);
        if pec::overdue(status, d(&r.sent_at), today, rules.pec_answer_days) {
            out.push(Alert {
                pec_id: r.id,
                patient_id: r.patient_id,
                number: r.number.clone(),
                message: format!("Sans réponse depuis plus de {} jours.", rules.pec_answer_days),
            });
        }
        if let Some(from) = d(&r.admission_at) {
            let end = d(&r.discharge_at).or(d(&r.planned_discharge_date)).unwrap_or(today);
            if pec::expires_during(status, d(&r.valid_to), from, end) {
                out.push(Alert {
                    pec_id: r.id,
                    patient_id: r.patient_id,
                    number: r.number,
                    message: format!(
                        "L'accord expire le {} pendant le séjour.",
                        d(&r.valid_to).map(quittance_domain::fr::format_date_fr).unwrap_or_default()
                    ),
                });
            }
        }
    }
    Ok(out)
}
