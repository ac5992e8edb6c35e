//! `quittance import activity`: CMS acts and call units in one file, one row each, its
//! `kind` saying which (`acte`, `unites`; stays and movements come later in the same file).
//! The patient is named by IPP, the site by code; a row with an external id already imported
//! is not imported twice. Valid rows are committed in batches
//! (`crate::shared::imports`), each refused row reported with its line, field and message.

use quittance_domain::billing::tariffs::TariffLine;
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

use super::{ActInput, UnitsInput, parse_act, parse_units};
use crate::actor::Actor;
use crate::args;
use crate::db::{Db, Tx};
use crate::error::Error;
use crate::shared::imports::{self, BatchDone, Batches};

/// One row of an activity file, every column text (CSV header = these names; JSON: objects
/// with these keys). Columns a kind does not use stay empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityRow {
    /// `acte` or `unites`.
    pub kind: String,
    /// The row's id in the sending system, unique per establishment: a re-import is idempotent.
    pub external_id: String,
    /// The patient's IPP (acts; units: optional, checked when given).
    pub ipp: String,
    /// Site code of the establishment.
    pub site: String,
    /// JJ/MM/AAAA: the act's day, or the day the units were used.
    pub date: String,
    /// Acts: practitioner's name or code, nomenclature code, quantity (empty: 1), coefficient.
    pub practitioner: String,
    pub code: String,
    pub quantity: String,
    pub coefficient: String,
    /// Units: the subscription's line or device number at the site, and the units.
    pub line_number: String,
    pub units: String,
    /// Stays (`sejour`; `external_id` is the stay's): admission, care mode, planned and actual
    /// discharge (JJ/MM/AAAA, HH:MM, codes as in docs/billing.md).
    pub admission_date: String,
    pub admission_time: String,
    pub care_mode: String,
    pub planned_discharge_date: String,
    pub discharge_date: String,
    pub discharge_time: String,
    pub discharge_mode: String,
    /// Movements (`mouvement`) and costly acts of a stay (`acte_sejour`): the stay's external id.
    pub stay_external_id: String,
    /// Movements: the kind of movement (`transfert`, `permission`, `chambre_particuliere`…),
    /// its start and end, service and unit, `oui` when the private room was asked for in writing.
    pub movement: String,
    pub start_date: String,
    pub start_time: String,
    pub end_date: String,
    pub end_time: String,
    pub service: String,
    pub unit: String,
    pub written_request: String,
    /// Costly acts of a stay: label and the act's tariff (`date` and `code` as for acts).
    pub label: String,
    pub amount: String,
}

/// What one row is, once its kind is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Acte,
    Unites,
    Sejour,
    Mouvement,
    ActeSejour,
}

impl RowKind {
    pub fn parse(s: &str) -> Option<RowKind> {
        match s.trim().to_lowercase().as_str() {
            "acte" => Some(RowKind::Acte),
            "unites" | "unités" => Some(RowKind::Unites),
            "sejour" | "séjour" => Some(RowKind::Sejour),
            "mouvement" => Some(RowKind::Mouvement),
            "acte_sejour" | "acte_séjour" => Some(RowKind::ActeSejour),
            _ => None,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Rows written now.
    pub imported: usize,
    /// Rows whose external id was already imported (nothing written).
    pub already: usize,
    /// Rows committed by an earlier run of the same file.
    pub skipped: usize,
    /// (line, field, message).
    pub errors: Vec<(usize, String, String)>,
}

async fn import_row(tx: &mut Tx, actor: &Actor, est: i64, lines: &[TariffLine], r: &ActivityRow) -> Result<Result<bool, FieldErrors>, Error> {
    let Some(kind) = RowKind::parse(&r.kind) else {
        return Ok(Err(FieldErrors::single("kind", format!("Type de ligne inconnu : « {} » (acte, unites, sejour, mouvement ou acte_sejour).", r.kind.trim()))));
    };
    match kind {
        RowKind::Sejour => return crate::care::feed::stay_row(tx, actor, est, r).await,
        RowKind::Mouvement => return crate::care::feed::movement_row(tx, actor, est, r).await,
        RowKind::ActeSejour => return crate::care::feed::act_row(tx, actor, est, r).await,
        RowKind::Acte | RowKind::Unites => {}
    }
    let site: Option<(i64,)> = tx.opt("SELECT id FROM sites WHERE establishment_id = $1 AND UPPER(code) = UPPER($2)", &args![est, r.site.trim()]).await?;
    let mut e = FieldErrors::new();
    if site.is_none() {
        e.add("site", format!("Site inconnu dans l'établissement : « {} ».", r.site.trim()));
    }
    let patient = match r.ipp.trim() {
        "" if kind == RowKind::Acte => {
            e.add("ipp", "Indiquez l'IPP du patient.");
            None
        }
        "" => None,
        ipp => match crate::patients::by_ipp(tx, est, ipp).await? {
            Some(p) => Some(p.id),
            None => {
                e.add("ipp", format!("Aucun patient d'IPP « {ipp} » dans l'établissement."));
                None
            }
        },
    };
    let site_id = site.map(|s| s.0.to_string()).unwrap_or_default();
    let outcome = match kind {
        // Written by `care::feed` above.
        RowKind::Sejour | RowKind::Mouvement | RowKind::ActeSejour => Ok(false),
        RowKind::Acte => {
            let input = ActInput {
                site_id: if site_id.is_empty() { "0".into() } else { site_id },
                act_date: r.date.clone(),
                practitioner: r.practitioner.clone(),
                code: r.code.clone(),
                quantity: r.quantity.clone(),
                coefficient: r.coefficient.clone(),
                external_id: r.external_id.clone(),
            };
            let parsed = parse_act(&input).map_err(|mut p| {
                p.0.retain(|f| f.field != "site_id");
                p.0.iter_mut().filter(|f| f.field == "act_date").for_each(|f| f.field = "date".into());
                p
            });
            match (parsed, e.is_empty(), patient) {
                (Ok(a), true, Some(pid)) => {
                    match super::acts::record_in(tx, actor, (pid, est), lines, &a).await {
                        Ok((_, created)) => Ok(created),
                        Err(Error::Invalid(x)) => Err(x),
                        Err(x) => return Err(x),
                    }
                }
                (p, _, _) => {
                    e.0.extend(p.err().unwrap_or_default().0);
                    Err(e)
                }
            }
        }
        RowKind::Unites => {
            let parsed = parse_units(&UnitsInput { used_on: r.date.clone(), units: r.units.clone(), external_id: r.external_id.clone() }).map_err(|mut p| {
                p.0.iter_mut().filter(|f| f.field == "used_on").for_each(|f| f.field = "date".into());
                p
            });
            if r.line_number.trim().is_empty() {
                e.add("line_number", "Indiquez le numéro de ligne ou d'appareil de l'abonnement.");
            }
            match (parsed, e.is_empty(), site) {
                (Ok(u), true, Some((site,))) => {
                    let day = u.used_on.to_string();
                    let sub: Option<(i64, i64)> = tx
                        .opt(
                            "SELECT id, patient_id FROM service_subscriptions WHERE site_id = $1 AND line_number = $2 AND opened_on <= $3 \
                             AND (closed_on IS NULL OR closed_on >= $3) ORDER BY opened_on DESC LIMIT 1",
                            &args![site, r.line_number.trim(), day],
                        )
                        .await?;
                    match sub {
                        None => Err(FieldErrors::single("line_number", format!("Aucun abonnement de la ligne « {} » ouvert ce jour-là sur ce site.", r.line_number.trim()))),
                        Some((_, p)) if patient.is_some_and(|x| x != p) => Err(FieldErrors::single("ipp", "Cette ligne est l'abonnement d'un autre patient ce jour-là.")),
                        Some((sid, p)) => {
                            match super::services::add_units_in(tx, actor, (p, est), sid, &u).await {
                                Ok((_, created)) => Ok(created),
                                Err(Error::Invalid(x)) => Err(x),
                                Err(x) => return Err(x),
                            }
                        }
                    }
                }
                (p, _, _) => {
                    e.0.extend(p.err().unwrap_or_default().0);
                    Err(e)
                }
            }
        }
    };
    Ok(outcome)
}

/// Imports activity rows for an establishment in batches (`opts.dry_run` writes nothing).
/// The operator needs `write_patients` in the establishment.
pub async fn import_in_batches(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    rows: Vec<(usize, ActivityRow)>,
    opts: &Batches,
    on_batch: &mut dyn FnMut(&BatchDone),
) -> Result<ImportReport, Error> {
    actor
        .require(db, quittance_domain::access::Permission::WritePatients, quittance_domain::access::Scope::Establishment(establishment_id), "activity", "import")
        .await?;
    let lines: Vec<TariffLine> = {
        let mut tx = db.read().await?;
        let l = crate::billing::tariffs::all_in(&mut tx, establishment_id).await;
        tx.rollback().await?;
        l?.into_iter().map(|t| t.line).collect()
    };
    let mut already = 0usize;
    let out = imports::run(db, establishment_id, "activity", rows, opts, on_batch, async |tx: &mut Tx, row: &ActivityRow| {
        match import_row(tx, actor, establishment_id, &lines, row).await? {
            Ok(true) => Ok(None),
            Ok(false) => {
                already += 1;
                Ok(None)
            }
            Err(e) => Ok(Some(e)),
        }
    })
    .await?;
    Ok(ImportReport { imported: out.imported - already, already, skipped: out.skipped, errors: out.errors })
}
