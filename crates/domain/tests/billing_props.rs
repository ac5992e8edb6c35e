//! Property tests for `quittance_domain::billing`: versions added by `plan_version` never
//! overlap and each day has at most one version of a key; the tariff lookup answers with the
//! most specific line valid on the day; no parser panics on any input.

mod common;

use common::{ext_date, wild_string};
use jiff::civil::{Date, date};
use proptest::prelude::*;
use quittance_domain::billing::input::{ParameterInput, TariffInput, parse_parameter, parse_tariff};
use quittance_domain::billing::parameters::{Kind, Value};
use quittance_domain::billing::tariffs::{self, Coefficient, TariffCategory, TariffLine, Unit};
use quittance_domain::billing::{Period, plan_version};
use quittance_domain::money::{Currency, Money};

/// Applies a plan as the store does: close the open version the day before, add the new one.
fn add(versions: &mut Vec<(i64, Period)>, new: Period) -> bool {
    match plan_version(versions, new) {
        Ok(plan) => {
            if let Some((id, to)) = plan.close {
                let v = versions.iter_mut().find(|(i, _)| *i == id).expect("the closed version exists");
                v.1.to = Some(to);
            }
            let id = versions.len() as i64 + 1;
            versions.push((id, new));
            true
        }
        Err(_) => false,
    }
}

fn day_in_2026(n: u16) -> Date {
    date(2026, 1, 1).checked_add(jiff::Span::new().days(i64::from(n % 700))).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn versions_never_overlap(starts in prop::collection::vec((0u16..700, prop::option::of(0u16..200)), 0..12), probe in 0u16..700) {
        let mut versions = Vec::new();
        for (s, len) in starts {
            let from = day_in_2026(s);
            let to = len.map(|l| from.checked_add(jiff::Span::new().days(i64::from(l))).unwrap());
            add(&mut versions, Period { from, to });
        }
        for (i, (_, a)) in versions.iter().enumerate() {
            for (_, b) in &versions[i + 1..] {
                prop_assert!(!a.overlaps(b), "{a:?} overlaps {b:?}");
            }
        }
        let day = day_in_2026(probe);
        prop_assert!(versions.iter().filter(|(_, p)| p.contains(day)).count() <= 1);
    }

    #[test]
    fn a_later_version_never_changes_an_earlier_day(first in 0u16..300, gap in 1u16..300, probe in 0u16..700) {
        // The price of a day before the new version's start is the one it had.
        let mut versions = vec![(1, Period { from: day_in_2026(first), to: None })];
        let new_from = day_in_2026(first + gap);
        let added = add(&mut versions, Period { from: new_from, to: None });
        prop_assert!(added, "a later version is accepted");
        let day = day_in_2026(probe);
        let holder = versions.iter().find(|(_, p)| p.contains(day)).map(|(id, _)| *id);
        if day < day_in_2026(first) {
            prop_assert_eq!(holder, None);
        } else if day < new_from {
            prop_assert_eq!(holder, Some(1));
        } else {
            prop_assert_eq!(holder, Some(2));
        }
    }

    #[test]
    fn the_lookup_answers_the_most_specific_valid_line(
        lines in prop::collection::vec((prop::option::of(1i64..4), prop::sample::select(vec!["", "MED", "CHIR"]), 0u16..400, prop::option::of(0u16..300)), 0..10),
        site in prop::option::of(1i64..4),
        service in prop::sample::select(vec!["", "MED", "CHIR"]),
        probe in 0u16..700,
    ) {
        let day = day_in_2026(probe);
        let lines: Vec<TariffLine> = lines
            .into_iter()
            .enumerate()
            .map(|(i, (s, serv, from, len))| {
                let from = day_in_2026(from);
                TariffLine {
                    id: i as i64,
                    code: "CP".into(),
                    label: "Chambre".into(),
                    category: TariffCategory::ChambreParticuliere,
                    unit: Unit::Jour,
                    price: Money::new(i as i64 * 100, Currency::Eur),
                    coefficient: None,
                    site_id: s,
                    service: serv.into(),
                    period: Period { from, to: len.map(|l| from.checked_add(jiff::Span::new().days(i64::from(l))).unwrap()) },
                    source: String::new(),
                }
            })
            .collect();
        let found = tariffs::find(&lines, "CP", site, service, day);
        let best = lines.iter().filter(|l| l.period.contains(day)).filter_map(|l| l.specificity(site, service)).max();
        prop_assert_eq!(found.and_then(|l| l.specificity(site, service)), best);
        if let Some(l) = found {
            prop_assert!(l.period.contains(day));
        }
    }

    #[test]
    fn parsers_never_panic(a in wild_string(), b in wild_string(), c in wild_string(), d in wild_string(), e in wild_string(), xpf in any::<bool>()) {
        let currency = if xpf { Currency::Xpf } else { Currency::Eur };
        let _ = parse_tariff(&TariffInput { code: a.clone(), label: b.clone(), category: c.clone(), unit: d.clone(), price: e.clone(), coefficient: a.clone(), site_id: b.clone(), service: c.clone(), valid_from: d.clone(), valid_to: e.clone(), source: a.clone() }, currency);
        let _ = parse_parameter(&ParameterInput { key: a.clone(), subject: b.clone(), value: c.clone(), valid_from: d.clone(), valid_to: e.clone(), source: a.clone() }, currency);
        for k in [Kind::Amount, Kind::Rate, Kind::Count, Kind::Flag, Kind::CareModes, Kind::Effects] {
            if let Ok(v) = Value::parse_fr(k, &a, currency) {
                prop_assert_eq!(Value::from_storage(k, &v.to_storage(), currency), Ok(v.clone()));
                let _ = v.format_fr();
            }
            let _ = Value::from_storage(k, &b, currency);
        }
        if let Ok(co) = Coefficient::parse_fr(&a) {
            prop_assert_eq!(Coefficient::parse_fr(&co.format_fr()), Ok(co));
        }
    }

    #[test]
    fn plans_at_the_calendar_limits_do_not_panic(a in ext_date(), b in prop::option::of(ext_date()), c in ext_date()) {
        let _ = plan_version(&[(1, Period { from: a, to: b })], Period { from: c, to: None });
        let _ = plan_version(&[], Period { from: c, to: b });
    }
}

mod valuation_props {
    use super::*;
    use jiff::civil::DateTime;
    use quittance_domain::billing::days::{DayRules, StayTimes, fj_days, midnight_days};
    use quittance_domain::billing::parameters::{Parameter, ParameterKey, ParameterSet};
    use quittance_domain::billing::valuation::value_fj;
    use quittance_domain::care::stay::{CareMode, DischargeMode};

    fn fj(id: i64, cents: i64, from: Date, to: Option<Date>) -> TariffLine {
        TariffLine {
            id,
            code: "FJ".into(),
            label: "Forfait journalier".into(),
            category: TariffCategory::ForfaitJournalier,
            unit: Unit::Jour,
            price: Money::new(cents, Currency::Eur),
            coefficient: None,
            site_id: None,
            service: String::new(),
            period: Period { from, to },
            source: String::new(),
        }
    }

    fn params(death: bool, transfer: bool, short: bool) -> Vec<Parameter> {
        let p = |id, key, value| Parameter { id, key, subject: None, value, period: Period { from: date(2000, 1, 1), to: None }, source: String::new() };
        vec![
            p(1, ParameterKey::ModesFj, Value::CareModes(vec![CareMode::HospitalisationComplete])),
            p(2, ParameterKey::SortieDecesFacturee, Value::Flag(death)),
            p(3, ParameterKey::SortieTransfertFacturee, Value::Flag(transfer)),
            p(4, ParameterKey::FjMoins24h, Value::Flag(short)),
        ]
    }

    fn stay() -> impl Strategy<Value = StayTimes> {
        (0u16..600, 0i64..1440, prop::option::of((0i64..60 * 24 * 40, prop::sample::select(DischargeMode::ALL.to_vec()))), prop::sample::select(CareMode::ALL.to_vec())).prop_map(
            |(d, minute, out, care)| {
                let admission: DateTime = day_in_2026(d).at(0, 0, 0, 0).checked_add(jiff::Span::new().minutes(minute)).unwrap();
                let (discharge, discharge_mode) = match out {
                    Some((m, mode)) => (Some(admission.checked_add(jiff::Span::new().minutes(m)).unwrap()), Some(mode)),
                    None => (None, None),
                };
                StayTimes { admission, discharge, discharge_mode, care_mode: care }
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_day_is_counted_once_and_inside_the_stay(s in stay(), death in any::<bool>(), transfer in any::<bool>(), short in any::<bool>(), until in 0u16..700) {
            let rows = params(death, transfer, short);
            let set = ParameterSet(&rows);
            let until = day_in_2026(until);
            let rules = DayRules::on(&set, s.admission.date()).unwrap();
            let f = fj_days(&s, &rules, until);
            let mut sorted = f.days.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&sorted, &f.days, "sorted, each once");
            let last = s.discharge.map_or(until, |d| d.date());
            prop_assert!(f.days.iter().all(|d| *d >= s.admission.date() && *d <= last));
            let nights = midnight_days(&s, until);
            prop_assert!(nights.len() <= f.days.len() + 1 || f.days.is_empty());
            // Priced by a tariff that changes inside the period: the charges cover exactly the days.
            let change = day_in_2026(300);
            let tariffs = [fj(1, 2000, date(2000, 1, 1), Some(change.yesterday().unwrap())), fj(2, 2300, change, None)];
            let (charges, _) = value_fj(&s, None, "FJ", &tariffs, &set, until).unwrap();
            let covered: Vec<Date> = charges.iter().flat_map(|c| c.days.clone()).collect();
            prop_assert_eq!(&covered, &f.days);
            for c in &charges {
                prop_assert_eq!(c.amount.minor, c.unit_price.minor * c.days.len() as i64);
                let expected = if c.days[0] < change { 2000 } else { 2300 };
                prop_assert_eq!(c.unit_price.minor, expected, "each day at the price valid that day");
            }
            // Deterministic.
            prop_assert_eq!(value_fj(&s, None, "FJ", &tariffs, &set, until).unwrap().0, charges);
        }
    }
}
