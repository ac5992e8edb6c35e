//! What a stay would bill: its charges valued by the establishment's dated tariffs and
//! parameters with its movements (`quittance_domain::billing::valuation::value_stay`), split
//! between the payers of the patient's coverages and PEC answers, the costly acts deciding the
//! participation forfaitaire (`quittance_domain::billing::split`). Reading a valuation is a
//! view of the patient's file: it is audited.

use jiff::civil::{Date, DateTime};
use quittance_domain::billing::days::StayTimes;
use quittance_domain::billing::parameters::{Parameter, ParameterSet};
use quittance_domain::billing::split::{Agreement, Cover, Split, SplitContext, split};
use quittance_domain::billing::tariffs::TariffLine;
use quittance_domain::billing::valuation::{StayActivity, ValuationError, value_stay};
use quittance_domain::care::movement::{Movement, StayAct};
use quittance_domain::money::Currency;
use quittance_domain::pec::Status;

use super::{parameters, tariffs};
use crate::actor::Actor;
use crate::care::coverages::CoverageLine;
use crate::care::{movements, stays};
use crate::db::{Db, Tx};
use crate::error::Error;

/// A stay's valuation and split.
#[derive(Debug, Clone)]
pub struct StayValuation {
    pub stay: stays::Stay,
    /// The stay's patient (the page names them).
    pub patient: crate::patients::Patient,
    /// Who the patient's share is billed to: the file's designated debtor (id, name), else the patient.
    pub debtor: Option<(i64, String)>,
    /// The day the open part of a stay is valued to.
    pub until: Date,
    pub split: Split,
    /// Days or charges not billed, and why.
    pub notes: Vec<String>,
    /// Whether the stay can be billed today (billing readiness), and if not, why: French
    /// messages with where to fix them (`identity`, `debtors`, `coverage`, `documents`).
    pub ready: bool,
    pub not_ready_because: Vec<(String, String)>,
}

impl StayValuation {
    /// The charges, without their shares.
    pub fn charges(&self) -> Vec<&quittance_domain::billing::valuation::Charge> {
        self.split.lines.iter().map(|l| &l.charge).collect()
    }
}

fn local(s: &str) -> Result<DateTime, Error> {
    s.parse::<DateTime>().map_err(|e| Error::Integrity(format!("date et heure de séjour illisibles « {s} » : {e}")))
}

pub(crate) fn times(s: &stays::Stay) -> Result<StayTimes, Error> {
    Ok(StayTimes {
        admission: local(&s.admission_at)?,
        discharge: s.discharge_at.as_deref().map(local).transpose()?,
        discharge_mode: s.discharge_mode,
        care_mode: s.care_mode,
    })
}

/// The coverages as the split reads them (active ones).
pub(crate) fn covers(lines: &[CoverageLine]) -> Result<Vec<Cover>, Error> {
    let mut out = Vec::new();
    for l in lines.iter().filter(|l| l.coverage.active) {
        let c = &l.coverage;
        let day = |s: &str| s.parse::<Date>().map_err(|e| Error::Integrity(format!("date de droits illisible « {s} » : {e}")));
        out.push(Cover {
            coverage_id: c.id,
            payer_id: c.payer_id,
            payer_name: l.payer_name.clone(),
            role: c.role,
            from: day(&c.valid_from)?,
            to: c.valid_to.as_deref().map(day).transpose()?,
            rates: [c.rate_sejour_bp, c.rate_actes_bp, c.rate_fj_bp, c.rate_cp_bp, c.rate_annexes_bp],
            exemptions: c.exemptions.clone(),
            priority: c.priority,
        });
    }
    Ok(out)
}

/// The columns of a PEC answer the split reads ([`AnswerRow`]).
const ANSWER_COLS: &str = "patient_id, stay_id, payer_id, number, agreement_number, status, agreed_items, cap_per_day_minor, max_days, valid_from, valid_to, currency";

/// The answered PEC requests of a patient for a stay (or not tied to one), as agreements.
pub(crate) async fn agreements_in(tx: &mut Tx, patient_id: i64, stay_id: Option<i64>) -> Result<Vec<Agreement>, Error> {
    let rows: Vec<AnswerRow> = tx
        .all(
            &format!("SELECT {ANSWER_COLS} FROM cover_authorizations WHERE patient_id = $1 AND (stay_id IS NULL OR stay_id = $2) AND status IN ('acceptee', 'partielle', 'refusee') ORDER BY id"),
            &crate::args![patient_id, stay_id.unwrap_or(-1)],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.agreement).collect())
}

/// A PEC answer as a billing run reads it: only what the split needs.
struct AnswerRow {
    patient_id: i64,
    stay_id: Option<i64>,
    agreement: Agreement,
}

#[derive(sqlx::FromRow)]
struct AnswerCols {
    patient_id: i64,
    stay_id: Option<i64>,
    payer_id: i64,
    number: String,
    agreement_number: Option<String>,
    status: String,
    agreed_items: Option<String>,
    cap_per_day_minor: Option<i64>,
    max_days: Option<i64>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    currency: String,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for AnswerRow
where
    AnswerCols: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        use crate::shared::rows::{decode, decode_list};
        let r = AnswerCols::from_row(row)?;
        let status: Status = decode(r.status)?;
        let currency: Currency = decode(r.currency)?;
        let day = |s: &Option<String>| s.as_deref().map(crate::shared::rows::decode_date).transpose();
        Ok(AnswerRow {
            patient_id: r.patient_id,
            stay_id: r.stay_id,
            agreement: Agreement {
                payer_id: r.payer_id,
                number: r.agreement_number.unwrap_or(r.number),
                accepted: status != Status::Refusee,
                items: r.agreed_items.map(decode_list).transpose()?.unwrap_or_default(),
                cap_per_day: r.cap_per_day_minor.map(|m| quittance_domain::money::Money::new(m, currency)),
                max_days: r.max_days,
                from: day(&r.valid_from)?,
                to: day(&r.valid_to)?,
            },
        })
    }
}

/// Values and splits one stay from what was read.
#[allow(clippy::too_many_arguments)]
pub fn value_and_split(
    s: &stays::Stay,
    moves: &[Movement],
    acts: &[StayAct],
    covers: &[Cover],
    agreements: &[Agreement],
    lines: &[TariffLine],
    set: &ParameterSet<'_>,
    currency: Currency,
    today: Date,
    explain: bool,
) -> Result<(Split, Vec<String>), ValuationError> {
    let t = times(s).map_err(|e| ValuationError::Integrity(e.to_string()))?;
    let v = value_stay(&StayActivity { times: t, site_id: s.site_id, movements: moves, explain }, lines, set, today)?;
    let ctx = SplitContext { admission: Some(t.admission.date()), covers, agreements, acts, currency, explain };
    let sp = split(v.charges, &ctx, set)?;
    let mut notes = v.notes;
    notes.extend(sp.notes.iter().cloned());
    Ok((sp, notes))
}

/// Splits charges that are not a stay's (CMS acts, annexed services) between the patient's
/// payers: the coverages valid on each charge's day, the PEC answers not tied to a stay, no
/// ticket-modérateur day count or participation forfaitaire (those are a stay's).
pub async fn split_outside_stays(tx: &mut Tx, patient_id: i64, currency: Currency, charges: Vec<quittance_domain::billing::valuation::Charge>, establishment_id: i64) -> Result<Split, Error> {
    let cov = covers(&crate::care::coverages::lines_in(tx, patient_id).await?)?;
    let agreements = agreements_in(tx, patient_id, None).await?;
    let rows: Vec<Parameter> = parameters::all_in(tx, establishment_id).await?.into_iter().map(|p| p.parameter).collect();
    let ctx = SplitContext { admission: None, covers: &cov, agreements: &agreements, acts: &[], currency, explain: true };
    split(charges, &ctx, &ParameterSet(&rows)).map_err(|e| Error::invalid("valuation", e.message_fr()))
}

/// The file's designated debtor (the default active one): who the patient's shares are billed to.
pub async fn designated_debtor(tx: &mut Tx, patient_id: i64) -> Result<Option<(i64, String)>, Error> {
    tx.opt("SELECT id, name FROM debtors WHERE patient_id = $1 AND is_default AND active ORDER BY id", &crate::args![patient_id]).await
}

/// What valuing many stays gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub stays: usize,
    /// Days counted by the charges (forfait journalier, daily tariff, private room).
    pub stay_days: usize,
    pub charges: usize,
    /// Shares written.
    pub shares: usize,
    /// Sum of the lines (charges and imputations), in minor units.
    pub amount_minor: i64,
    /// Stays that could not be valued (missing tariff or parameter).
    pub refused: usize,
}

/// Values and splits every stay of an establishment as of `today`, from one read of its stays,
/// movements, acts, coverages, PEC answers, tariffs and parameters (what a billing run reads;
/// `quittance bench valuation` times it), with or without the French sentences (`explain`:
/// the amounts, days and shares are the same). No audit row: nothing of a patient leaves this
/// function but totals.
pub async fn totals(db: &Db, establishment_id: i64, today: Date, explain: bool) -> Result<Totals, Error> {
    let mut tx = db.read().await?;
    let est = crate::establishments::get_in(&mut tx, establishment_id).await?;
    let lines: Vec<TariffLine> = tariffs::all_in(&mut tx, establishment_id).await?.into_iter().map(|t| t.line).collect();
    let rows: Vec<Parameter> = parameters::all_in(&mut tx, establishment_id).await?.into_iter().map(|p| p.parameter).collect();
    let all: Vec<stays::Stay> = tx.all(&format!("SELECT {} FROM stays WHERE establishment_id = $1 ORDER BY id", stays::COLS), &crate::args![establishment_id]).await?;
    let moves: Vec<movements::StoredMovement> =
        tx.all("SELECT m.id, m.stay_id, m.kind, m.start_at, m.end_at, m.service, m.unit, m.written_request, m.external_id, m.cancelled_at, m.cancel_reason FROM stay_movements m JOIN stays s ON s.id = m.stay_id WHERE s.establishment_id = $1 AND m.cancelled_at IS NULL ORDER BY m.stay_id", &crate::args![establishment_id]).await?;
    let acts: Vec<movements::StoredAct> = tx
        .all("SELECT a.id, a.stay_id, a.performed_on, a.code, a.label, a.amount_minor, a.coefficient_centi, a.external_id, a.cancelled_at, a.cancel_reason, e.currency FROM stay_acts a JOIN stays s ON s.id = a.stay_id JOIN establishments e ON e.id = s.establishment_id WHERE s.establishment_id = $1 AND a.cancelled_at IS NULL ORDER BY a.stay_id", &crate::args![establishment_id])
        .await?;
    let cov = crate::care::coverages::lines_in_establishment(&mut tx, establishment_id).await?;
    let answers: Vec<AnswerRow> = tx
        .all(
            &format!("SELECT {ANSWER_COLS} FROM cover_authorizations WHERE establishment_id = $1 AND status IN ('acceptee', 'partielle', 'refusee') ORDER BY patient_id, id"),
            &crate::args![establishment_id],
        )
        .await?;
    tx.rollback().await?;
    let mut by_patient_pecs: std::collections::HashMap<i64, Vec<AnswerRow>> = std::collections::HashMap::new();
    for p in answers {
        by_patient_pecs.entry(p.patient_id).or_default().push(p);
    }
    let set = ParameterSet(&rows);
    let mut by_stay_moves: std::collections::HashMap<i64, Vec<Movement>> = std::collections::HashMap::new();
    for m in moves {
        by_stay_moves.entry(m.stay_id).or_default().push(m.movement);
    }
    let mut by_stay_acts: std::collections::HashMap<i64, Vec<StayAct>> = std::collections::HashMap::new();
    for a in acts {
        by_stay_acts.entry(a.stay_id).or_default().push(a.act);
    }
    let mut by_patient: std::collections::HashMap<i64, Vec<CoverageLine>> = std::collections::HashMap::new();
    for l in cov {
        by_patient.entry(l.coverage.patient_id).or_default().push(l);
    }
    let mut cover_cache: std::collections::HashMap<i64, Vec<Cover>> = std::collections::HashMap::new();
    for s in &all {
        if let std::collections::hash_map::Entry::Vacant(e) = cover_cache.entry(s.patient_id) {
            e.insert(covers(by_patient.get(&s.patient_id).map(Vec::as_slice).unwrap_or(&[]))?);
        }
    }
    // The rules are pure and the rows in memory: the stays are valued on every core, in chunks,
    // and the totals added up (the order does not change a sum).
    let one = |chunk: &[stays::Stay]| -> Result<Totals, Error> {
        let mut t = Totals::default();
        for s in chunk {
            t.stays += 1;
            let cs = &cover_cache[&s.patient_id];
            let m = by_stay_moves.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
            let a = by_stay_acts.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
            let ags: Vec<Agreement> = by_patient_pecs
                .get(&s.patient_id)
                .map(|v| v.iter().filter(|a| a.stay_id.is_none() || a.stay_id == Some(s.id)).map(|a| a.agreement.clone()).collect())
                .unwrap_or_default();
            let Ok((sp, _)) = value_and_split(s, m, a, cs, &ags, &lines, &set, est.currency, today, explain) else {
                t.refused += 1;
                continue;
            };
            for l in &sp.lines {
                t.stay_days += l.charge.days.len();
                t.charges += 1;
                t.shares += l.shares.len();
            }
            t.shares += sp.adjustments.iter().map(|a| a.shares.len()).sum::<usize>();
            t.amount_minor = t.amount_minor.checked_add(sp.total().minor).ok_or_else(|| Error::Integrity("total des charges hors limites".into()))?;
        }
        Ok(t)
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 16);
    let size = all.len().div_ceil(cores).max(1);
    let parts: Vec<Result<Totals, Error>> = std::thread::scope(|sc| {
        let handles: Vec<_> = all.chunks(size).map(|c| sc.spawn(move || one(c))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(Error::Integrity("valorisation interrompue".into())))).collect()
    });
    let mut t = Totals::default();
    for p in parts {
        let p = p?;
        t.stays += p.stays;
        t.stay_days += p.stay_days;
        t.charges += p.charges;
        t.shares += p.shares;
        t.refused += p.refused;
        t.amount_minor = t.amount_minor.checked_add(p.amount_minor).ok_or_else(|| Error::Integrity("total des charges hors limites".into()))?;
    }
    Ok(t)
}

/// Values and splits a stay as of `today` (default: today in the establishment's time zone):
/// each charge with its days, price, amount, explanation and shares, and the notes on what is
/// not billed. The view is audited (`view_valuation`).
pub async fn stay(db: &Db, actor: &Actor, stay_id: i64, today: Option<Date>) -> Result<StayValuation, Error> {
    // One access check and one view row (`view_valuation`), not those of `stays::get` besides.
    let mut tx = db.read().await?;
    let s: Option<stays::Stay> = tx.opt(&format!("SELECT {} FROM stays WHERE id = $1", stays::COLS), &crate::args![stay_id]).await?;
    tx.rollback().await?;
    let s = s.ok_or(Error::NotFound("Séjour"))?;
    let file = crate::patients::checked(db, actor, s.patient_id, "view_valuation").await?;
    let mut tx = db.read().await?;
    let est = crate::establishments::get_in(&mut tx, s.establishment_id).await?;
    let today = today.unwrap_or_else(|| crate::patients::today_in(&est.timezone));
    let lines: Vec<TariffLine> = tariffs::all_in(&mut tx, s.establishment_id).await?.into_iter().map(|t| t.line).collect();
    let rows: Vec<Parameter> = parameters::all_in(&mut tx, s.establishment_id).await?.into_iter().map(|p| p.parameter).collect();
    let moves = movements::live(&movements::movements_in(&mut tx, &[stay_id]).await?);
    let acts = movements::live_acts(&movements::acts_in(&mut tx, &[stay_id]).await?);
    let cov = covers(&crate::care::coverages::lines_in(&mut tx, s.patient_id).await?)?;
    let agreements = agreements_in(&mut tx, s.patient_id, Some(stay_id)).await?;
    let debtor = designated_debtor(&mut tx, s.patient_id).await?;
    // Billing readiness of this stay (the checklist of the file, the stay's line).
    let check = crate::readiness::checklist_checked(&mut tx, &file, today).await?;
    tx.rollback().await?;
    let line = check.into_iter().find(|c| c.stay_id == Some(stay_id));
    let (ready, not_ready_because) = match line {
        Some(c) => (c.ready, c.failures.into_iter().map(|(_, m, w)| (m, w)).collect()),
        None => (true, Vec::new()),
    };
    let set = ParameterSet(&rows);
    let (split, notes) = value_and_split(&s, &moves, &acts, &cov, &agreements, &lines, &set, est.currency, today, true).map_err(|e| Error::invalid("valuation", e.message_fr()))?;
    crate::patients::audit_view(db, actor, &file, "view_valuation", serde_json::json!({ "sejour": stay_id })).await?;
    Ok(StayValuation { stay: s, patient: file.patient().clone(), debtor, until: today, split, notes, ready, not_ready_because })
}
