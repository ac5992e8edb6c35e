//! Valuation of a stay's days: the forfait journalier and the daily tariff, each charge priced
//! by the tariff line valid on each of its days and explained in French. (The split between
//! payers, the private room, movements and acts come next.)

use jiff::civil::Date;

use super::days::{DayRules, FjDays, LeftOut, StayTimes, fj_days, in_period, leave_days, midnight_days, run_text, span, transfer_on};
use crate::care::movement::{Movement, MovementKind};
use crate::care::stay::{CareMode, DischargeMode};
use crate::fr::format_date_fr;
use super::parameters::{Missing, ParameterSet};
use super::tariffs::{TariffCategory, TariffLine, find};
use crate::money::{Money, MoneyError};

/// One charge: a tariff line times the days it prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub tariff_id: i64,
    pub code: String,
    pub label: String,
    pub category: TariffCategory,
    /// The days it covers, sorted, each once.
    pub days: Vec<Date>,
    /// How many units it bills: its days for a daily charge, call units, acts.
    pub quantity: i64,
    pub unit_price: Money,
    pub amount: Money,
    /// The rule that produced it and its text.
    pub rule: &'static str,
    /// For people: « Forfait journalier 23,00 € × 4 jours, du 12/03/2026 au 15/03/2026, … ».
    pub explanation: String,
}

/// Why a stay cannot be valued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuationError {
    Missing(Missing),
    /// No line of `code` prices that day.
    NoTariff { code: String, day: Date },
    Money(MoneyError),
    /// A stored row could not be read.
    Integrity(String),
}

impl ValuationError {
    pub fn message_fr(&self) -> String {
        match self {
            ValuationError::Missing(m) => m.message_fr(),
            ValuationError::NoTariff { code, day } => format!("Aucun tarif « {code} » en vigueur le {} pour ce séjour.", crate::fr::format_date_fr(*day)),
            ValuationError::Money(e) => format!("Montant hors limites : {e}"),
            ValuationError::Integrity(e) => format!("Donnée illisible : {e}"),
        }
    }
}

impl From<Missing> for ValuationError {
    fn from(m: Missing) -> Self {
        ValuationError::Missing(m)
    }
}

/// Writes a charge's sentence from its tariff line and days.
type Explain<'a> = &'a dyn Fn(&TariffLine, &[Date]) -> String;

/// The charges of `code` for `days`: one per tariff line met (a price change inside the stay
/// gives two charges), in date order.
fn priced(
    days: &[Date],
    code: &str,
    site_id: Option<i64>,
    service: &str,
    tariffs: &[TariffLine],
    rule: &'static str,
    explain: Option<Explain<'_>>,
) -> Result<Vec<Charge>, ValuationError> {
    let mut out: Vec<Charge> = Vec::new();
    let mut runs: Vec<(&TariffLine, Vec<Date>)> = Vec::new();
    // The lines of this code that apply to the site and service, most specific (then latest) first:
    // the first one valid on a day is what `find` answers, without scanning every line each day.
    let mut cands: Vec<(u8, &TariffLine)> = tariffs.iter().filter(|l| l.code == code).filter_map(|l| l.specificity(site_id, service).map(|s| (s, l))).collect();
    cands.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.period.from.cmp(&a.1.period.from)));
    for d in days {
        let line = cands.iter().find(|(_, l)| l.period.contains(*d)).map(|(_, l)| *l).ok_or_else(|| ValuationError::NoTariff { code: code.into(), day: *d })?;
        debug_assert_eq!(Some(line.id), find(tariffs, code, site_id, service, *d).map(|l| l.id));
        match runs.last_mut() {
            Some((l, v)) if l.id == line.id => v.push(*d),
            _ => {
                let mut v = Vec::with_capacity(days.len());
                v.push(*d);
                runs.push((line, v));
            }
        }
    }
    for (line, v) in runs {
        let n = i64::try_from(v.len()).map_err(|_| ValuationError::Money(MoneyError::Overflow))?;
        let amount = line.price.checked_mul(n).map_err(ValuationError::Money)?;
        out.push(Charge {
            tariff_id: line.id,
            code: line.code.clone(),
            label: line.label.clone(),
            category: line.category,
            explanation: explain.map(|f| f(line, &v)).unwrap_or_default(),
            quantity: n,
            days: v,
            unit_price: line.price,
            amount,
            rule,
        });
    }
    Ok(out)
}

fn days_word(n: usize) -> String {
    if n == 1 { "1 jour".into() } else { format!("{n} jours") }
}

/// The forfait journalier of a stay (code `fj_code`, e.g. `FJ` or `FJPSY`) up to `until` for an
/// open stay, with the sentences saying why days were left out (or none billed at all).
pub fn value_fj(
    stay: &StayTimes,
    site_id: Option<i64>,
    fj_code: &str,
    tariffs: &[TariffLine],
    params: &ParameterSet<'_>,
    until: Date,
) -> Result<(Vec<Charge>, Vec<String>), ValuationError> {
    let rules = DayRules::on(params, stay.admission.date())?;
    priced_fj(stay, site_id.unwrap_or_default(), fj_code, tariffs, fj_days(stay, &rules, until), true)
}

/// Prices the days of the forfait journalier and writes the sentences on the days left out.
fn priced_fj(stay: &StayTimes, site_id: i64, fj_code: &str, tariffs: &[TariffLine], f: FjDays, explaining: bool) -> Result<(Vec<Charge>, Vec<String>), ValuationError> {
    let FjDays { days, left_out, none_because, exit_day_included } = f;
    let mut notes: Vec<String> = left_out.iter().map(|l| format!("Forfait journalier non facturé le {} : {}.", format_date_fr(l.day), l.reason)).collect();
    if let Some(why) = none_because {
        notes.push(format!("Pas de forfait journalier : {why}."));
    }
    let last_day = stay.discharge.map(|d| d.date());
    let explain = |l: &TariffLine, v: &[Date]| {
        let exit = if exit_day_included && v.last().copied() == last_day { ", jour de sortie inclus" } else { "" };
        format!("{} {} × {}, {}{exit} (art. L174-4 CSS)", l.label, l.price.format_fr(), days_word(v.len()), run_text(v))
    };
    let charges = priced(&days, fj_code, Some(site_id), "", tariffs, "forfait_journalier", explaining.then_some(&explain as Explain<'_>))?;
    Ok((charges, notes))
}

/// The daily tariff (TJP, code `tjp_code`) of a stay's days of presence at midnight `days`
/// (from [`midnight_days`], less the nights on leave).
pub fn value_tjp(site_id: Option<i64>, service: &str, tjp_code: &str, tariffs: &[TariffLine], days: &[Date], explaining: bool) -> Result<Vec<Charge>, ValuationError> {
    let explain = |l: &TariffLine, v: &[Date]| {
        format!("{} {} × {} de présence à minuit, {} (art. L162-20-1 CSS ; le jour de sortie ne compte pas)", l.label, l.price.format_fr(), days_word(v.len()), run_text(v))
    };
    priced(days, tjp_code, site_id, service, tariffs, "tarif_journalier", explaining.then_some(&explain as Explain<'_>))
}

/// The code of the line of `category` that applies on `site` and `service` on `day`: the most
/// specific valid line (a discipline's daily tariff or a service's private room is priced per
/// site or service); none when no line applies.
pub fn category_code(lines: &[TariffLine], category: TariffCategory, site_id: i64, service: &str, day: Date) -> Option<String> {
    lines
        .iter()
        .filter(|l| l.category == category && l.period.contains(day))
        .filter_map(|l| l.specificity(Some(site_id), service).map(|sp| (sp, l)))
        .max_by_key(|(sp, l)| (*sp, l.period.from))
        .map(|(_, l)| l.code.clone())
}

/// The code of the establishment's forfait for a care mode: in psychiatry the psychiatric FJ
/// (art. R174-5-1 CSS) when it has one; else the general FJ, or the New Caledonian forfait
/// d'hébergement.
pub fn fj_code(lines: &[TariffLine], care_mode: CareMode) -> Option<String> {
    let psy = [TariffCategory::ForfaitJournalierPsy, TariffCategory::ForfaitJournalier, TariffCategory::ForfaitNc];
    let general = [TariffCategory::ForfaitJournalier, TariffCategory::ForfaitNc];
    let order: &[TariffCategory] = if care_mode == CareMode::Psychiatrie { &psy } else { &general };
    order.iter().find_map(|c| lines.iter().find(|l| l.category == *c).map(|l| l.code.clone()))
}

/// A stay as the valuation reads it: its times, its site and its movements (any order).
#[derive(Debug, Clone)]
pub struct StayActivity<'a> {
    pub times: StayTimes,
    pub site_id: i64,
    pub movements: &'a [Movement],
    /// Write the French sentences (a preview, an invoice); `false` for a pass that only needs
    /// the amounts, days and shares (a billing run's totals): the same charges, without text.
    pub explain: bool,
}

/// The charges of a stay and the sentences on what is not billed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Valued {
    pub charges: Vec<Charge>,
    pub notes: Vec<String>,
}

/// Runs of consecutive days (in the given order) that share a key.
fn runs_by<K: PartialEq>(days: &[Date], key: impl Fn(Date) -> K) -> Vec<(K, Vec<Date>)> {
    let mut out: Vec<(K, Vec<Date>)> = Vec::new();
    for d in days {
        let k = key(*d);
        match out.last_mut() {
            Some((last, v)) if *last == k => v.push(*d),
            _ => out.push((k, vec![*d])),
        }
    }
    out
}

fn leave_note(what: &str, days: &[Date]) -> Option<String> {
    (!days.is_empty()).then(|| format!("{what} non facturé {} : permission de sortie (art. R1112-56 CSP).", run_text(days)))
}

/// Values a stay as of `until` (the day its open part is valued to): the forfait journalier,
/// the daily tariff (the base of the ticket modérateur) per service, and the private room.
/// Deterministic: the movements are read in their date order whatever order they come in.
pub fn value_stay(a: &StayActivity<'_>, tariffs: &[TariffLine], params: &ParameterSet<'_>, until: Date) -> Result<Valued, ValuationError> {
    let mut moves: Vec<Movement> = a.movements.to_vec();
    moves.sort_by_key(|m| (m.start, m.id));
    let leave = leave_days(&moves);
    let on_leave = |d: &Date| leave.binary_search(d).is_ok();
    let mut out = Valued::default();
    // The switchable day rules valid on the admission day, read once for the stay.
    let rules = DayRules::on(params, a.times.admission.date())?;

    // Forfait journalier: its day rules, less the days of leave.
    match fj_code(tariffs, a.times.care_mode) {
        Some(code) => {
            let (mut charges, notes) = value_fj_except(&a.times, a.site_id, &code, tariffs, &rules, until, &leave, a.explain)?;
            out.charges.append(&mut charges);
            out.notes.extend(notes);
        }
        None => out.notes.push("Pas de forfait journalier : l'établissement n'en a pas de tarif.".into()),
    }

    // Daily tariff per service: nights of presence, less the nights on leave.
    let (nights, left): (Vec<Date>, Vec<Date>) = midnight_days(&a.times, until).into_iter().partition(|d| !on_leave(d));
    let mut missing_tjp = false;
    for (t, days) in runs_by(&nights, |d| transfer_on(&moves, d)) {
        let service = t.map(|i| moves[i].service.as_str()).unwrap_or("");
        match category_code(tariffs, TariffCategory::Tjp, a.site_id, service, days[0]) {
            Some(code) => out.charges.extend(value_tjp(Some(a.site_id), service, &code, tariffs, &days, a.explain)?),
            None => missing_tjp = true,
        }
    }
    out.notes.extend(leave_note("Tarif journalier", &left));
    if missing_tjp {
        out.notes.push("Pas de tarif journalier de prestations pour ce site ou ce service : la base du ticket modérateur n'est pas valorisée.".into());
    }

    // Private room.
    value_private_room(a, &moves, &leave, tariffs, &rules, until, &mut out)?;
    Ok(out)
}

/// The forfait journalier less the days of leave.
#[allow(clippy::too_many_arguments)]
fn value_fj_except(
    stay: &StayTimes,
    site_id: i64,
    code: &str,
    tariffs: &[TariffLine],
    rules: &DayRules,
    until: Date,
    leave: &[Date],
    explaining: bool,
) -> Result<(Vec<Charge>, Vec<String>), ValuationError> {
    let mut f = fj_days(stay, rules, until);
    let (kept, gone): (Vec<Date>, Vec<Date>) = f.days.iter().partition(|d| leave.binary_search(d).is_err());
    f.days = kept;
    f.left_out.extend(gone.iter().map(|d| LeftOut { day: *d, reason: "permission de sortie (art. R1112-56 CSP)".into() }));
    f.left_out.sort_by_key(|l| l.day);
    priced_fj(stay, site_id, code, tariffs, f, explaining)
}

/// Days of a private room billed, the days left out and why.
#[allow(clippy::too_many_arguments)]
fn value_private_room(
    a: &StayActivity<'_>,
    moves: &[Movement],
    leave: &[Date],
    tariffs: &[TariffLine],
    rules: &DayRules,
    until: Date,
    out: &mut Valued,
) -> Result<(), ValuationError> {
    if !moves.iter().any(|m| matches!(m.kind, MovementKind::ChambreParticuliere | MovementKind::ChambreMedicale)) {
        return Ok(());
    }
    let first = a.times.admission.date();
    let last = a.times.discharge.map(|d| d.date()).unwrap_or(until);
    // R162-27 CSS: each day including the exit day, except the exit day on death or transfer.
    let exit_out = match a.times.discharge_mode {
        Some(DischargeMode::Deces) if a.times.discharge.is_some() && !rules.exit_billed_on_death => Some("décès"),
        Some(DischargeMode::Transfert) if a.times.discharge.is_some() && !rules.exit_billed_on_transfer => Some("transfert vers un autre établissement"),
        _ => None,
    };
    let mut days: Vec<Date> = Vec::new();
    let mut left: Vec<(Date, String)> = Vec::new();
    for m in moves.iter().filter(|m| matches!(m.kind, MovementKind::ChambreParticuliere | MovementKind::ChambreMedicale)) {
        let end = m.end.map(|e| e.date()).unwrap_or(last).min(last);
        let period = span(m.start.date().max(first), end);
        if m.kind == MovementKind::ChambreMedicale {
            if !period.is_empty() {
                out.notes.push(format!("Chambre seule pour raison médicale {} : non facturée, régime commun (art. R1112-19 CSP).", run_text(&period)));
            }
            continue;
        }
        if !m.written_request {
            if !period.is_empty() {
                out.notes.push(format!("Chambre particulière {} non facturée : pas de demande écrite du patient (art. R162-27 CSS).", run_text(&period)));
            }
            continue;
        }
        for d in period {
            if let Some(c) = moves.iter().find(|c| c.kind.is_critical_care() && in_period(c, d, until)) {
                left.push((d, format!("{} (art. R162-27 CSS)", c.kind.label().to_lowercase())));
            } else if leave.binary_search(&d).is_ok() {
                left.push((d, "permission de sortie (art. R1112-56 CSP)".into()));
            } else if d == last && exit_out.is_some() {
                left.push((d, format!("jour de sortie, {} (art. R162-27 CSS)", exit_out.unwrap_or_default())));
            } else {
                days.push(d);
            }
        }
    }
    days.sort();
    days.dedup();
    left.sort();
    left.dedup_by(|x, y| x.0 == y.0);
    for (d, why) in &left {
        out.notes.push(format!("Chambre particulière non facturée le {} : {why}.", format_date_fr(*d)));
    }
    for (t, run) in runs_by(&days, |d| transfer_on(moves, d)) {
        let service = t.map(|i| moves[i].service.as_str()).unwrap_or("");
        let code = category_code(tariffs, TariffCategory::ChambreParticuliere, a.site_id, service, run[0])
            .ok_or_else(|| ValuationError::NoTariff { code: "chambre particulière".into(), day: run[0] })?;
        let explain = |l: &TariffLine, v: &[Date]| {
            let exit = if a.times.discharge.is_some() && v.last() == Some(&last) { ", jour de sortie inclus" } else { "" };
            format!("{} {} × {}, {}{exit}, à la demande écrite du patient (art. R162-27 CSS)", l.label, l.price.format_fr(), days_word(v.len()), run_text(v))
        };
        out.charges.extend(priced(&run, &code, Some(a.site_id), service, tariffs, "chambre_particuliere", a.explain.then_some(&explain as Explain<'_>))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::Period;
    use crate::billing::parameters::{Parameter, ParameterKey, Value};
    use crate::billing::tariffs::Unit;
    use crate::care::stay::{CareMode, DischargeMode};
    use crate::money::{BasisPoints, Currency};
    use jiff::civil::{date, datetime};

    fn fj(id: i64, euros: i64, from: Date, to: Option<Date>) -> TariffLine {
        TariffLine {
            id,
            code: "FJ".into(),
            label: "Forfait journalier".into(),
            category: TariffCategory::ForfaitJournalier,
            unit: Unit::Jour,
            price: Money::new(euros * 100, Currency::Eur),
            coefficient: None,
            site_id: None,
            service: String::new(),
            period: Period { from, to },
            source: "test".into(),
        }
    }

    fn params() -> Vec<Parameter> {
        let p = |id, key, value| Parameter { id, key, subject: None, value, period: Period { from: date(2000, 1, 1), to: None }, source: "test".into() };
        vec![
            p(1, ParameterKey::ModesFj, Value::CareModes(vec![CareMode::HospitalisationComplete])),
            p(2, ParameterKey::SortieDecesFacturee, Value::Flag(false)),
            p(3, ParameterKey::SortieTransfertFacturee, Value::Flag(false)),
            p(4, ParameterKey::FjMoins24h, Value::Flag(true)),
            p(5, ParameterKey::TauxTm, Value::Rate(BasisPoints(2000))),
        ]
    }

    #[test]
    fn a_price_change_inside_a_stay_gives_two_charges() {
        let tariffs = [fj(1, 20, date(2018, 1, 1), Some(date(2026, 2, 28))), fj(2, 23, date(2026, 3, 1), None)];
        let rows = params();
        let stay = StayTimes {
            admission: datetime(2026, 2, 26, 10, 0, 0, 0),
            discharge: Some(datetime(2026, 3, 2, 14, 0, 0, 0)),
            discharge_mode: Some(DischargeMode::Domicile),
            care_mode: CareMode::HospitalisationComplete,
        };
        let (charges, notes) = value_fj(&stay, None, "FJ", &tariffs, &ParameterSet(&rows), date(2026, 12, 1)).unwrap();
        assert!(notes.is_empty());
        assert_eq!(charges.len(), 2);
        assert_eq!((charges[0].days.len(), charges[0].amount.minor), (3, 6000));
        assert_eq!((charges[1].days.len(), charges[1].amount.minor), (2, 4600));
        assert_eq!(charges[0].explanation, "Forfait journalier 20,00\u{a0}€ × 3 jours, du 26/02/2026 au 28/02/2026 (art. L174-4 CSS)");
        assert_eq!(charges[1].explanation, "Forfait journalier 23,00\u{a0}€ × 2 jours, du 01/03/2026 au 02/03/2026, jour de sortie inclus (art. L174-4 CSS)");
    }

    #[test]
    fn a_death_leaves_the_exit_day_out_and_says_why() {
        let tariffs = [fj(2, 23, date(2026, 3, 1), None)];
        let rows = params();
        let stay = StayTimes {
            admission: datetime(2026, 3, 12, 10, 0, 0, 0),
            discharge: Some(datetime(2026, 3, 16, 4, 0, 0, 0)),
            discharge_mode: Some(DischargeMode::Deces),
            care_mode: CareMode::HospitalisationComplete,
        };
        let (charges, notes) = value_fj(&stay, None, "FJ", &tariffs, &ParameterSet(&rows), date(2026, 12, 1)).unwrap();
        assert_eq!(charges[0].days.len(), 4);
        assert_eq!(notes, vec!["Forfait journalier non facturé le 16/03/2026 : jour de sortie non facturé : décès (arrêté du 19 février 2009)."]);
        assert!(!charges[0].explanation.contains("jour de sortie inclus"));
    }

    #[test]
    fn a_missing_tariff_or_parameter_is_said_in_french() {
        let rows = params();
        let stay = StayTimes { admission: datetime(2017, 12, 30, 10, 0, 0, 0), discharge: Some(datetime(2018, 1, 2, 10, 0, 0, 0)), discharge_mode: None, care_mode: CareMode::HospitalisationComplete };
        let e = value_fj(&stay, None, "FJ", &[fj(1, 20, date(2018, 1, 1), None)], &ParameterSet(&rows), date(2026, 1, 1)).unwrap_err();
        assert_eq!(e.message_fr(), "Aucun tarif « FJ » en vigueur le 30/12/2017 pour ce séjour.");
        let e = value_fj(&stay, None, "FJ", &[], &ParameterSet(&[]), date(2026, 1, 1)).unwrap_err();
        assert!(e.message_fr().starts_with("Paramètre de facturation absent le 30/12/2017"), "{}", e.message_fr());
    }

    #[test]
    fn the_daily_tariff_counts_nights() {
        let mut tjp = fj(7, 1200, date(2026, 1, 1), None);
        tjp.code = "TJP".into();
        tjp.label = "Tarif journalier de prestations".into();
        tjp.category = TariffCategory::Tjp;
        let stay = StayTimes { admission: datetime(2026, 3, 2, 9, 0, 0, 0), discharge: Some(datetime(2026, 3, 7, 11, 0, 0, 0)), discharge_mode: None, care_mode: CareMode::HospitalisationComplete };
        let c = value_tjp(None, "", "TJP", &[tjp], &midnight_days(&stay, date(2026, 12, 1)), true).unwrap();
        assert_eq!((c[0].days.len(), c[0].amount.minor), (5, 600_000), "domain-rules-2 §1.5: base 5 × 1 200 €");
    }
}
