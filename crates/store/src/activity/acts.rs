//! CMS acts: record (idempotent by external id), cancel with a reason, list a patient's.

use jiff::civil::Date;
use quittance_domain::activity::Act;
use quittance_domain::billing::tariffs::{Coefficient, TariffCategory, TariffLine, find};
use quittance_domain::fr::format_date_fr;
use quittance_domain::validation::FieldErrors;

use super::{ParsedAct, external_taken, site_errors};
use crate::actor::Actor;
use crate::args;
use crate::audit::AuditEvent;
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;
use crate::shared::rows::decode_date;

/// An act as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAct {
    pub id: i64,
    pub establishment_id: i64,
    pub site_id: i64,
    pub patient_id: i64,
    pub date: Date,
    pub practitioner: String,
    pub code: String,
    pub quantity: u32,
    /// `None`: the tariff's coefficient (else 1).
    pub coefficient: Option<Coefficient>,
    pub external_id: Option<String>,
    /// Stored timestamp of the cancellation, and its reason.
    pub cancelled_at: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: String,
    pub version: i64,
}

impl StoredAct {
    /// The act as valuation reads it.
    pub fn act(&self) -> Act {
        Act {
            id: self.id,
            date: self.date,
            site_id: self.site_id,
            code: self.code.clone(),
            quantity: self.quantity,
            coefficient: self.coefficient,
            cancelled: self.cancel_reason.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ActRow {
    id: i64,
    establishment_id: i64,
    site_id: i64,
    patient_id: i64,
    act_date: String,
    practitioner: String,
    code: String,
    quantity: i64,
    coefficient_centi: Option<i64>,
    external_id: Option<String>,
    cancelled_at: Option<String>,
    cancel_reason: Option<String>,
    created_at: String,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for StoredAct
where
    ActRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = ActRow::from_row(row)?;
        let bad = |what: &str, v: i64| sqlx::Error::Decode(format!("{what} hors limites : {v}").into());
        Ok(StoredAct {
            id: r.id,
            establishment_id: r.establishment_id,
            site_id: r.site_id,
            patient_id: r.patient_id,
            date: decode_date(&r.act_date)?,
            practitioner: r.practitioner,
            code: r.code,
            quantity: u32::try_from(r.quantity).map_err(|_| bad("quantité", r.quantity))?,
            coefficient: r.coefficient_centi.map(|c| u32::try_from(c).map(Coefficient).map_err(|_| bad("coefficient", c))).transpose()?,
            external_id: r.external_id,
            cancelled_at: r.cancelled_at,
            cancel_reason: r.cancel_reason,
            created_at: r.created_at,
            version: r.version,
        })
    }
}

pub(crate) const COLS: &str = "id, establishment_id, site_id, patient_id, act_date, practitioner, code, quantity, coefficient_centi, external_id, \
    cancelled_at, cancel_reason, created_at, version";

fn audit_text(a: &ParsedAct) -> serde_json::Value {
    serde_json::json!({
        "acte": [null, format!("{} le {}", a.code, format_date_fr(a.date))],
        "site": [null, a.site_id],
        "professionnel": [null, a.practitioner],
        "quantite": [null, a.quantity],
        "coefficient": [null, a.coefficient.map(|c| c.format_fr())],
        "identifiant_externe": [null, a.external_id],
    })
}

/// The field error of an act code that no `acte_cms` tariff prices on its day at its site.
pub(crate) fn code_error(lines: &[TariffLine], a: &ParsedAct, e: &mut FieldErrors) {
    match find(lines, &a.code, Some(a.site_id), "", a.date) {
        None => e.add("code", format!("Aucun tarif « {} » en vigueur le {} pour ce site.", a.code, format_date_fr(a.date))),
        Some(l) if l.category != TariffCategory::ActeCms => e.add("code", format!("Le code « {} » n'est pas un acte : c'est un tarif « {} ».", a.code, l.category.label())),
        Some(_) => {}
    }
}

/// Records an act of the patient. An act whose external id the establishment already has is
/// the same act: nothing is written and it is returned with `false` (a re-import is
/// idempotent); one of another patient is a field error.
pub async fn record(db: &Db, actor: &Actor, patient_id: i64, input: &ParsedAct) -> Result<(StoredAct, bool), Error> {
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let lines: Vec<TariffLine> = crate::billing::tariffs::all_in(&mut tx, patient.establishment_id).await?.into_iter().map(|t| t.line).collect();
    let (id, created) = record_in(&mut tx, actor, (patient.id, patient.establishment_id), &lines, input).await?;
    let a: StoredAct = tx.one(&format!("SELECT {COLS} FROM cms_acts WHERE id = $1"), &args![id]).await?;
    tx.commit().await?;
    Ok((a, created))
}

/// [`record`] in the caller's transaction (the import) for the file `(patient id, establishment
/// id)`, whose write access the caller checked, with the establishment's tariff lines it read.
pub(crate) async fn record_in(tx: &mut Tx, actor: &Actor, (patient_id, est): (i64, i64), lines: &[TariffLine], input: &ParsedAct) -> Result<(i64, bool), Error> {
    if let Some(x) = &input.external_id {
        let same: Option<(i64, i64)> = tx.opt("SELECT id, patient_id FROM cms_acts WHERE establishment_id = $1 AND external_id = $2", &args![est, x.clone()]).await?;
        match same {
            Some((id, p)) if p == patient_id => return Ok((id, false)),
            Some(_) => return Err(Error::invalid("external_id", "Cet identifiant externe est celui d'un acte d'un autre patient.")),
            None => {}
        }
    }
    let mut e = FieldErrors::new();
    site_errors(tx, actor, est, input.site_id, &mut e).await?;
    code_error(lines, input, &mut e);
    e.into_result()?;
    let id = tx
        .int(
            "INSERT INTO cms_acts (establishment_id, site_id, patient_id, act_date, practitioner, code, quantity, coefficient_centi, external_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &args![
                est,
                input.site_id,
                patient_id,
                input.date.to_string(),
                input.practitioner.clone(),
                input.code.clone(),
                i64::from(input.quantity),
                input.coefficient.map(|c| i64::from(c.0)),
                input.external_id.clone(),
                now_text()
            ],
        )
        .await
        .map_err(|e| external_taken(e, "acte"))?;
    let mut changes = audit_text(input);
    changes["acte_id"] = serde_json::json!([null, id]);
    tx.audit(actor, AuditEvent::new("patient", "add_act").id(patient_id).at(Some(est), Some(input.site_id)).changes(changes));
    Ok((id, true))
}

/// Cancels an act (it stays, never valued again) with its reason; `version` is the one read.
pub async fn cancel(db: &Db, actor: &Actor, patient_id: i64, act_id: i64, version: i64, reason: &str) -> Result<StoredAct, Error> {
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let reason = super::parse_reason(reason)?;
    let mut tx = db.begin().await?;
    let a: StoredAct =
        tx.lock(&format!("SELECT {COLS} FROM cms_acts WHERE id = $1 AND patient_id = $2"), &args![act_id, patient_id]).await?.ok_or(Error::NotFound("Acte"))?;
    if a.version != version {
        return Err(Error::stale("Cet acte"));
    }
    if a.cancelled_at.is_some() {
        return Err(Error::invalid("reason", "Cet acte est déjà annulé."));
    }
    tx.exec_one(
        "UPDATE cms_acts SET cancelled_at = $1, cancel_reason = $2, version = version + 1 WHERE id = $3 AND version = $4 AND cancelled_at IS NULL",
        &args![now_text(), reason.clone(), act_id, version],
        &Error::stale("Cet acte").to_string(),
    )
    .await?;
    tx.audit(
        actor,
        AuditEvent::new("patient", "cancel_act")
            .id(patient_id)
            .at(Some(patient.establishment_id), Some(a.site_id))
            .changes(serde_json::json!({ "acte_id": [null, act_id], "acte": [format!("{} le {}", a.code, format_date_fr(a.date)), null], "motif": [null, reason] })),
    );
    let a: StoredAct = tx.one(&format!("SELECT {COLS} FROM cms_acts WHERE id = $1"), &args![act_id]).await?;
    tx.commit().await?;
    Ok(a)
}

/// The patient's acts, newest first (cancelled ones too). The view is audited (`view_acts`).
pub async fn list(db: &Db, actor: &Actor, patient_id: i64) -> Result<Vec<StoredAct>, Error> {
    let file = patients::checked(db, actor, patient_id, "view_acts").await?;
    let mut tx = db.read().await?;
    let v = list_checked(&mut tx, &file).await?;
    tx.rollback().await?;
    patients::audit_view(db, actor, &file, "view_acts", serde_json::json!({})).await?;
    Ok(v)
}

/// [`list`] for a file already checked and viewed in this request (no second check, no row).
pub async fn list_checked(tx: &mut Tx, file: &patients::Checked) -> Result<Vec<StoredAct>, Error> {
    tx.all(&format!("SELECT {COLS} FROM cms_acts WHERE patient_id = $1 ORDER BY act_date DESC, id DESC"), &args![file.id()]).await
}
