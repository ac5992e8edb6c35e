//! Stays (séjours), as far as coverage and readiness need them: site, admission,
//! planned or actual discharge and mode, mode of care.

use quittance_domain::access::{Permission, Scope};
use quittance_domain::care::input::local_text;
use quittance_domain::care::stay::{CareMode, DischargeMode};
use quittance_domain::validation::FieldErrors;
use serde::Serialize;

pub use quittance_domain::care::input::{ParsedStay, StayInput, parse_stay};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::care::decode;
use crate::patients;

/// A stay as stored: care and discharge modes decoded as their enums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stay {
    pub id: i64,
    pub patient_id: i64,
    pub establishment_id: i64,
    pub site_id: i64,
    /// Local date and time `YYYY-MM-DDTHH:MM` in the establishment's zone.
    pub admission_at: String,
    pub planned_discharge_date: Option<String>,
    pub discharge_at: Option<String>,
    pub discharge_mode: Option<DischargeMode>,
    pub care_mode: CareMode,
    pub version: i64,
}

/// The columns as the database holds them.
#[derive(sqlx::FromRow)]
struct StayRow {
    id: i64,
    patient_id: i64,
    establishment_id: i64,
    site_id: i64,
    admission_at: String,
    planned_discharge_date: Option<String>,
    discharge_at: Option<String>,
    /// Decoded by [`Stay`]'s `FromRow` (sqlx's `try_from` attribute needs its `macros` feature).
    discharge_mode: Option<String>,
    care_mode: String,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Stay
where
    StayRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = StayRow::from_row(row)?;
        Ok(Stay {
            id: r.id,
            patient_id: r.patient_id,
            establishment_id: r.establishment_id,
            site_id: r.site_id,
            admission_at: r.admission_at,
            planned_discharge_date: r.planned_discharge_date,
            discharge_at: r.discharge_at,
            discharge_mode: r.discharge_mode.map(decode).transpose()?,
            care_mode: decode(r.care_mode)?,
            version: r.version,
        })
    }
}

pub(crate) const COLS: &str = "id, patient_id, establishment_id, site_id, admission_at, planned_discharge_date, discharge_at, discharge_mode, care_mode, version";

/// The form of a stay as stored (to edit it).
pub fn as_input(s: &Stay) -> StayInput {
    let fr = |d: &str| d.parse::<jiff::civil::Date>().map(quittance_domain::fr::format_date_fr).unwrap_or_default();
    let split = |t: &str| -> (String, String) {
        let (d, h) = t.split_once('T').unwrap_or((t, ""));
        (fr(d), h.to_string())
    };
    let (ad, at) = split(&s.admission_at);
    let (dd, dt) = s.discharge_at.as_deref().map(split).unwrap_or_default();
    StayInput {
        site_id: s.site_id.to_string(),
        admission_date: ad,
        admission_time: at,
        planned_discharge_date: s.planned_discharge_date.as_deref().map(fr).unwrap_or_default(),
        discharge_date: dd,
        discharge_time: dt,
        discharge_mode: s.discharge_mode.map(|m| m.code().to_string()).unwrap_or_default(),
        care_mode: s.care_mode.code().to_string(),
    }
}

fn json(s: &Stay) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("version");
    }
    v
}

/// The stays of a file, newest first. The view is audited (`view_stays`).
pub async fn list(db: &Db, actor: &Actor, patient_id: i64) -> Result<Vec<Stay>, Error> {
    let file = patients::checked(db, actor, patient_id, "view_stays").await?;
    let mut tx = db.read().await?;
    let v = list_checked(&mut tx, &file).await?;
    tx.rollback().await?;
    patients::audit_view(db, actor, &file, "view_stays", serde_json::json!({})).await?;
    Ok(v)
}

/// [`list`] for a file already checked and viewed in this request (no second check, no row).
pub async fn list_checked(tx: &mut Tx, file: &patients::Checked) -> Result<Vec<Stay>, Error> {
    tx.all(&format!("SELECT {COLS} FROM stays WHERE patient_id = $1 ORDER BY admission_at DESC"), &args![file.id()]).await
}

/// One stay. The view is audited (`view_stay`).
pub async fn get(db: &Db, actor: &Actor, stay_id: i64) -> Result<Stay, Error> {
    let mut tx = db.read().await?;
    let s: Option<Stay> = tx.opt(&format!("SELECT {COLS} FROM stays WHERE id = $1"), &args![stay_id]).await?;
    tx.rollback().await?;
    let s = s.ok_or(Error::NotFound("Séjour"))?;
    let file = patients::checked(db, actor, s.patient_id, "view_stay").await?;
    patients::audit_view(db, actor, &file, "view_stay", serde_json::json!({ "sejour": stay_id })).await?;
    Ok(s)
}

/// What the database and the agent's grants say of a stay's site: one of the establishment's,
/// where the agent may write.
async fn site_errors(tx: &mut crate::db::Tx, actor: &Actor, est: i64, site_id: i64, e: &mut FieldErrors) -> Result<(), Error> {
    if !actor.allows(Permission::WritePatients, Scope::Site { establishment_id: est, site_id }) {
        e.add("site_id", "Vous ne pouvez pas ouvrir de séjour sur ce site.");
    }
    if tx.int("SELECT COUNT(*) FROM sites WHERE id = $1 AND establishment_id = $2", &args![site_id, est]).await? == 0 {
        e.add("site_id", "Ce site n'appartient pas à l'établissement.");
    }
    Ok(())
}

/// Parses a stay of the patient (with [`parse_stay`]). When the input does not parse, the
/// site is checked too (the establishment's, writable by the agent), so that every error comes
/// back at once; [`save`] checks it again inside its transaction.
pub async fn parse(db: &Db, actor: &Actor, patient_id: i64, raw: &StayInput) -> Result<ParsedStay, Error> {
    match parse_stay(raw) {
        Ok(s) => Ok(s),
        Err(mut e) => {
            if let Ok(site_id) = raw.site_id.trim().parse::<i64>() {
                let mut tx = db.read().await?;
                let est: Option<(i64,)> = tx.opt("SELECT establishment_id FROM patients WHERE id = $1", &args![patient_id]).await?;
                let mut facts = FieldErrors::new();
                if let Some((est,)) = est {
                    site_errors(&mut tx, actor, est, site_id, &mut facts).await?;
                }
                tx.rollback().await?;
                if e.get("site_id").is_none() {
                    e.0.extend(facts.0);
                }
            }
            Err(Error::Invalid(e))
        }
    }
}

/// Opens (`stay_id = None`) or changes a stay of the patient (parsed with [`parse`]).
/// The site must be one of the establishment's where the agent may write (checked in the
/// transaction, with the stay locked and its version checked).
pub async fn save(db: &Db, actor: &Actor, patient_id: i64, stay_id: Option<i64>, version: i64, input: &ParsedStay) -> Result<Stay, Error> {
    Ok(save_noting(db, actor, patient_id, stay_id, version, input).await?.0)
}

/// [`save`], with the sentences on what the discharge did to the stay's TV and telephone
/// subscriptions (closed on the discharge day, or left open and why), for the page to show.
pub async fn save_noting(db: &Db, actor: &Actor, patient_id: i64, stay_id: Option<i64>, version: i64, input: &ParsedStay) -> Result<(Stay, Vec<String>), Error> {
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let s = save_in(&mut tx, actor, (patient_id, patient.establishment_id), stay_id, Some(version), input, None).await?;
    let notes = on_discharge(&mut tx, actor, &s).await?;
    tx.commit().await?;
    Ok((s, notes))
}

/// Opens a stay sent by another system under its `external_id`: a second call with the same id
/// writes nothing and answers the stay already opened (`false`), so a retried request or a
/// re-sent feed never opens a stay twice. The id belongs to one patient (an error on
/// `external_id` otherwise).
pub async fn open_external(db: &Db, actor: &Actor, patient_id: i64, external_id: &str, input: &ParsedStay) -> Result<(Stay, bool), Error> {
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let external_id = external_id.trim();
    if external_id.chars().count() > 80 {
        return Err(Error::Invalid(FieldErrors::single("external_id", "80 caractères au plus.")));
    }
    let mut tx = db.begin().await?;
    let before: Option<Stay> = tx.opt(&format!("SELECT {COLS} FROM stays WHERE establishment_id = $1 AND external_id = $2"), &args![patient.establishment_id, external_id.to_string()]).await?;
    if let Some(b) = before {
        tx.rollback().await?;
        if b.patient_id != patient_id {
            return Err(Error::Invalid(FieldErrors::single("external_id", "Cet identifiant externe est celui du séjour d'un autre patient.")));
        }
        return Ok((b, false));
    }
    let s = save_in(&mut tx, actor, (patient_id, patient.establishment_id), None, None, input, Some(external_id)).await?;
    on_discharge(&mut tx, actor, &s).await?;
    tx.commit().await?;
    Ok((s, true))
}

/// A discharged stay closes its open subscriptions on the discharge day, in the discharge's
/// transaction (`activity::services::close_open_for_stay`).
pub(crate) async fn on_discharge(tx: &mut Tx, actor: &Actor, s: &Stay) -> Result<Vec<String>, Error> {
    match s.discharge_at.as_deref().and_then(|d| d.split('T').next()).and_then(|d| d.parse::<jiff::civil::Date>().ok()) {
        Some(day) => crate::activity::services::close_open_for_stay(tx, actor, s.id, day).await,
        None => Ok(Vec::new()),
    }
}

/// [`save`] in the caller's transaction, for a file whose write access was checked:
/// `version` `None` takes the stay's current one (a feed that is the authority on its stays);
/// `external_id` is the sending system's id of a new stay.
pub(crate) async fn save_in(
    tx: &mut Tx,
    actor: &Actor,
    (patient_id, est): (i64, i64),
    stay_id: Option<i64>,
    version: Option<i64>,
    input: &ParsedStay,
    external_id: Option<&str>,
) -> Result<Stay, Error> {
    let mut e = FieldErrors::new();
    // The row this use case changes, locked until commit, checked against the version read.
    let before = match stay_id {
        None => None,
        Some(sid) => {
            let b: Stay = tx
                .lock(&format!("SELECT {COLS} FROM stays WHERE id = $1 AND patient_id = $2"), &args![sid, patient_id])
                .await?
                .ok_or(Error::NotFound("Séjour"))?;
            if version.is_some_and(|v| b.version != v) {
                return Err(crate::care::stale("Ce séjour"));
            }
            Some(b)
        }
    };
    let version = before.as_ref().map_or(0, |b| b.version);
    site_errors(tx, actor, est, input.site_id, &mut e).await?;
    if let Err(errs) = e.into_result() {
        return Err(Error::Invalid(errs));
    }
    let mut s = Stay {
        id: stay_id.unwrap_or(0),
        patient_id,
        establishment_id: est,
        site_id: input.site_id,
        admission_at: local_text(input.admission_at),
        planned_discharge_date: input.planned_discharge_date.map(|d| d.to_string()),
        discharge_at: input.discharge.map(|d| local_text(d.at)),
        discharge_mode: input.discharge.map(|d| d.mode),
        care_mode: input.care_mode,
        version: before.as_ref().map_or(1, |b| b.version + 1),
    };
    let now = now_text();
    let (action, before) = match &before {
        None => {
            s.id = tx
                .int(
                    "INSERT INTO stays (patient_id, establishment_id, site_id, admission_at, planned_discharge_date, discharge_at, discharge_mode, care_mode, created_at, updated_at, version, external_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1, $10) RETURNING id",
                    &args![patient_id, est, s.site_id, s.admission_at.clone(), s.planned_discharge_date.clone(), s.discharge_at.clone(), s.discharge_mode.map(|m| m.code()), s.care_mode.code(), now, external_id.map(str::to_string)],
                )
                .await?;
            // The file is now attached to the stay's site too.
            if tx.int("SELECT COUNT(*) FROM patient_sites WHERE patient_id = $1 AND site_id = $2", &args![patient_id, s.site_id]).await? == 0 {
                tx.exec("INSERT INTO patient_sites (patient_id, site_id) VALUES ($1, $2)", &args![patient_id, s.site_id]).await?;
            }
            ("add_stay", serde_json::json!({}))
        }
        Some(b) => {
            tx.exec_one(
                "UPDATE stays SET site_id = $1, admission_at = $2, planned_discharge_date = $3, discharge_at = $4, discharge_mode = $5, care_mode = $6, \
                 updated_at = $7, version = version + 1 WHERE id = $8 AND version = $9",
                &args![s.site_id, s.admission_at.clone(), s.planned_discharge_date.clone(), s.discharge_at.clone(), s.discharge_mode.map(|m| m.code()), s.care_mode.code(), now, b.id, version],
                &crate::care::stale("Ce séjour").to_string(),
            )
            .await?;
            ("update_stay", json(b))
        }
    };
    tx.audit(actor, AuditEvent::new("patient", action).id(patient_id).at(Some(est), Some(s.site_id)).changes(diff(&before, &json(&s))));
    Ok(s)
}
