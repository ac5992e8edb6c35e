//! Stays, their movements and their costly acts from the patient-management software's feed
//! (`quittance import activity`, kinds `sejour`, `mouvement`, `acte_sejour`), in the import's
//! batch transaction. A stay is known by its external id: sent again unchanged, nothing is
//! written; sent again changed (its discharge known now), it is updated at its current
//! version — the feed is the authority on its stays. Movements and acts are known by their
//! external id on the stay. Every write goes through the stay use cases (`save_in`,
//! `add_movement_in`, `add_act_in`), with their checks and audit rows.

use quittance_domain::validation::FieldErrors;

use super::movements::{self, MovementInput, StayActInput, Written};
use super::stays::{self, COLS, Stay, StayInput};
use crate::activity::import::ActivityRow;
use crate::actor::Actor;
use crate::args;
use crate::db::Tx;
use crate::error::Error;

/// Renames the fields of a parse error to the file's column names.
fn columns(mut e: FieldErrors, names: &[(&str, &str)]) -> FieldErrors {
    for f in e.0.iter_mut() {
        if let Some((_, to)) = names.iter().find(|(from, _)| *from == f.field) {
            f.field = (*to).into();
        }
    }
    e
}

fn outcome(r: Result<Written, Error>) -> Result<Result<bool, FieldErrors>, Error> {
    match r {
        Ok(Written::Added(_)) => Ok(Ok(true)),
        Ok(Written::AlreadyThere(_)) => Ok(Ok(false)),
        Err(Error::Invalid(e)) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

/// A stay of the feed: `Ok(true)` written, `Ok(false)` already there unchanged.
pub(crate) async fn stay_row(tx: &mut Tx, actor: &Actor, est: i64, r: &ActivityRow) -> Result<Result<bool, FieldErrors>, Error> {
    let mut e = FieldErrors::new();
    let external = r.external_id.trim();
    if external.is_empty() {
        e.add("external_id", "Indiquez l'identifiant du séjour dans le logiciel d'origine.");
    }
    let patient = match r.ipp.trim() {
        "" => {
            e.add("ipp", "Indiquez l'IPP du patient.");
            None
        }
        ipp => match crate::patients::by_ipp(tx, est, ipp).await? {
            Some(p) => Some(p.id),
            None => {
                e.add("ipp", format!("Aucun patient d'IPP « {ipp} » dans l'établissement."));
                None
            }
        },
    };
    let site: Option<(i64,)> = tx.opt("SELECT id FROM sites WHERE establishment_id = $1 AND UPPER(code) = UPPER($2)", &args![est, r.site.trim()]).await?;
    if site.is_none() {
        e.add("site", format!("Site inconnu dans l'établissement : « {} ».", r.site.trim()));
    }
    let input = StayInput {
        site_id: site.map(|s| s.0.to_string()).unwrap_or_else(|| "0".into()),
        admission_date: r.admission_date.clone(),
        admission_time: r.admission_time.clone(),
        planned_discharge_date: r.planned_discharge_date.clone(),
        discharge_date: r.discharge_date.clone(),
        discharge_time: r.discharge_time.clone(),
        discharge_mode: r.discharge_mode.clone(),
        care_mode: if r.care_mode.trim().is_empty() { "hospitalisation_complete".into() } else { r.care_mode.clone() },
    };
    let parsed = stays::parse_stay(&input).map_err(|p| columns(p, &[("site_id", "site")]));
    let (parsed, Some(patient), true) = (parsed, patient, e.is_empty()) else {
        return Ok(Err(e));
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(p) => return Ok(Err(p)),
    };
    let before: Option<Stay> = tx.opt(&format!("SELECT {COLS} FROM stays WHERE establishment_id = $1 AND external_id = $2"), &args![est, external.to_string()]).await?;
    if let Some(b) = &before {
        if b.patient_id != patient {
            return Ok(Err(FieldErrors::single("ipp", "Ce séjour (même identifiant externe) est celui d'un autre patient.")));
        }
        if stay_of(b, &parsed) == *b {
            return Ok(Ok(false));
        }
    }
    match stays::save_in(tx, actor, (patient, est), before.as_ref().map(|b| b.id), None, &parsed, Some(external)).await {
        Ok(s) => {
            stays::on_discharge(tx, actor, &s).await?;
            Ok(Ok(true))
        }
        Err(Error::Invalid(e)) => Ok(Err(columns(e, &[("site_id", "site")]))),
        Err(e) => Err(e),
    }
}

/// The stay `b` would be with `p`'s values (to tell an unchanged row from a change).
fn stay_of(b: &Stay, p: &stays::ParsedStay) -> Stay {
    use quittance_domain::care::input::local_text;
    Stay {
        site_id: p.site_id,
        admission_at: local_text(p.admission_at),
        planned_discharge_date: p.planned_discharge_date.map(|d| d.to_string()),
        discharge_at: p.discharge.map(|d| local_text(d.at)),
        discharge_mode: p.discharge.map(|d| d.mode),
        care_mode: p.care_mode,
        ..b.clone()
    }
}

/// The stay a movement or act row names by `stay_external_id`.
async fn stay_of_row(tx: &mut Tx, est: i64, r: &ActivityRow) -> Result<Result<i64, FieldErrors>, Error> {
    let x = r.stay_external_id.trim();
    if x.is_empty() {
        return Ok(Err(FieldErrors::single("stay_external_id", "Indiquez l'identifiant externe du séjour.")));
    }
    let s: Option<(i64,)> = tx.opt("SELECT id FROM stays WHERE establishment_id = $1 AND external_id = $2", &args![est, x.to_string()]).await?;
    Ok(s.map(|s| s.0).ok_or_else(|| FieldErrors::single("stay_external_id", format!("Aucun séjour d'identifiant externe « {x} » (importez d'abord la ligne du séjour)."))))
}

/// A movement of a stay of the feed.
pub(crate) async fn movement_row(tx: &mut Tx, actor: &Actor, est: i64, r: &ActivityRow) -> Result<Result<bool, FieldErrors>, Error> {
    let stay = match stay_of_row(tx, est, r).await? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let input = MovementInput {
        kind: r.movement.clone(),
        start_date: r.start_date.clone(),
        start_time: r.start_time.clone(),
        end_date: r.end_date.clone(),
        end_time: r.end_time.clone(),
        service: r.service.clone(),
        unit: r.unit.clone(),
        written_request: r.written_request.clone(),
        external_id: r.external_id.clone(),
    };
    match movements::parse_movement(&input) {
        Ok(m) => outcome(movements::add_movement_in(tx, actor, stay, None, &m).await),
        Err(e) => Ok(Err(columns(e, &[("kind", "movement")]))),
    }
}

/// A costly act of a stay of the feed.
pub(crate) async fn act_row(tx: &mut Tx, actor: &Actor, est: i64, r: &ActivityRow) -> Result<Result<bool, FieldErrors>, Error> {
    let stay = match stay_of_row(tx, est, r).await? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let currency = crate::billing::currency_of(tx, est).await?;
    let input = StayActInput { performed_on: r.date.clone(), code: r.code.clone(), label: r.label.clone(), amount: r.amount.clone(), coefficient: r.coefficient.clone(), external_id: r.external_id.clone() };
    match movements::parse_stay_act(&input, currency) {
        Ok(a) => outcome(movements::add_act_in(tx, actor, stay, None, &a).await.map_err(|e| match e {
            Error::Invalid(x) => Error::Invalid(columns(x, &[("performed_on", "date")])),
            other => other,
        })),
        Err(e) => Ok(Err(columns(e, &[("performed_on", "date")]))),
    }
}
