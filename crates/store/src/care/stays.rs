//! Stays (séjours), as far as coverage and readiness need them: site, admission,
//! planned or actual discharge and mode, mode of care.

use quittance_domain::access::{Permission, Scope};
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;

pub const CARE_MODES: &[(&str, &str)] = &[
    ("hospitalisation_complete", "Hospitalisation complète"),
    ("hospitalisation_jour", "Hospitalisation de jour"),
    ("ambulatoire", "Chirurgie ambulatoire"),
    ("urgence", "Urgence"),
    ("consultation", "Consultation externe"),
    ("had", "Hospitalisation à domicile"),
];

pub const DISCHARGE_MODES: &[(&str, &str)] = &[
    ("domicile", "Retour à domicile"),
    ("transfert", "Transfert vers un autre établissement"),
    ("mutation", "Mutation dans l'établissement"),
    ("deces", "Décès"),
    ("contre_avis", "Sortie contre avis médical"),
];

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub struct Stay {
    pub id: i64,
    pub patient_id: i64,
    pub establishment_id: i64,
    pub site_id: i64,
    /// Local date and time `YYYY-MM-DDTHH:MM` in the establishment's zone.
    pub admission_at: String,
    pub planned_discharge_date: Option<String>,
    pub discharge_at: Option<String>,
    pub discharge_mode: Option<String>,
    pub care_mode: String,
    pub version: i64,
}

const COLS: &str = "id, patient_id, establishment_id, site_id, admission_at, planned_discharge_date, discharge_at, discharge_mode, care_mode, version";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StayInput {
    pub site_id: String,
    /// JJ/MM/AAAA
    pub admission_date: String,
    /// HH:MM
    pub admission_time: String,
    pub planned_discharge_date: String,
    pub discharge_date: String,
    pub discharge_time: String,
    pub discharge_mode: String,
    pub care_mode: String,
}

fn time(e: &mut FieldErrors, field: &str, v: &str) -> Option<(i8, i8)> {
    let v = v.trim();
    if v.is_empty() {
        return Some((0, 0));
    }
    let parsed = v.split_once(':').or_else(|| v.split_once('h')).and_then(|(h, m)| {
        let h: i8 = h.trim().parse().ok()?;
        let m: i8 = if m.trim().is_empty() { 0 } else { m.trim().parse().ok()? };
        ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
    });
    if parsed.is_none() {
        e.add(field, "Heure invalide : format attendu HH:MM.");
    }
    parsed
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

impl StayInput {
    pub fn from_stay(s: &Stay) -> StayInput {
        let split = |t: &str| -> (String, String) {
            let (d, h) = t.split_once('T').unwrap_or((t, ""));
            (d.parse::<jiff::civil::Date>().map(quittance_domain::fr::format_date_fr).unwrap_or_default(), h.to_string())
        };
        let (ad, at) = split(&s.admission_at);
        let (dd, dt) = s.discharge_at.as_deref().map(split).unwrap_or_default();
        StayInput {
            site_id: s.site_id.to_string(),
            admission_date: ad,
            admission_time: at,
            planned_discharge_date: s.planned_discharge_date.as_deref().and_then(|d| d.parse::<jiff::civil::Date>().ok()).map(quittance_domain::fr::format_date_fr).unwrap_or_default(),
            discharge_date: dd,
            discharge_time: dt,
            discharge_mode: s.discharge_mode.clone().unwrap_or_default(),
            care_mode: s.care_mode.clone(),
        }
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

/// Opens (`stay_id = None`) or changes a stay of the patient.
pub async fn save(db: &Db, actor: &Actor, patient_id: i64, stay_id: Option<i64>, version: i64, input: &StayInput) -> Result<Stay, Error> {
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let est = patient.establishment_id;
    let mut e = FieldErrors::new();
    let site_id = input.site_id.trim().parse::<i64>().ok();
    if site_id.is_none() {
        e.add("site_id", "Choisissez le service ou le site.");
    }
    if let Some(s) = site_id
        && !actor.allows(Permission::WritePatients, Scope::Site { establishment_id: est, site_id: s }) {
            e.add("site_id", "Vous ne pouvez pas ouvrir de séjour sur ce site.");
        }
    let care_mode = input.care_mode.trim().to_string();
    if !CARE_MODES.iter().any(|(c, _)| *c == care_mode) {
        e.add("care_mode", "Mode de prise en charge inconnu.");
    }
    if input.admission_date.trim().is_empty() {
        e.add("admission_date", "La date d'admission est obligatoire.");
    }
    let adm_day = day(&mut e, "admission_date", &input.admission_date);
    let adm_time = time(&mut e, "admission_time", &input.admission_time);
    let planned = day(&mut e, "planned_discharge_date", &input.planned_discharge_date);
    let dis_day = day(&mut e, "discharge_date", &input.discharge_date);
    let dis_time = time(&mut e, "discharge_time", &input.discharge_time);
    let discharge_mode = input.discharge_mode.trim().to_string();
    let discharge_mode = if discharge_mode.is_empty() { None } else { Some(discharge_mode) };
    if let Some(m) = &discharge_mode
        && !DISCHARGE_MODES.iter().any(|(c, _)| c == m) {
            e.add("discharge_mode", "Mode de sortie inconnu.");
        }
    if dis_day.is_some() && discharge_mode.is_none() {
        e.add("discharge_mode", "Indiquez le mode de sortie.");
    }
    if dis_day.is_none() && discharge_mode.is_some() {
        e.add("discharge_date", "Indiquez la date de sortie.");
    }
    let fmt = |d: jiff::civil::Date, t: (i8, i8)| format!("{d}T{:02}:{:02}", t.0, t.1);
    let admission_at = adm_day.zip(adm_time).map(|(d, t)| fmt(d, t));
    let discharge_at = dis_day.zip(dis_time).map(|(d, t)| fmt(d, t));
    if let (Some(a), Some(d)) = (&admission_at, &discharge_at)
        && d < a {
            e.add("discharge_date", "La sortie précède l'admission.");
        }
    if let (Some(a), Some(p)) = (adm_day, planned)
        && p < a {
            e.add("planned_discharge_date", "La sortie prévue précède l'admission.");
        }
    let mut tx = db.begin().await?;
    // The row this use case changes, locked until commit, checked against the version read.
    let before = match stay_id {
        None => None,
        Some(sid) => {
            let b: Stay = tx
                .lock(&format!("SELECT {COLS} FROM stays WHERE id = $1 AND patient_id = $2"), &args![sid, patient_id])
                .await?
                .ok_or(Error::NotFound("Séjour"))?;
            if b.version != version {
                return Err(crate::care::stale("Ce séjour"));
            }
            Some(b)
        }
    };
    if let Some(s) = site_id
        && tx.int("SELECT COUNT(*) FROM sites WHERE id = $1 AND establishment_id = $2", &args![s, est]).await? == 0 {
            e.add("site_id", "Ce site n'appartient pas à l'établissement.");
        }
    let (site_id, admission_at) = match (e.into_result(), site_id, admission_at) {
        (Ok(()), Some(site), Some(at)) => (site, at),
        (Err(errs), _, _) => {
            tx.rollback().await?;
            return Err(Error::Invalid(errs));
        }
        // Unreachable: a missing site or admission is a field error above.
        _ => return Err(Error::invalid("admission_date", "La date d'admission est obligatoire.")),
    };
    let mut s = Stay {
        id: stay_id.unwrap_or(0),
        patient_id,
        establishment_id: est,
        site_id,
        admission_at,
        planned_discharge_date: planned.map(|d| d.to_string()),
        discharge_at,
        discharge_mode,
        care_mode,
        version: before.as_ref().map_or(1, |b| b.version + 1),
    };
    let now = now_text();
    let (action, before) = match &before {
        None => {
            s.id = tx
                .int(
                    "INSERT INTO stays (patient_id, establishment_id, site_id, admission_at, planned_discharge_date, discharge_at, discharge_mode, care_mode, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1) RETURNING id",
                    &args![patient_id, est, s.site_id, s.admission_at.clone(), s.planned_discharge_date.clone(), s.discharge_at.clone(), s.discharge_mode.clone(), s.care_mode.clone(), now],
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
                &args![s.site_id, s.admission_at.clone(), s.planned_discharge_date.clone(), s.discharge_at.clone(), s.discharge_mode.clone(), s.care_mode.clone(), now, b.id, version],
                &crate::care::stale("Ce séjour").to_string(),
            )
            .await?;
            ("update_stay", json(b))
        }
    };
    tx.audit(actor, AuditEvent::new("patient", action).id(patient_id).at(Some(est), Some(s.site_id)).changes(diff(&before, &json(&s))));
    tx.commit().await?;
    Ok(s)
}
