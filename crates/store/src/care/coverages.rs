//! A patient's coverage rights (droits): payer, role, member number, insured or
//! dependant, validity, rates by category, exemptions, priority; and their flags.

use quittance_domain::care::coverage::{self, BENEFICIARY, CATEGORIES, EXEMPTIONS, Flag, ROLES, Span};
use quittance_domain::money::BasisPoints;
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;
use crate::care::payers;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub struct Coverage {
    pub id: i64,
    pub patient_id: i64,
    pub payer_id: i64,
    pub role: String,
    pub member_number: Option<String>,
    pub beneficiary: String,
    pub insured_patient_id: Option<i64>,
    pub insured_name: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub rate_sejour_bp: i64,
    pub rate_actes_bp: i64,
    pub rate_fj_bp: i64,
    pub rate_cp_bp: i64,
    pub rate_annexes_bp: i64,
    pub exemptions: String,
    pub priority: i64,
    pub active: bool,
    /// Bumped by every change; a write names the version it read (stale → 409).
    pub version: i64,
}

const COLS: &str = "id, patient_id, payer_id, role, member_number, beneficiary, insured_patient_id, insured_name, valid_from, valid_to, \
    rate_sejour_bp, rate_actes_bp, rate_fj_bp, rate_cp_bp, rate_annexes_bp, exemptions, priority, active, version";

/// What a form or the API sends. Blank rates take the payer's default rate valid on `valid_from`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CoverageInput {
    pub payer_id: String,
    /// obligatoire, complementaire, aide.
    pub role: String,
    pub member_number: String,
    /// assure, ayant_droit.
    pub beneficiary: String,
    /// The insured member's file, when known (for a dependant).
    pub insured_patient_id: String,
    pub insured_name: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
    /// JJ/MM/AAAA, blank = open-ended.
    pub valid_to: String,
    /// Rates as « 80 % », « 80 » or « 12,5 % ».
    pub rate_sejour: String,
    pub rate_actes: String,
    pub rate_fj: String,
    pub rate_cp: String,
    pub rate_annexes: String,
    /// Comma-separated: ald, maternite, at_mp, c2s, ame, longue_maladie, carte_a, carte_b, carte_m…
    pub exemptions: String,
    /// 1 = first payer asked; blank = after the others.
    pub priority: String,
}

impl CoverageInput {
    pub fn from_coverage(c: &Coverage) -> CoverageInput {
        let r = |bp: i64| u32::try_from(bp).map(|b| BasisPoints(b).format_fr_plain()).unwrap_or_else(|_| bp.to_string());
        let day = |d: &str| d.parse::<jiff::civil::Date>().map(quittance_domain::fr::format_date_fr).unwrap_or_default();
        CoverageInput {
            payer_id: c.payer_id.to_string(),
            role: c.role.clone(),
            member_number: c.member_number.clone().unwrap_or_default(),
            beneficiary: c.beneficiary.clone(),
            insured_patient_id: c.insured_patient_id.map(|i| i.to_string()).unwrap_or_default(),
            insured_name: c.insured_name.clone().unwrap_or_default(),
            valid_from: day(&c.valid_from),
            valid_to: c.valid_to.as_deref().map(day).unwrap_or_default(),
            rate_sejour: r(c.rate_sejour_bp),
            rate_actes: r(c.rate_actes_bp),
            rate_fj: r(c.rate_fj_bp),
            rate_cp: r(c.rate_cp_bp),
            rate_annexes: r(c.rate_annexes_bp),
            exemptions: c.exemptions.clone(),
            priority: c.priority.to_string(),
        }
    }
}

fn json(c: &Coverage) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("version");
    }
    v
}

/// A coverage with its payer's name, for display.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageLine {
    pub coverage: Coverage,
    pub payer_name: String,
    pub payer_kind: String,
}

/// The patient's coverages (by priority) and the flags on their periods.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageSummary {
    pub lines: Vec<CoverageLine>,
    /// French messages: overlaps, gaps, expiries.
    pub flags: Vec<String>,
}

pub fn spans(list: &[Coverage]) -> Vec<Span> {
    list.iter()
        .filter(|c| c.active)
        .filter_map(|c| {
            Some(Span {
                id: c.id,
                role: c.role.clone(),
                from: c.valid_from.parse().ok()?,
                to: c.valid_to.as_deref().and_then(|d| d.parse().ok()),
            })
        })
        .collect()
}

/// Lists a patient's coverages with overlaps, gaps and expiries (30-day horizon).
/// The view is audited (`view_coverages`).
pub async fn list(db: &Db, actor: &Actor, patient_id: i64, today: jiff::civil::Date) -> Result<CoverageSummary, Error> {
    let file = patients::checked(db, actor, patient_id, "view_coverages").await?;
    let mut tx = db.read().await?;
    let v = list_checked(&mut tx, &file, today).await?;
    tx.rollback().await?;
    patients::audit_view(db, actor, &file, "view_coverages", serde_json::json!({})).await?;
    Ok(v)
}

/// [`list`] for a file already checked and viewed in this request (no second check, no row).
pub async fn list_checked(tx: &mut Tx, file: &patients::Checked, today: jiff::civil::Date) -> Result<CoverageSummary, Error> {
    let list: Vec<Coverage> =
        tx.all(&format!("SELECT {COLS} FROM coverages WHERE patient_id = $1 ORDER BY active DESC, priority, valid_from"), &args![file.id()]).await?;
    // The payers of these coverages in one query (not one per coverage).
    let names: Vec<(i64, String, String)> =
        tx.all("SELECT id, name, kind FROM payers WHERE id IN (SELECT payer_id FROM coverages WHERE patient_id = $1)", &args![file.id()]).await?;
    let mut lines = Vec::new();
    for c in &list {
        let (_, name, kind) = names.iter().find(|p| p.0 == c.payer_id).cloned().ok_or(Error::NotFound("Organisme"))?;
        lines.push(CoverageLine { coverage: c.clone(), payer_name: name, payer_kind: kind });
    }
    let flags = coverage::flags(&spans(&list), today, 30).iter().map(Flag::message_fr).collect();
    Ok(CoverageSummary { lines, flags })
}

/// One coverage of the file (e.g. to re-show an edit form with its current version).
pub async fn get(db: &Db, actor: &Actor, patient_id: i64, coverage_id: i64) -> Result<Coverage, Error> {
    patients::check_read(db, actor, patient_id).await?;
    let mut tx = db.read().await?;
    let c: Option<Coverage> =
        tx.opt(&format!("SELECT {COLS} FROM coverages WHERE id = $1 AND patient_id = $2"), &args![coverage_id, patient_id]).await?;
    tx.rollback().await?;
    c.ok_or(Error::NotFound("Droit"))
}

/// Today in the time zone of the file's establishment: the date the coverage flags
/// (expired, expiring, gaps) are computed on, whoever looks (Nouméa is a day ahead of
/// Paris in the evening). Needs only the right to read the file.
pub async fn today_of_patient(db: &Db, actor: &Actor, patient_id: i64) -> Result<jiff::civil::Date, Error> {
    let p = patients::check_read(db, actor, patient_id).await?;
    let mut tx = db.read().await?;
    let tz: Option<(String,)> = tx.opt("SELECT timezone FROM establishments WHERE id = $1", &args![p.establishment_id]).await?;
    tx.rollback().await?;
    let tz = tz.ok_or(Error::NotFound("Établissement"))?.0;
    Ok(patients::today_in(&tz))
}

/// Adds (`coverage_id = None`) or changes a coverage. A change names the `version` the
/// client read: the row is locked and checked in the write transaction, and a stale
/// version is a [`Error::Conflict`] (nothing written).
pub async fn save(db: &Db, actor: &Actor, patient_id: i64, coverage_id: Option<i64>, version: i64, input: &CoverageInput) -> Result<Coverage, Error> {
    let (patient, sites) = patients::write_access(db, actor, patient_id).await?;
    let mut e = FieldErrors::new();
    let payer_id = input.payer_id.trim().parse::<i64>().ok();
    let role = input.role.trim().to_string();
    if !coverage::is_code(ROLES, &role) {
        e.add("role", "Rang inconnu : obligatoire, complémentaire ou aide.");
    }
    let member_number = e.optional("member_number", &input.member_number, 40);
    let beneficiary = if input.beneficiary.trim().is_empty() { "assure".to_string() } else { input.beneficiary.trim().to_string() };
    if !coverage::is_code(BENEFICIARY, &beneficiary) {
        e.add("beneficiary", "Assuré ou ayant droit.");
    }
    let insured_patient_id = if input.insured_patient_id.trim().is_empty() {
        None
    } else {
        match input.insured_patient_id.trim().parse::<i64>() {
            Ok(i) if i != patient_id => Some(i),
            Ok(_) => {
                e.add("insured_patient_id", "Un ayant droit ne peut pas être son propre assuré.");
                None
            }
            Err(_) => {
                e.add("insured_patient_id", "Numéro de dossier invalide.");
                None
            }
        }
    };
    let insured_name = e.optional("insured_name", &input.insured_name, 200);
    if beneficiary == "ayant_droit" && insured_patient_id.is_none() && insured_name.is_none() {
        e.add("insured_name", "Indiquez l'assuré ouvrant droit (nom ou dossier).");
    }
    let day = |e: &mut FieldErrors, field: &str, v: &str| -> Option<jiff::civil::Date> {
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
    };
    let valid_from = day(&mut e, "valid_from", &input.valid_from);
    if input.valid_from.trim().is_empty() {
        e.add("valid_from", "La date de début des droits est obligatoire.");
    }
    let valid_to = day(&mut e, "valid_to", &input.valid_to);
    if let (Some(f), Some(t)) = (valid_from, valid_to)
        && t < f {
            e.add("valid_to", "La fin des droits précède leur début.");
        }
    let mut exemptions: Vec<String> = input.exemptions.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
    exemptions.sort();
    exemptions.dedup();
    if exemptions.iter().any(|x| !coverage::is_code(EXEMPTIONS, x)) {
        e.add("exemptions", "Exonération inconnue.");
    }
    let priority = if input.priority.trim().is_empty() {
        None
    } else {
        match input.priority.trim().parse::<i64>() {
            Ok(p) if (1..=9).contains(&p) => Some(p),
            _ => {
                e.add("priority", "Priorité de 1 à 9.");
                None
            }
        }
    };
    let mut tx = db.begin().await?;
    // The row this use case changes, locked until commit, checked against the version read.
    let before = match coverage_id {
        None => None,
        Some(cid) => {
            let b: Coverage = tx
                .lock(&format!("SELECT {COLS} FROM coverages WHERE id = $1 AND patient_id = $2"), &args![cid, patient_id])
                .await?
                .ok_or(Error::NotFound("Droit"))?;
            if b.version != version {
                return Err(crate::care::stale("Ce droit"));
            }
            Some(b)
        }
    };
    let payer = match payer_id {
        None => {
            e.add("payer_id", "Choisissez l'organisme.");
            None
        }
        Some(id) => match payers::load(&mut tx, id).await {
            Ok(p) if p.establishment_id == patient.establishment_id => Some(p),
            _ => {
                e.add("payer_id", "Organisme inconnu dans cet établissement.");
                None
            }
        },
    };
    if let Some(p) = &payer
        && coverage::is_code(ROLES, &role) && !coverage::role_allowed(&p.kind, &role) {
            e.add("role", format!("Un organisme « {} » ne peut pas porter ce rang.", coverage::label(quittance_domain::care::coverage::PAYER_KINDS, &p.kind).unwrap_or(&p.kind)));
        }
    if let Some(i) = insured_patient_id {
        let same = tx.int("SELECT COUNT(*) FROM patients WHERE id = $1 AND establishment_id = $2", &args![i, patient.establishment_id]).await?;
        if same == 0 {
            e.add("insured_patient_id", "Dossier de l'assuré introuvable dans l'établissement.");
        }
    }
    // Rates: given, or the payer's default valid at the start of the rights.
    let defaults = match (&payer, valid_from) {
        (Some(p), Some(f)) => payers::rates_on(&mut tx, p.id, f).await?,
        _ => vec![],
    };
    let mut rates = [0i64; 5];
    let given = [&input.rate_sejour, &input.rate_actes, &input.rate_fj, &input.rate_cp, &input.rate_annexes];
    let fields = ["rate_sejour", "rate_actes", "rate_fj", "rate_cp", "rate_annexes"];
    for (k, (cat, _)) in CATEGORIES.iter().enumerate() {
        rates[k] = if given[k].trim().is_empty() {
            defaults.iter().find(|(c, _)| c == cat).map_or(0, |(_, r)| *r)
        } else {
            match BasisPoints::parse_fr(given[k]) {
                Ok(r) => r.0 as i64,
                Err(m) => {
                    e.add(fields[k], m.to_string());
                    0
                }
            }
        };
    }
    if let Err(errs) = e.into_result() {
        tx.rollback().await?;
        return Err(Error::Invalid(errs));
    }
    let priority = match (priority, &before) {
        (Some(p), _) => p,
        (None, Some(b)) => b.priority,
        (None, None) => tx.int("SELECT COALESCE(MAX(priority), 0) + 1 FROM coverages WHERE patient_id = $1 AND active = $2", &args![patient_id, true]).await?.min(9),
    };
    let mut c = Coverage {
        id: coverage_id.unwrap_or(0),
        patient_id,
        payer_id: payer_id.unwrap_or(0),
        role,
        member_number,
        beneficiary,
        insured_patient_id,
        insured_name,
        valid_from: valid_from.map(|d| d.to_string()).unwrap_or_default(),
        valid_to: valid_to.map(|d| d.to_string()),
        rate_sejour_bp: rates[0],
        rate_actes_bp: rates[1],
        rate_fj_bp: rates[2],
        rate_cp_bp: rates[3],
        rate_annexes_bp: rates[4],
        exemptions: exemptions.join(","),
        priority,
        active: before.as_ref().is_none_or(|b| b.active),
        version: before.as_ref().map_or(1, |b| b.version + 1),
    };
    let now = now_text();
    let values = args![
        c.payer_id, c.role.clone(), c.member_number.clone(), c.beneficiary.clone(), c.insured_patient_id, c.insured_name.clone(),
        c.valid_from.clone(), c.valid_to.clone(), c.rate_sejour_bp, c.rate_actes_bp, c.rate_fj_bp, c.rate_cp_bp, c.rate_annexes_bp,
        c.exemptions.clone(), c.priority, now
    ];
    let (action, before) = match &before {
        None => {
            let mut v = values;
            v.push(crate::V::I(patient_id));
            c.id = tx
                .int(
                    "INSERT INTO coverages (payer_id, role, member_number, beneficiary, insured_patient_id, insured_name, valid_from, valid_to, \
                     rate_sejour_bp, rate_actes_bp, rate_fj_bp, rate_cp_bp, rate_annexes_bp, exemptions, priority, created_at, updated_at, patient_id, active, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, TRUE, 1) RETURNING id",
                    &v,
                )
                .await?;
            ("add_coverage", serde_json::json!({}))
        }
        Some(b) => {
            let mut v = values;
            v.push(crate::V::I(b.id));
            v.push(crate::V::I(version));
            tx.exec_one(
                "UPDATE coverages SET payer_id = $1, role = $2, member_number = $3, beneficiary = $4, insured_patient_id = $5, insured_name = $6, \
                 valid_from = $7, valid_to = $8, rate_sejour_bp = $9, rate_actes_bp = $10, rate_fj_bp = $11, rate_cp_bp = $12, rate_annexes_bp = $13, \
                 exemptions = $14, priority = $15, updated_at = $16, version = version + 1 WHERE id = $17 AND version = $18",
                &v,
                &crate::care::stale("Ce droit").to_string(),
            )
            .await?;
            ("update_coverage", json(b))
        }
    };
    tx.audit(
        actor,
        AuditEvent::new("patient", action).id(patient_id).at(Some(patient.establishment_id), sites.first().copied()).changes(diff(&before, &json(&c))),
    );
    tx.commit().await?;
    Ok(c)
}
