//! What a stay would bill today: its forfait journalier and daily-tariff charges, valued by
//! the establishment's dated tariffs and parameters (`quittance_domain::billing::valuation`).
//! Reading a valuation is a view of the patient's file: it is audited.

use jiff::civil::{Date, DateTime};
use quittance_domain::billing::days::StayTimes;
use quittance_domain::billing::parameters::{Parameter, ParameterSet};
use quittance_domain::billing::tariffs::{TariffCategory, TariffLine};
use quittance_domain::billing::valuation::{Charge, value_fj, value_tjp};

use super::{parameters, tariffs};
use crate::actor::Actor;
use crate::care::stays;
use crate::db::Db;
use crate::error::Error;

/// A stay's valuation.
#[derive(Debug, Clone)]
pub struct StayValuation {
    pub stay: stays::Stay,
    /// The stay's patient (the page names them).
    pub patient: crate::patients::Patient,
    /// The day the open part of a stay is valued to.
    pub until: Date,
    pub charges: Vec<Charge>,
    /// Days or charges not billed, and why.
    pub notes: Vec<String>,
}

fn local(s: &str) -> Result<DateTime, Error> {
    s.parse::<DateTime>().map_err(|e| Error::Integrity(format!("date et heure de séjour illisibles « {s} » : {e}")))
}

/// The code of the daily tariff (category `tjp`) that applies to a stay on `site`: of the lines
/// valid on the admission day, the most specific (a discipline's TJP is priced per site or
/// service); none when no line applies.
fn tjp_code(lines: &[TariffLine], site_id: i64, day: Date) -> Option<String> {
    lines
        .iter()
        .filter(|l| l.category == TariffCategory::Tjp && l.period.contains(day))
        .filter_map(|l| l.specificity(Some(site_id), "").map(|sp| (sp, l)))
        .max_by_key(|(sp, l)| (*sp, l.period.from))
        .map(|(_, l)| l.code.clone())
}

/// The code of the establishment's forfait for a care mode: in psychiatry the psychiatric FJ
/// (art. R174-5-1 CSS) when it has one; else the general FJ, or the New Caledonian forfait
/// d'hébergement.
fn fj_code(lines: &[TariffLine], care_mode: quittance_domain::care::stay::CareMode) -> Option<String> {
    let psy = [TariffCategory::ForfaitJournalierPsy, TariffCategory::ForfaitJournalier, TariffCategory::ForfaitNc];
    let general = [TariffCategory::ForfaitJournalier, TariffCategory::ForfaitNc];
    let order: &[TariffCategory] = if care_mode == quittance_domain::care::stay::CareMode::Psychiatrie { &psy } else { &general };
    order.iter().find_map(|c| lines.iter().find(|l| l.category == *c).map(|l| l.code.clone()))
}

fn times(s: &stays::Stay) -> Result<StayTimes, Error> {
    Ok(StayTimes {
        admission: local(&s.admission_at)?,
        discharge: s.discharge_at.as_deref().map(local).transpose()?,
        discharge_mode: s.discharge_mode,
        care_mode: s.care_mode,
    })
}

/// What valuing many stays gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub stays: usize,
    /// Days of forfait journalier and of daily tariff counted.
    pub stay_days: usize,
    pub charges: usize,
    /// Sum of the charges, in minor units.
    pub amount_minor: i64,
    /// Stays that could not be valued (missing tariff or parameter).
    pub refused: usize,
}

/// Values every stay of an establishment as of `today`, from one read of its stays, tariffs and
/// parameters (what a billing run reads; `quittance bench valuation` times it). No audit row:
/// nothing of a patient leaves this function but totals.
pub async fn totals(db: &Db, establishment_id: i64, today: Date) -> Result<Totals, Error> {
    let mut tx = db.read().await?;
    let lines: Vec<TariffLine> = tariffs::all_in(&mut tx, establishment_id).await?.into_iter().map(|t| t.line).collect();
    let rows: Vec<Parameter> = parameters::all_in(&mut tx, establishment_id).await?.into_iter().map(|p| p.parameter).collect();
    let all: Vec<stays::Stay> = tx.all(&format!("SELECT {} FROM stays WHERE establishment_id = $1 ORDER BY id", stays::COLS), &crate::args![establishment_id]).await?;
    tx.rollback().await?;
    let set = ParameterSet(&rows);
    let mut t = Totals::default();
    for s in &all {
        t.stays += 1;
        let st = times(s)?;
        let mut charges = Vec::new();
        let ok = (|| {
            if let Some(code) = fj_code(&lines, s.care_mode) {
                charges.extend(value_fj(&st, Some(s.site_id), "", &code, &lines, &set, today)?.0);
            }
            if let Some(code) = tjp_code(&lines, s.site_id, st.admission.date()) {
                charges.extend(value_tjp(&st, Some(s.site_id), "", &code, &lines, today)?);
            }
            Ok::<(), quittance_domain::billing::valuation::ValuationError>(())
        })();
        if ok.is_err() {
            t.refused += 1;
            continue;
        }
        for c in &charges {
            t.stay_days += c.days.len();
            t.charges += 1;
            t.amount_minor = t.amount_minor.checked_add(c.amount.minor).ok_or_else(|| Error::Integrity("total des charges hors limites".into()))?;
        }
    }
    Ok(t)
}

/// Values a stay as of `today` (default: today in the establishment's time zone): each charge
/// with its days, price, amount and explanation, and the notes on what is not billed. The view
/// is audited (`view_valuation`).
pub async fn stay(db: &Db, actor: &Actor, stay_id: i64, today: Option<Date>) -> Result<StayValuation, Error> {
    // One access check and one view row (`view_valuation`), not those of `stays::get` besides.
    let mut tx = db.read().await?;
    let s: Option<stays::Stay> = tx.opt(&format!("SELECT {} FROM stays WHERE id = $1", stays::COLS), &crate::args![stay_id]).await?;
    tx.rollback().await?;
    let s = s.ok_or(Error::NotFound("Séjour"))?;
    let file = crate::patients::checked(db, actor, s.patient_id, "view_valuation").await?;
    let mut tx = db.read().await?;
    let today = match today {
        Some(d) => d,
        None => crate::patients::today_in(&crate::establishments::get_in(&mut tx, s.establishment_id).await?.timezone),
    };
    let lines: Vec<TariffLine> = tariffs::all_in(&mut tx, s.establishment_id).await?.into_iter().map(|t| t.line).collect();
    let rows: Vec<Parameter> = parameters::all_in(&mut tx, s.establishment_id).await?.into_iter().map(|p| p.parameter).collect();
    tx.rollback().await?;
    let times = times(&s)?;
    let set = ParameterSet(&rows);
    let mut charges = Vec::new();
    let mut notes = Vec::new();
    let invalid = |e: quittance_domain::billing::valuation::ValuationError| Error::invalid("valuation", e.message_fr());
    match fj_code(&lines, s.care_mode) {
        Some(code) => {
            let (c, n) = value_fj(&times, Some(s.site_id), "", &code, &lines, &set, today).map_err(invalid)?;
            charges.extend(c);
            notes.extend(n);
        }
        None => notes.push("Pas de forfait journalier : l'établissement n'en a pas de tarif.".into()),
    }
    if let Some(code) = tjp_code(&lines, s.site_id, times.admission.date()) {
        charges.extend(value_tjp(&times, Some(s.site_id), "", &code, &lines, today).map_err(invalid)?);
    } else {
        notes.push("Pas de tarif journalier de prestations pour ce site : la base du ticket modérateur n'est pas valorisée.".into());
    }
    crate::patients::audit_view(db, actor, &file, "view_valuation", serde_json::json!({ "sejour": stay_id })).await?;
    Ok(StayValuation { stay: s, patient: file.patient().clone(), until: today, charges, notes })
}
