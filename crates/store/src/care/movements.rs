//! What happens during a stay: movements and periods (transfers, leave, room and intensive-care
//! periods) and the costly acts that bring the participation forfaitaire. Both are versioned
//! through their stay: adding or cancelling one takes the stay's version and bumps it, so two
//! agents working from the same stay page cannot both write unseen. Nothing is deleted: a
//! mistaken row is cancelled with a reason (the triggers of migration 14 refuse anything else).

use jiff::civil::DateTime;
use quittance_domain::billing::tariffs::Coefficient;
use quittance_domain::care::input::local_text;
use quittance_domain::care::movement::{Movement, MovementKind, ParsedMovement, ParsedStayAct, StayAct, within_stay};
use quittance_domain::money::{Currency, Money};
use quittance_domain::validation::FieldErrors;
use serde::Serialize;

pub use quittance_domain::care::movement::{MovementInput, StayActInput, parse_movement, parse_stay_act};

use super::stays::{COLS, Stay};
use crate::actor::Actor;
use crate::args;
use crate::audit::AuditEvent;
use crate::care::decode;
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;

/// A movement as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMovement {
    pub stay_id: i64,
    pub movement: Movement,
    pub external_id: Option<String>,
    /// When and why it was cancelled (a cancelled movement is kept, and no longer counts).
    pub cancelled: Option<(String, String)>,
}

#[derive(sqlx::FromRow)]
struct MovementRow {
    id: i64,
    stay_id: i64,
    kind: String,
    start_at: String,
    end_at: Option<String>,
    service: String,
    unit: String,
    written_request: bool,
    external_id: Option<String>,
    cancelled_at: Option<String>,
    cancel_reason: Option<String>,
}

fn local(s: &str) -> Result<DateTime, sqlx::Error> {
    s.parse::<DateTime>().map_err(|e| sqlx::Error::Decode(format!("date et heure illisibles « {s} » : {e}").into()))
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for StoredMovement
where
    MovementRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = MovementRow::from_row(row)?;
        let kind: MovementKind = decode(r.kind)?;
        Ok(StoredMovement {
            stay_id: r.stay_id,
            movement: Movement {
                id: r.id,
                kind,
                start: local(&r.start_at)?,
                end: r.end_at.as_deref().map(local).transpose()?,
                service: r.service,
                unit: r.unit,
                written_request: r.written_request,
            },
            external_id: r.external_id,
            cancelled: r.cancelled_at.zip(r.cancel_reason),
        })
    }
}

const MCOLS: &str = "id, stay_id, kind, start_at, end_at, service, unit, written_request, external_id, cancelled_at, cancel_reason";

/// A costly act as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAct {
    pub stay_id: i64,
    pub act: StayAct,
    pub external_id: Option<String>,
    pub cancelled: Option<(String, String)>,
}

#[derive(sqlx::FromRow)]
struct ActRow {
    id: i64,
    stay_id: i64,
    performed_on: String,
    code: String,
    label: String,
    amount_minor: i64,
    coefficient_centi: Option<i64>,
    external_id: Option<String>,
    cancelled_at: Option<String>,
    cancel_reason: Option<String>,
    currency: String,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for StoredAct
where
    ActRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = ActRow::from_row(row)?;
        let currency: Currency = decode(r.currency)?;
        let coefficient = match r.coefficient_centi {
            None => None,
            Some(c) => Some(Coefficient(u32::try_from(c).map_err(|_| sqlx::Error::Decode(format!("coefficient hors limites : {c}").into()))?)),
        };
        Ok(StoredAct {
            stay_id: r.stay_id,
            act: StayAct {
                id: r.id,
                performed_on: crate::shared::rows::decode_date(&r.performed_on)?,
                code: r.code,
                label: r.label,
                amount: Money::new(r.amount_minor, currency),
                coefficient,
            },
            external_id: r.external_id,
            cancelled: r.cancelled_at.zip(r.cancel_reason),
        })
    }
}

const ACOLS: &str = "a.id, a.stay_id, a.performed_on, a.code, a.label, a.amount_minor, a.coefficient_centi, a.external_id, a.cancelled_at, a.cancel_reason, e.currency";

/// The movements of some stays (cancelled ones included), in date order.
pub async fn movements_in(tx: &mut Tx, stay_ids: &[i64]) -> Result<Vec<StoredMovement>, Error> {
    let mut out = Vec::new();
    for chunk in stay_ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let a: Vec<crate::db::V> = chunk.iter().map(|id| crate::db::V::from(*id)).collect();
        out.extend(tx.all::<StoredMovement>(&format!("SELECT {MCOLS} FROM stay_movements WHERE stay_id IN ({}) ORDER BY stay_id, start_at, id", marks.join(", ")), &a).await?);
    }
    Ok(out)
}

/// The costly acts of some stays (cancelled ones included), in date order.
pub async fn acts_in(tx: &mut Tx, stay_ids: &[i64]) -> Result<Vec<StoredAct>, Error> {
    let mut out = Vec::new();
    for chunk in stay_ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let a: Vec<crate::db::V> = chunk.iter().map(|id| crate::db::V::from(*id)).collect();
        out.extend(
            tx.all::<StoredAct>(
                &format!(
                    "SELECT {ACOLS} FROM stay_acts a JOIN stays s ON s.id = a.stay_id JOIN establishments e ON e.id = s.establishment_id \
                     WHERE a.stay_id IN ({}) ORDER BY a.stay_id, a.performed_on, a.id",
                    marks.join(", ")
                ),
                &a,
            )
            .await?,
        );
    }
    Ok(out)
}

/// What the stay page shows: the stay, its movements and its costly acts. Audited (`view_stay`).
#[derive(Debug, Clone)]
pub struct StayActivity {
    pub stay: Stay,
    pub patient: patients::Patient,
    pub currency: Currency,
    pub movements: Vec<StoredMovement>,
    pub acts: Vec<StoredAct>,
}

pub async fn activity(db: &Db, actor: &Actor, stay_id: i64) -> Result<StayActivity, Error> {
    let mut tx = db.read().await?;
    let s: Option<Stay> = tx.opt(&format!("SELECT {COLS} FROM stays WHERE id = $1"), &args![stay_id]).await?;
    tx.rollback().await?;
    let s = s.ok_or(Error::NotFound("Séjour"))?;
    let file = patients::checked(db, actor, s.patient_id, "view_stay").await?;
    let mut tx = db.read().await?;
    let movements = movements_in(&mut tx, &[stay_id]).await?;
    let acts = acts_in(&mut tx, &[stay_id]).await?;
    let currency = crate::billing::currency_of(&mut tx, s.establishment_id).await?;
    tx.rollback().await?;
    patients::audit_view(db, actor, &file, "view_stay", serde_json::json!({ "sejour": stay_id })).await?;
    Ok(StayActivity { stay: s, patient: file.patient().clone(), currency, movements, acts })
}

/// The stay, locked until commit, its version checked against the one read (`None`: a feed,
/// which takes the current one).
async fn locked_stay(tx: &mut Tx, stay_id: i64, version: Option<i64>) -> Result<Stay, Error> {
    let s: Stay = tx.lock(&format!("SELECT {COLS} FROM stays WHERE id = $1"), &args![stay_id]).await?.ok_or(Error::NotFound("Séjour"))?;
    if version.is_some_and(|v| s.version != v) {
        return Err(crate::care::stale("Ce séjour"));
    }
    Ok(s)
}

/// The stay's version moves with each line written or cancelled (exactly one row).
async fn bump(tx: &mut Tx, s: &Stay) -> Result<(), Error> {
    tx.exec_one("UPDATE stays SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3", &args![now_text(), s.id, s.version], &crate::care::stale("Ce séjour").to_string()).await
}

fn times(s: &Stay) -> Result<(DateTime, Option<DateTime>), Error> {
    let p = |t: &str| t.parse::<DateTime>().map_err(|e| Error::Integrity(format!("date de séjour illisible « {t} » : {e}")));
    Ok((p(&s.admission_at)?, s.discharge_at.as_deref().map(p).transpose()?))
}

/// What was written: the new row's id, or the existing row a re-import met again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Written {
    Added(i64),
    AlreadyThere(i64),
}

impl Written {
    pub fn id(self) -> i64 {
        match self {
            Written::Added(i) | Written::AlreadyThere(i) => i,
        }
    }
}

/// Records a movement on a stay (version `version`). It must lie inside the stay; a leave must
/// not overlap another leave. An `external_id` already recorded on the stay writes nothing.
pub async fn add_movement(db: &Db, actor: &Actor, stay_id: i64, version: i64, m: &ParsedMovement) -> Result<Written, Error> {
    let patient_id = patient_of(db, stay_id).await?;
    patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let w = add_movement_in(&mut tx, actor, stay_id, Some(version), m).await?;
    tx.commit().await?;
    Ok(w)
}

/// [`add_movement`] in the caller's transaction, for a file whose write access was checked;
/// `version` `None` takes the stay's current one (a feed).
pub(crate) async fn add_movement_in(tx: &mut Tx, actor: &Actor, stay_id: i64, version: Option<i64>, m: &ParsedMovement) -> Result<Written, Error> {
    if let Some(x) = &m.external_id
        && let Some((id,)) = tx.opt::<(i64,)>("SELECT id FROM stay_movements WHERE stay_id = $1 AND external_id = $2", &args![stay_id, x.clone()]).await?
    {
        return Ok(Written::AlreadyThere(id));
    }
    let s = locked_stay(tx, stay_id, version).await?;
    let (adm, dis) = times(&s)?;
    let mut e = within_stay(m, adm, dis).err().unwrap_or_default();
    if m.kind == MovementKind::Permission {
        let others = movements_in(tx, &[stay_id]).await?;
        let end = m.end.unwrap_or(m.start);
        if others.iter().any(|o| o.cancelled.is_none() && o.movement.kind == MovementKind::Permission && o.movement.start < end && o.movement.end.is_none_or(|oe| m.start < oe)) {
            e.add("start_date", "Une autre permission de sortie couvre déjà cette période.");
        }
    }
    if !e.is_empty() {
        return Err(Error::Invalid(e));
    }
    let id = tx
        .int(
            "INSERT INTO stay_movements (stay_id, kind, start_at, end_at, service, unit, written_request, external_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &args![stay_id, m.kind.code(), local_text(m.start), m.end.map(local_text), m.service.clone(), m.unit.clone(), m.written_request, m.external_id.clone(), now_text()],
        )
        .await?;
    bump(tx, &s).await?;
    let changes = serde_json::json!({
        "sejour": stay_id, "mouvement": id, "type": m.kind.code(), "debut": local_text(m.start), "fin": m.end.map(local_text),
        "service": m.service, "demande_ecrite": m.written_request,
    });
    tx.audit(actor, AuditEvent::new("patient", "add_movement").id(s.patient_id).at(Some(s.establishment_id), Some(s.site_id)).changes(changes));
    Ok(Written::Added(id))
}

async fn patient_of(db: &Db, stay_id: i64) -> Result<i64, Error> {
    let mut tx = db.read().await?;
    let r: Option<(i64,)> = tx.opt("SELECT patient_id FROM stays WHERE id = $1", &args![stay_id]).await?;
    tx.rollback().await?;
    r.map(|r| r.0).ok_or(Error::NotFound("Séjour"))
}

fn reason_checked(reason: &str) -> Result<String, Error> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(Error::Invalid(FieldErrors::single("reason", "Indiquez le motif de l'annulation.")));
    }
    if r.chars().count() > 300 {
        return Err(Error::Invalid(FieldErrors::single("reason", "300 caractères au plus.")));
    }
    Ok(r.to_string())
}

/// Cancels a movement of a stay (version `version`) with a reason; it stays in the file.
pub async fn cancel_movement(db: &Db, actor: &Actor, stay_id: i64, version: i64, movement_id: i64, reason: &str) -> Result<(), Error> {
    let reason = reason_checked(reason)?;
    cancel_row(db, actor, stay_id, version, "stay_movements", movement_id, &reason, "cancel_movement", "mouvement").await
}

/// Cancels a costly act of a stay (version `version`) with a reason; it stays in the file.
pub async fn cancel_act(db: &Db, actor: &Actor, stay_id: i64, version: i64, act_id: i64, reason: &str) -> Result<(), Error> {
    let reason = reason_checked(reason)?;
    cancel_row(db, actor, stay_id, version, "stay_acts", act_id, &reason, "cancel_stay_act", "acte").await
}

#[allow(clippy::too_many_arguments)]
async fn cancel_row(db: &Db, actor: &Actor, stay_id: i64, version: i64, table: &str, id: i64, reason: &str, action: &str, what: &str) -> Result<(), Error> {
    let patient_id = patient_of(db, stay_id).await?;
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let s = locked_stay(&mut tx, stay_id, Some(version)).await?;
    let n = tx.exec(&format!("UPDATE {table} SET cancelled_at = $1, cancel_reason = $2 WHERE id = $3 AND stay_id = $4 AND cancelled_at IS NULL"), &args![now_text(), reason.to_string(), id, stay_id]).await?;
    if n != 1 {
        tx.rollback().await?;
        return Err(Error::NotFound(if what == "acte" { "Acte" } else { "Mouvement" }));
    }
    bump(&mut tx, &s).await?;
    tx.audit(actor, AuditEvent::new("patient", action).id(patient.id).at(Some(s.establishment_id), Some(s.site_id)).changes(serde_json::json!({ "sejour": stay_id, what: id, "motif": reason })));
    tx.commit().await?;
    Ok(())
}

/// Records a costly act on a stay (version `version`), on a day of the stay. An `external_id`
/// already recorded on the stay writes nothing.
pub async fn add_act(db: &Db, actor: &Actor, stay_id: i64, version: i64, a: &ParsedStayAct) -> Result<Written, Error> {
    let patient_id = patient_of(db, stay_id).await?;
    patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let w = add_act_in(&mut tx, actor, stay_id, Some(version), a).await?;
    tx.commit().await?;
    Ok(w)
}

/// [`add_act`] in the caller's transaction, for a file whose write access was checked.
pub(crate) async fn add_act_in(tx: &mut Tx, actor: &Actor, stay_id: i64, version: Option<i64>, a: &ParsedStayAct) -> Result<Written, Error> {
    if let Some(x) = &a.external_id
        && let Some((id,)) = tx.opt::<(i64,)>("SELECT id FROM stay_acts WHERE stay_id = $1 AND external_id = $2", &args![stay_id, x.clone()]).await?
    {
        return Ok(Written::AlreadyThere(id));
    }
    let s = locked_stay(tx, stay_id, version).await?;
    let (adm, dis) = times(&s)?;
    let currency = crate::billing::currency_of(tx, s.establishment_id).await?;
    let mut e = FieldErrors::new();
    if a.performed_on < adm.date() || dis.is_some_and(|d| a.performed_on > d.date()) {
        e.add("performed_on", "L'acte doit avoir été fait pendant le séjour.");
    }
    if a.amount.currency != currency {
        e.add("amount", format!("Montant attendu en {}.", currency.code()));
    }
    if !e.is_empty() {
        return Err(Error::Invalid(e));
    }
    let id = tx
        .int(
            "INSERT INTO stay_acts (stay_id, performed_on, code, label, amount_minor, coefficient_centi, external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &args![stay_id, a.performed_on.to_string(), a.code.clone(), a.label.clone(), a.amount.minor, a.coefficient.map(|c| i64::from(c.0)), a.external_id.clone(), now_text()],
        )
        .await?;
    bump(tx, &s).await?;
    let changes = serde_json::json!({ "sejour": stay_id, "acte": id, "code": a.code, "date": a.performed_on.to_string(), "tarif": a.amount.format_fr_plain() });
    tx.audit(actor, AuditEvent::new("patient", "add_stay_act").id(s.patient_id).at(Some(s.establishment_id), Some(s.site_id)).changes(changes));
    Ok(Written::Added(id))
}

/// The movements that count (not cancelled).
pub fn live(movements: &[StoredMovement]) -> Vec<Movement> {
    movements.iter().filter(|m| m.cancelled.is_none()).map(|m| m.movement.clone()).collect()
}

/// The costly acts that count (not cancelled).
pub fn live_acts(acts: &[StoredAct]) -> Vec<StayAct> {
    acts.iter().filter(|a| a.cancelled.is_none()).map(|a| a.act.clone()).collect()
}

/// The currency of a stay's establishment (to parse an act's tariff).
pub async fn stay_currency(db: &Db, stay_id: i64) -> Result<Currency, Error> {
    let mut tx = db.read().await?;
    let est: Option<(i64,)> = tx.opt("SELECT establishment_id FROM stays WHERE id = $1", &args![stay_id]).await?;
    let r = match est {
        Some((e,)) => crate::billing::currency_of(&mut tx, e).await,
        None => Err(Error::NotFound("Séjour")),
    };
    tx.rollback().await?;
    r
}
