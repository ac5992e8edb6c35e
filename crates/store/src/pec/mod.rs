//! Prises en charge (PEC): requests to complementary payers for a stay or a planned
//! stay, their answers, alerts, and the data of the request letter.
//!
//! Writes follow the write path: permission → parsed input ([`quittance_domain::pec::input`])
//! → one transaction → the request locked → version checked → pure rules → writes that
//! must touch exactly the locked row (0 rows → 409) → audit → commit.

use quittance_domain::money::{Currency, Money};
use quittance_domain::pec::input::{check_against_request, items_code, items_from_code};
use quittance_domain::pec::{self, Event, Item, Status};
use quittance_domain::validation::FieldErrors;

pub use quittance_domain::pec::input::{Answer, AnswerInput, NewPec, PecInput};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;
use crate::shared::rows::{codes_text, decode, decode_list};

/// A request as stored: status decoded as [`Status`], items as [`Item`]s, amounts as [`Money`] in the request's currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Pec {
    pub id: i64,
    pub establishment_id: i64,
    pub patient_id: i64,
    pub stay_id: Option<i64>,
    pub planned_admission_date: Option<String>,
    pub payer_id: i64,
    pub number: String,
    pub status: Status,
    /// Sorted by code (stored as the codes, comma-separated).
    pub requested_items: Vec<Item>,
    pub requested_days: i64,
    pub estimate: Money,
    pub sent_at: Option<String>,
    pub answered_at: Option<String>,
    pub agreement_number: Option<String>,
    /// `None` without an agreement (stored as the codes, comma-separated).
    pub agreed_items: Option<Vec<Item>>,
    pub cap_per_day: Option<Money>,
    pub max_days: Option<i64>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub answer_note: Option<String>,
    pub version: i64,
}

impl Pec {
    pub fn currency(&self) -> Currency {
        self.estimate.currency
    }
}

/// The columns as the database holds them.
#[derive(sqlx::FromRow)]
struct PecRow {
    id: i64,
    establishment_id: i64,
    patient_id: i64,
    stay_id: Option<i64>,
    planned_admission_date: Option<String>,
    payer_id: i64,
    number: String,
    /// Decoded into [`Status`] by [`Pec`]'s `FromRow` (sqlx's `try_from` attribute needs a macro this build lacks).
    status: String,
    requested_items: String,
    requested_days: i64,
    estimate_minor: i64,
    currency: String,
    sent_at: Option<String>,
    answered_at: Option<String>,
    agreement_number: Option<String>,
    agreed_items: Option<String>,
    cap_per_day_minor: Option<i64>,
    max_days: Option<i64>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    answer_note: Option<String>,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Pec
where
    PecRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = PecRow::from_row(row)?;
        let currency = Currency::from_code(&r.currency)
            .ok_or_else(|| sqlx::Error::Decode(format!("devise inconnue « {} »", r.currency).into()))?;
        let status = Status::try_from(r.status).map_err(|m| sqlx::Error::Decode(m.into()))?;
        Ok(Pec {
            id: r.id,
            establishment_id: r.establishment_id,
            patient_id: r.patient_id,
            stay_id: r.stay_id,
            planned_admission_date: r.planned_admission_date,
            payer_id: r.payer_id,
            number: r.number,
            status,
            requested_items: decode_list(r.requested_items)?,
            requested_days: r.requested_days,
            estimate: Money::new(r.estimate_minor, currency),
            sent_at: r.sent_at,
            answered_at: r.answered_at,
            agreement_number: r.agreement_number,
            agreed_items: r.agreed_items.map(decode_list).transpose()?,
            cap_per_day: r.cap_per_day_minor.map(|m| Money::new(m, currency)),
            max_days: r.max_days,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
            answer_note: r.answer_note,
            version: r.version,
        })
    }
}

pub(crate) const COLS: &str = "id, establishment_id, patient_id, stay_id, planned_admission_date, payer_id, number, status, requested_items, requested_days, \
    estimate_minor, currency, sent_at, answered_at, agreement_number, agreed_items, cap_per_day_minor, max_days, valid_from, valid_to, answer_note, version";

/// What the audit trail records of a request (the stored names, codes as text).
fn json(p: &Pec) -> serde_json::Value {
    serde_json::json!({
        "establishment_id": p.establishment_id,
        "patient_id": p.patient_id,
        "stay_id": p.stay_id,
        "planned_admission_date": p.planned_admission_date,
        "payer_id": p.payer_id,
        "number": p.number,
        "status": p.status.code(),
        "requested_items": codes_text(&p.requested_items),
        "requested_days": p.requested_days,
        "estimate_minor": p.estimate.minor,
        "currency": p.currency().code(),
        "sent_at": p.sent_at,
        "answered_at": p.answered_at,
        "agreement_number": p.agreement_number,
        "agreed_items": p.agreed_items.as_deref().map(codes_text),
        "cap_per_day_minor": p.cap_per_day.map(|m| m.minor),
        "max_days": p.max_days,
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
        "answer_note": p.answer_note,
    })
}

/// The message of a stale write on a request.
const STALE: &str = "Cette demande de prise en charge";

async fn currency(tx: &mut Tx, establishment_id: i64) -> Result<Currency, Error> {
    let c: (String,) = tx.one("SELECT currency FROM establishments WHERE id = $1", &args![establishment_id]).await?;
    Currency::from_code(&c.0).ok_or(Error::Integrity("devise inconnue".into()))
}

async fn load(tx: &mut Tx, id: i64) -> Result<Pec, Error> {
    tx.opt(&format!("SELECT {COLS} FROM cover_authorizations WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Prise en charge"))
}

/// The request, locked until the transaction ends.
async fn lock(tx: &mut Tx, id: i64) -> Result<Pec, Error> {
    tx.lock(&format!("SELECT {COLS} FROM cover_authorizations WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Prise en charge"))
}

/// Whether the actor may change the requests of a file attached to `file_sites` — decided
/// purely, for what a page shows (the use cases still check and audit a refusal).
pub fn may_change(actor: &Actor, establishment_id: i64, file_sites: &[i64]) -> bool {
    use quittance_domain::access::{Permission, Scope};
    actor.system
        || match actor.grants.sites_for(Permission::WritePatients, establishment_id) {
            None => actor.allows(Permission::WritePatients, Scope::Establishment(establishment_id)),
            Some(list) => file_sites.iter().any(|s| list.contains(s)),
        }
}

/// The requests of a patient, newest first.
/// The view is audited (`view_pecs`).
pub async fn list(db: &Db, actor: &Actor, patient_id: i64) -> Result<Vec<Pec>, Error> {
    let file = patients::checked(db, actor, patient_id, "view_pecs").await?;
    let mut tx = db.read().await?;
    let v = list_checked(&mut tx, &file).await?;
    tx.rollback().await?;
    patients::audit_view(db, actor, &file, "view_pecs", serde_json::json!({})).await?;
    Ok(v)
}

/// [`list`] for a file already checked and viewed in this request (no second check, no row).
pub async fn list_checked(tx: &mut Tx, file: &patients::Checked) -> Result<Vec<Pec>, Error> {
    tx.all(&format!("SELECT {COLS} FROM cover_authorizations WHERE patient_id = $1 ORDER BY id DESC"), &args![file.id()]).await
}

/// The names of the payers of `pecs`, taking those already `known` (the payers of the file's
/// coverages, which a page has read): a query only for the others, none most of the time.
pub async fn payer_names_given(
    tx: &mut Tx,
    pecs: &[Pec],
    known: impl IntoIterator<Item = (i64, String)>,
) -> Result<std::collections::HashMap<i64, String>, Error> {
    let mut names: std::collections::HashMap<i64, String> = known.into_iter().collect();
    let mut missing: Vec<i64> = pecs.iter().map(|p| p.payer_id).filter(|id| !names.contains_key(id)).collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        // Integers only in the list: nothing typed by a person reaches this SQL.
        let list = missing.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let rows: Vec<(i64, String)> = tx.all(&format!("SELECT id, name FROM payers WHERE id IN ({list})"), &args![]).await?;
        names.extend(rows);
    }
    Ok(names)
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


/// The currency a new request of the patient is typed in (its establishment's): the fact
/// [`parse_new`] needs before the use case runs.
pub async fn patient_currency(db: &Db, patient_id: i64) -> Result<Currency, Error> {
    let mut tx = db.read().await?;
    let c: Option<(String,)> =
        tx.opt("SELECT e.currency FROM patients p JOIN establishments e ON e.id = p.establishment_id WHERE p.id = $1", &args![patient_id]).await?;
    tx.rollback().await?;
    let c = c.ok_or(Error::NotFound("Dossier patient"))?;
    Currency::from_code(&c.0).ok_or(Error::Integrity("devise inconnue".into()))
}

/// The currency of a request (what its answer is typed in).
pub async fn request_currency(db: &Db, id: i64) -> Result<Currency, Error> {
    let mut tx = db.read().await?;
    let c: Option<(String,)> = tx.opt("SELECT currency FROM cover_authorizations WHERE id = $1", &args![id]).await?;
    tx.rollback().await?;
    let c = c.ok_or(Error::NotFound("Prise en charge"))?;
    Currency::from_code(&c.0).ok_or(Error::Integrity("devise inconnue".into()))
}

/// Parses a new request in the currency of the patient's establishment. When the input
/// does not parse, the facts the database knows (payer, stay) are checked too, so that
/// every error comes back at once; [`create`] checks them again inside its transaction.
pub async fn parse_new(db: &Db, patient_id: i64, raw: &PecInput) -> Result<NewPec, Error> {
    let cur = patient_currency(db, patient_id).await?;
    match pec::input::parse_new(raw, cur) {
        Ok(n) => Ok(n),
        Err(mut e) => {
            let mut tx = db.read().await?;
            let est = tx.int("SELECT establishment_id FROM patients WHERE id = $1", &args![patient_id]).await?;
            let (payer, stay) = (raw.payer_id.trim().parse::<i64>().ok(), raw.stay_id.trim().parse::<i64>().ok());
            let mut facts = FieldErrors::new();
            fact_errors(&mut tx, est, patient_id, payer, stay, &mut facts).await?;
            tx.rollback().await?;
            for f in facts.0 {
                if e.get(&f.field).is_none() {
                    e.0.push(f);
                }
            }
            Err(Error::Invalid(e))
        }
    }
}

/// What the database says of a request's payer and stay.
async fn fact_errors(tx: &mut Tx, est: i64, patient_id: i64, payer_id: Option<i64>, stay_id: Option<i64>, e: &mut FieldErrors) -> Result<(), Error> {
    if let Some(pid) = payer_id {
        let payer: Option<(i64, String)> = tx.opt("SELECT establishment_id, kind FROM payers WHERE id = $1", &args![pid]).await?;
        match payer {
            Some((pe, kind)) if pe == est && matches!(kind.as_str(), "complementaire" | "aide_medicale" | "autre") => {}
            Some((pe, _)) if pe == est => e.add("payer_id", "Une prise en charge se demande à un organisme complémentaire."),
            _ => e.add("payer_id", "Organisme inconnu dans cet établissement."),
        }
    }
    if let Some(s) = stay_id {
        let stay: Option<(i64,)> = tx.opt("SELECT id FROM stays WHERE id = $1 AND patient_id = $2", &args![s, patient_id]).await?;
        if stay.is_none() {
            e.add("stay_id", "Ce séjour n'est pas celui du patient.");
        }
    }
    Ok(())
}

/// Parses an answer in the request's currency.
pub async fn parse_answer(db: &Db, id: i64, raw: &AnswerInput) -> Result<Answer, Error> {
    let cur = request_currency(db, id).await?;
    match pec::input::parse_answer(raw, cur) {
        Ok(a) => Ok(a),
        Err(mut e) => {
            // Every error at once: the items against the request too ([`answer`] checks again, locked).
            if let (Some(status), None) = (Status::from_code(raw.status.trim()), e.get("agreed_items")) {
                let mut tx = db.read().await?;
                let requested: Option<(String,)> = tx.opt("SELECT requested_items FROM cover_authorizations WHERE id = $1", &args![id]).await?;
                tx.rollback().await?;
                let requested: Vec<Item> = requested.map(|r| decode_list(r.0)).transpose()?.unwrap_or_default();
                if let Err(more) = pec::input::check_items(status, &items_from_code(&raw.agreed_items), &requested) {
                    e.0.extend(more.0);
                }
            }
            Err(Error::Invalid(e))
        }
    }
}

/// Creates a draft request, numbered `PEC-YYYY-NNNNNN` (gapless per establishment and year).
pub async fn create(db: &Db, actor: &Actor, patient_id: i64, input: &NewPec) -> Result<Pec, Error> {
    let (patient, sites) = patients::write_access(db, actor, patient_id).await?;
    let est = patient.establishment_id;
    let mut tx = db.begin().await?;
    let cur = currency(&mut tx, est).await?;
    let mut e = FieldErrors::new();
    if input.estimate.currency != cur {
        e.add("estimate", format!("Le montant doit être en {}.", cur.code()));
    }
    fact_errors(&mut tx, est, patient_id, Some(input.payer_id), input.stay_id, &mut e).await?;
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
             requested_days, estimate_minor, currency, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 1) RETURNING id",
            &args![
                est,
                patient_id,
                input.stay_id,
                input.planned_admission_date.map(|d| d.to_string()),
                input.payer_id,
                number,
                Status::Brouillon.code(),
                items_code(&input.requested_items),
                input.requested_days,
                input.estimate.minor,
                cur.code(),
                now
            ],
        )
        .await?;
    let p = load(&mut tx, id).await?;
    tx.audit(actor, AuditEvent::new("patient", "pec_create").id(patient_id).at(Some(est), sites.first().copied()).changes(diff(&serde_json::json!({}), &json(&p))));
    tx.commit().await?;
    Ok(p)
}

/// The file a request belongs to (it never changes), to decide the permission.
async fn patient_of(db: &Db, id: i64) -> Result<i64, Error> {
    let mut tx = db.read().await?;
    let r: Option<(i64,)> = tx.opt("SELECT patient_id FROM cover_authorizations WHERE id = $1", &args![id]).await?;
    tx.rollback().await?;
    r.map(|r| r.0).ok_or(Error::NotFound("Prise en charge"))
}

async fn apply(db: &Db, actor: &Actor, id: i64, version: i64, event: Event, answer: Option<&Answer>) -> Result<Pec, Error> {
    let patient_id = patient_of(db, id).await?;
    let (_, sites) = patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let before = lock(&mut tx, id).await?;
    if before.version != version {
        return Err(Error::stale(STALE));
    }
    let to = pec::transition(before.status, event).map_err(|m| Error::invalid("status", m))?;
    let now = now_text();
    let stale = Error::stale(STALE).to_string();
    match (event, answer) {
        (Event::Send, _) => {
            tx.exec_one(
                "UPDATE cover_authorizations SET status = $1, sent_at = $2, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
                &args![to.code(), now, id, version],
                &stale,
            )
            .await?;
        }
        (Event::Expire, _) => {
            tx.exec_one(
                "UPDATE cover_authorizations SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
                &args![to.code(), now, id, version],
                &stale,
            )
            .await?;
        }
        (Event::Answer(_), Some(a)) => {
            let mut e = FieldErrors::new();
            if let Err(errs) = check_against_request(a, &before.requested_items) {
                e.0.extend(errs.0);
            }
            if a.cap_per_day.is_some_and(|m| m.currency != before.currency()) {
                e.add("cap_per_day", format!("Le montant doit être en {}.", before.currency().code()));
            }
            if let Err(errs) = e.into_result() {
                tx.rollback().await?;
                return Err(Error::Invalid(errs));
            }
            let agreed = if a.agreed_items.is_empty() { None } else { Some(items_code(&a.agreed_items)) };
            tx.exec_one(
                "UPDATE cover_authorizations SET status = $1, answered_at = $2, agreement_number = $3, agreed_items = $4, cap_per_day_minor = $5, \
                 max_days = $6, valid_from = $7, valid_to = $8, answer_note = $9, updated_at = $2, version = version + 1 WHERE id = $10 AND version = $11",
                &args![
                    to.code(),
                    now,
                    a.agreement_number.clone(),
                    agreed,
                    a.cap_per_day.map(|m| m.minor),
                    a.max_days,
                    a.valid_from.map(|d| d.to_string()),
                    a.valid_to.map(|d| d.to_string()),
                    a.note.clone(),
                    id,
                    version
                ],
                &stale,
            )
            .await?;
        }
        (Event::Answer(_), None) => return Err(Error::invalid("status", "Réponse manquante.")),
    }
    let after = load(&mut tx, id).await?;
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

/// Records the payer's answer (parsed with [`parse_answer`]).
pub async fn answer(db: &Db, actor: &Actor, id: i64, version: i64, a: &Answer) -> Result<Pec, Error> {
    apply(db, actor, id, version, Event::Answer(a.status), Some(a)).await
}

pub async fn expire(db: &Db, actor: &Actor, id: i64, version: i64) -> Result<Pec, Error> {
    apply(db, actor, id, version, Event::Expire, None).await
}

/// An alert on a request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub pec_id: i64,
    pub patient_id: i64,
    pub number: String,
    pub message: String,
}

/// A request the alerts look at, its status decoded.
struct AlertLine {
    id: i64,
    patient_id: i64,
    number: String,
    status: Status,
    sent_at: Option<String>,
    valid_to: Option<String>,
    admission_at: Option<String>,
    discharge_at: Option<String>,
    planned_discharge_date: Option<String>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for AlertLine
where
    AlertRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = AlertRow::from_row(row)?;
        Ok(AlertLine {
            id: r.id,
            patient_id: r.patient_id,
            number: r.number,
            status: decode(r.status)?,
            sent_at: r.sent_at,
            valid_to: r.valid_to,
            admission_at: r.admission_at,
            discharge_at: r.discharge_at,
            planned_discharge_date: r.planned_discharge_date,
        })
    }
}

/// The columns of an [`AlertLine`] as the database holds them.
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
    let rows: Vec<AlertLine> = tx
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
        let status = r.status;
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
