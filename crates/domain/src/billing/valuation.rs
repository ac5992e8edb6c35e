//! Valuation of a stay's days: the forfait journalier and the daily tariff, each charge priced
//! by the tariff line valid on each of its days and explained in French. (The split between
//! payers, the private room, movements and acts come next.)

use jiff::civil::Date;

use super::days::{DayRules, FjDays, StayTimes, fj_days, midnight_days, run_text};
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
}

impl ValuationError {
    pub fn message_fr(&self) -> String {
        match self {
            ValuationError::Missing(m) => m.message_fr(),
            ValuationError::NoTariff { code, day } => format!("Aucun tarif « {code} » en vigueur le {} pour ce séjour.", crate::fr::format_date_fr(*day)),
            ValuationError::Money(e) => format!("Montant hors limites : {e}"),
        }
    }
}

impl From<Missing> for ValuationError {
    fn from(m: Missing) -> Self {
        ValuationError::Missing(m)
    }
}

/// The charges of `code` for `days`: one per tariff line met (a price change inside the stay
/// gives two charges), in date order.
fn priced(
    days: &[Date],
    code: &str,
    site_id: Option<i64>,
    service: &str,
    tariffs: &[TariffLine],
    rule: &'static str,
    explain: &dyn Fn(&TariffLine, &[Date]) -> String,
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
            _ => runs.push((line, vec![*d])),
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
            explanation: explain(line, &v),
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
    service: &str,
    fj_code: &str,
    tariffs: &[TariffLine],
    params: &ParameterSet<'_>,
    until: Date,
) -> Result<(Vec<Charge>, Vec<String>), ValuationError> {
    let rules = DayRules::on(params, stay.admission.date())?;
    let FjDays { days, left_out, none_because, exit_day_included } = fj_days(stay, &rules, until);
    let mut notes: Vec<String> = left_out.iter().map(|l| format!("Forfait journalier non facturé le {} : {}.", crate::fr::format_date_fr(l.day), l.reason)).collect();
    if let Some(why) = none_because {
        notes.push(format!("Pas de forfait journalier : {why}."));
    }
    let last_day = days.last().copied();
    let explain = |l: &TariffLine, v: &[Date]| {
        let exit = if exit_day_included && v.last().copied() == last_day && stay.discharge.is_some() { ", jour de sortie inclus" } else { "" };
        format!("{} {} × {}, {}{exit} (art. L174-4 CSS)", l.label, l.price.format_fr(), days_word(v.len()), run_text(v))
    };
    let charges = priced(&days, fj_code, site_id, service, tariffs, "forfait_journalier", &explain)?;
    Ok((charges, notes))
}

/// The daily tariff (TJP, code `tjp_code`) of a stay: its days of presence at midnight.
pub fn value_tjp(stay: &StayTimes, site_id: Option<i64>, service: &str, tjp_code: &str, tariffs: &[TariffLine], until: Date) -> Result<Vec<Charge>, ValuationError> {
    let days = midnight_days(stay, until);
    let explain = |l: &TariffLine, v: &[Date]| {
        format!("{} {} × {} de présence à minuit, {} (art. L162-20-1 CSS ; le jour de sortie ne compte pas)", l.label, l.price.format_fr(), days_word(v.len()), run_text(v))
    };
    priced(&days, tjp_code, site_id, service, tariffs, "tarif_journalier", &explain)
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
        let (charges, notes) = value_fj(&stay, None, "", "FJ", &tariffs, &ParameterSet(&rows), date(2026, 12, 1)).unwrap();
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
        let (charges, notes) = value_fj(&stay, None, "", "FJ", &tariffs, &ParameterSet(&rows), date(2026, 12, 1)).unwrap();
        assert_eq!(charges[0].days.len(), 4);
        assert_eq!(notes, vec!["Forfait journalier non facturé le 16/03/2026 : jour de sortie non facturé : décès (arrêté du 19 février 2009)."]);
        assert!(!charges[0].explanation.contains("jour de sortie inclus"));
    }

    #[test]
    fn a_missing_tariff_or_parameter_is_said_in_french() {
        let rows = params();
        let stay = StayTimes { admission: datetime(2017, 12, 30, 10, 0, 0, 0), discharge: Some(datetime(2018, 1, 2, 10, 0, 0, 0)), discharge_mode: None, care_mode: CareMode::HospitalisationComplete };
        let e = value_fj(&stay, None, "", "FJ", &[fj(1, 20, date(2018, 1, 1), None)], &ParameterSet(&rows), date(2026, 1, 1)).unwrap_err();
        assert_eq!(e.message_fr(), "Aucun tarif « FJ » en vigueur le 30/12/2017 pour ce séjour.");
        let e = value_fj(&stay, None, "", "FJ", &[], &ParameterSet(&[]), date(2026, 1, 1)).unwrap_err();
        assert!(e.message_fr().starts_with("Paramètre de facturation absent le 30/12/2017"), "{}", e.message_fr());
    }

    #[test]
    fn the_daily_tariff_counts_nights() {
        let mut tjp = fj(7, 1200, date(2026, 1, 1), None);
        tjp.code = "TJP".into();
        tjp.label = "Tarif journalier de prestations".into();
        tjp.category = TariffCategory::Tjp;
        let stay = StayTimes { admission: datetime(2026, 3, 2, 9, 0, 0, 0), discharge: Some(datetime(2026, 3, 7, 11, 0, 0, 0)), discharge_mode: None, care_mode: CareMode::HospitalisationComplete };
        let c = value_tjp(&stay, None, "", "TJP", &[tjp], date(2026, 12, 1)).unwrap();
        assert_eq!((c[0].days.len(), c[0].amount.minor), (5, 600_000), "domain-rules-2 §1.5: base 5 × 1 200 €");
    }
}
