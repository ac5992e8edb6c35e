//! Property tests of the valuation and the split (DOMAIN.md invariant 1 and the billing
//! issue's properties): the shares of every charge add up to it exactly; a charge never
//! counts a day twice, nor do two charges of one kind; the result does not depend on the order
//! the movements come in; a tariff version added later never changes an earlier day.

use jiff::civil::{Date, DateTime, date};
use proptest::prelude::*;
use quittance_domain::billing::Period;
use quittance_domain::billing::days::StayTimes;
use quittance_domain::billing::input::{ParameterInput, parse_parameter};
use quittance_domain::billing::parameters::{Parameter, ParameterSet};
use quittance_domain::billing::split::{Agreement, Cover, Split, SplitContext, split};
use quittance_domain::billing::tariffs::{TariffCategory, TariffLine};
use quittance_domain::billing::valuation::{StayActivity, Valued, value_stay};
use quittance_domain::care::coverage::{CoverageRole, Exemption};
use quittance_domain::care::movement::{Movement, MovementKind, StayAct};
use quittance_domain::care::stay::{CareMode, DischargeMode};
use quittance_domain::money::{BasisPoints, Currency, Money};
use quittance_domain::pec::Item;

fn params(file: &str, currency: Currency) -> Vec<Parameter> {
    file.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.splitn(6, ';').collect();
            let raw = ParameterInput { key: f[0].into(), subject: f[1].into(), value: f[2].into(), valid_from: f[3].into(), valid_to: f[4].into(), source: f[5].into() };
            let p = parse_parameter(&raw, currency).expect("territory row");
            Parameter { id: i as i64 + 1, key: p.key, subject: p.subject, value: p.value, period: p.period, source: p.source }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn line(id: i64, code: &str, category: TariffCategory, minor: i64, currency: Currency, from: Date, to: Option<Date>, service: &str) -> TariffLine {
    TariffLine {
        id,
        code: code.into(),
        label: code.into(),
        category,
        unit: category.default_unit(),
        price: Money::new(minor, currency),
        coefficient: None,
        site_id: None,
        service: service.into(),
        period: Period { from, to },
        source: "test".into(),
    }
}

fn tariffs(c: Currency, tjp: i64, fj: i64, cp: i64) -> Vec<TariffLine> {
    let a = date(2018, 1, 1);
    vec![
        line(1, "FJ", TariffCategory::ForfaitJournalier, fj, c, a, Some(date(2026, 2, 28)), ""),
        line(2, "FJ", TariffCategory::ForfaitJournalier, fj + 300, c, date(2026, 3, 1), None, ""),
        line(3, "FJPSY", TariffCategory::ForfaitJournalierPsy, fj / 2 + 1, c, a, None, ""),
        line(4, "TJP", TariffCategory::Tjp, tjp, c, a, None, ""),
        line(5, "TJP", TariffCategory::Tjp, tjp + 777, c, a, None, "B"),
        line(6, "CP", TariffCategory::ChambreParticuliere, cp, c, a, None, ""),
        line(7, "CP", TariffCategory::ChambreParticuliere, cp + 1000, c, a, None, "B"),
    ]
}

const KINDS: [MovementKind; 7] = [
    MovementKind::Transfert,
    MovementKind::Permission,
    MovementKind::ChambreParticuliere,
    MovementKind::ChambreMedicale,
    MovementKind::Reanimation,
    MovementKind::SoinsIntensifs,
    MovementKind::SurveillanceContinue,
];

fn at(d: Date, minutes: i64) -> DateTime {
    d.to_datetime(jiff::civil::Time::midnight()).checked_add(jiff::Span::new().minutes(minutes)).expect("in range")
}

#[derive(Debug, Clone)]
struct World {
    currency: Currency,
    times: StayTimes,
    moves: Vec<Movement>,
    acts: Vec<StayAct>,
    covers: Vec<Cover>,
    agreements: Vec<Agreement>,
    prices: (i64, i64, i64),
}

fn world() -> impl Strategy<Value = World> {
    (
        any::<bool>(),
        0i64..1200,                 // admission day offset from 2025-06-01
        0i64..24 * 60,              // admission minute
        proptest::option::of(0i64..70 * 24 * 60), // stay length in minutes (None: still open)
        0usize..5,                  // discharge mode
        0usize..4,                  // care mode
        proptest::collection::vec((0usize..7, 0i64..60 * 24 * 60, 1i64..6 * 24 * 60, any::<bool>()), 0..6),
        (1i64..400_000, 1i64..5_000, 1i64..20_000),
        proptest::collection::vec((0usize..3, 0u32..=100, proptest::option::of(0usize..11), 1i64..4), 0..4),
        proptest::option::of((1i64..10_000, 0i64..20)),
        any::<bool>(),
    )
        .prop_map(|(xpf, day, minute, len, dm, cm, mv, prices, covs, agreement, costly)| {
            let currency = if xpf { Currency::Xpf } else { Currency::Eur };
            let adm_day = date(2025, 6, 1).checked_add(jiff::Span::new().days(day)).expect("date");
            let admission = at(adm_day, minute);
            let discharge = len.map(|l| admission.checked_add(jiff::Span::new().minutes(l)).expect("date"));
            let modes = [DischargeMode::Domicile, DischargeMode::Deces, DischargeMode::Transfert, DischargeMode::Mutation, DischargeMode::ContreAvis];
            let cares = [CareMode::HospitalisationComplete, CareMode::Psychiatrie, CareMode::Ssr, CareMode::HospitalisationJour];
            let times = StayTimes { admission, discharge, discharge_mode: discharge.map(|_| modes[dm]), care_mode: cares[cm] };
            let moves = mv
                .into_iter()
                .enumerate()
                .map(|(i, (k, start, dur, flag))| {
                    let kind = KINDS[k];
                    let start = admission.checked_add(jiff::Span::new().minutes(start)).expect("date");
                    let dur = if kind == MovementKind::Permission { dur.min(48 * 60) } else { dur };
                    let end = if kind == MovementKind::Transfert { None } else { Some(start.checked_add(jiff::Span::new().minutes(dur)).expect("date")) };
                    Movement { id: i as i64 + 1, kind, start, end, service: if flag { "B".into() } else { String::new() }, unit: String::new(), written_request: flag || kind != MovementKind::ChambreParticuliere }
                })
                .collect();
            let exemptions = [Exemption::Ald, Exemption::Maternite, Exemption::AtMp, Exemption::C2s, Exemption::Ame, Exemption::LongueMaladie, Exemption::CarteA, Exemption::CarteB, Exemption::CarteM, Exemption::PensionMilitaire, Exemption::NouveauNe];
            let roles = [CoverageRole::Obligatoire, CoverageRole::Complementaire, CoverageRole::Aide];
            let covers = covs
                .into_iter()
                .enumerate()
                .map(|(i, (r, rate, ex, prio))| Cover {
                    coverage_id: i as i64 + 1,
                    payer_id: i as i64 + 10,
                    payer_name: format!("P{i}"),
                    role: roles[r],
                    from: adm_day.checked_add(jiff::Span::new().days(i as i64 * 3)).expect("date"),
                    to: None,
                    rates: [BasisPoints(rate * 100), BasisPoints(rate * 97), BasisPoints(rate * 100), BasisPoints(10_000 - rate * 100), BasisPoints(rate * 50)],
                    exemptions: ex.map(|e| vec![exemptions[e]]).unwrap_or_default(),
                    priority: prio,
                })
                .collect::<Vec<_>>();
            let agreements = agreement
                .map(|(cap, max)| Agreement { payer_id: 11, number: "A".into(), accepted: max != 0, items: vec![Item::ChambreParticuliere, Item::ForfaitJournalier], cap_per_day: Some(Money::new(cap, currency)), max_days: Some(max), from: None, to: None })
                .into_iter()
                .collect();
            let acts = if costly { vec![StayAct { id: 1, performed_on: adm_day, code: "X".into(), label: String::new(), amount: Money::new(1_000_000, currency), coefficient: None }] } else { vec![] };
            World { currency, times, moves, acts, covers, agreements, prices }
        })
}

fn value(w: &World, moves: &[Movement], t: &[TariffLine], p: &[Parameter]) -> Option<(Valued, Split)> {
    let set = ParameterSet(p);
    let v = value_stay(&StayActivity { times: w.times, site_id: 1, movements: moves, explain: true }, t, &set, date(2029, 1, 1)).ok()?;
    let ctx = SplitContext { admission: Some(w.times.admission.date()), covers: &w.covers, agreements: &w.agreements, acts: &w.acts, currency: w.currency, explain: true };
    let sp = split(v.charges.clone(), &ctx, &set).ok()?;
    Some((v, sp))
}

fn setup(w: &World) -> (Vec<TariffLine>, Vec<Parameter>) {
    let (tjp, fj, cp) = w.prices;
    let p = match w.currency {
        Currency::Eur => params(include_str!("../../store/data/territory/fr-parametres.csv"), Currency::Eur),
        Currency::Xpf => params(include_str!("../../store/data/territory/nc-parametres.csv"), Currency::Xpf),
    };
    (tariffs(w.currency, tjp, fj, cp), p)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn shares_sum_to_each_charge_and_days_count_once(w in world()) {
        let (t, p) = setup(&w);
        let Some((v, sp)) = value(&w, &w.moves, &t, &p) else { return Ok(()) };
        for l in &sp.lines {
            prop_assert_eq!(l.shares.iter().map(|s| s.amount.minor).sum::<i64>(), l.charge.amount.minor, "shares of {}", l.charge.code);
            prop_assert!(l.shares.iter().all(|s| s.amount.minor > 0), "no empty or negative share on a charge");
            prop_assert!(l.shares.iter().all(|s| !s.explanation.is_empty()));
            let mut d = l.charge.days.clone();
            d.dedup();
            prop_assert_eq!(d.len(), l.charge.days.len(), "a charge never counts a day twice");
        }
        for a in &sp.adjustments {
            prop_assert_eq!(a.shares.iter().map(|s| s.amount.minor).sum::<i64>(), a.amount.minor);
            prop_assert!(a.amount.minor < 0);
        }
        prop_assert_eq!(sp.totals().iter().map(|(_, m)| m.minor).sum::<i64>(), sp.total().minor);
        for cat in [TariffCategory::ForfaitJournalier, TariffCategory::ForfaitJournalierPsy, TariffCategory::Tjp, TariffCategory::ChambreParticuliere] {
            let mut days: Vec<Date> = v.charges.iter().filter(|c| c.category == cat).flat_map(|c| c.days.clone()).collect();
            let n = days.len();
            days.sort();
            days.dedup();
            prop_assert_eq!(days.len(), n, "two charges of {:?} on one day", cat);
        }
    }

    #[test]
    fn the_order_of_movements_does_not_matter(w in world(), seed in any::<u64>()) {
        let (t, p) = setup(&w);
        let mut shuffled = w.moves.clone();
        // A deterministic shuffle from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        let a = value(&w, &w.moves, &t, &p);
        let b = value(&w, &shuffled, &t, &p);
        prop_assert_eq!(a, b.clone());
        prop_assert_eq!(b, value(&w, &shuffled, &t, &p), "deterministic");
    }

    #[test]
    fn a_later_tariff_never_changes_an_earlier_day(w in world(), after in 0i64..80, price in 1i64..1_000_000) {
        let (mut t, p) = setup(&w);
        let Some((before, _)) = value(&w, &w.moves, &t, &p) else { return Ok(()) };
        let from = w.times.admission.date().checked_add(jiff::Span::new().days(after)).expect("date");
        // A new version of every code from `from` on (the store closes the open one the day before).
        let mut added = Vec::new();
        for l in t.iter_mut().filter(|l| l.period.to.is_none_or(|to| to >= from) && l.period.from < from) {
            let mut n = l.clone();
            l.period.to = Some(from.yesterday().expect("date"));
            n.id += 100;
            n.price = Money::new(price, w.currency);
            n.period = Period { from, to: None };
            added.push(n);
        }
        t.extend(added);
        let Some((later, _)) = value(&w, &w.moves, &t, &p) else { return Ok(()) };
        let priced = |v: &Valued| -> Vec<(String, Date, i64)> {
            let mut out: Vec<(String, Date, i64)> = v.charges.iter().flat_map(|c| c.days.iter().filter(|d| **d < from).map(move |d| (c.code.clone(), *d, c.unit_price.minor))).collect();
            out.sort();
            out
        };
        prop_assert_eq!(priced(&before), priced(&later));
    }
}

/// Most generated worlds are valued (the properties above are not vacuous).
#[test]
fn most_worlds_are_valued() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut ok, mut lines, mut imputed) = (0, 0, 0);
    for _ in 0..300 {
        let w = world().new_tree(&mut runner).expect("tree").current();
        let (t, p) = setup(&w);
        if let Some((_, sp)) = value(&w, &w.moves, &t, &p) {
            ok += 1;
            lines += sp.lines.len();
            imputed += sp.adjustments.len();
        }
    }
    assert!(ok > 200, "{ok} of 300 valued");
    assert!(lines > 400 && imputed > 3, "{lines} lines, {imputed} imputations");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Without its sentences (a billing run's totals) the valuation and split give the same
    /// charges, days and shares.
    #[test]
    fn the_sentences_change_no_amount(w in world()) {
        let (t, p) = setup(&w);
        let set = ParameterSet(&p);
        let run = |explain: bool| {
            let v = value_stay(&StayActivity { times: w.times, site_id: 1, movements: &w.moves, explain }, &t, &set, date(2029, 1, 1)).ok()?;
            let ctx = SplitContext { admission: Some(w.times.admission.date()), covers: &w.covers, agreements: &w.agreements, acts: &w.acts, currency: w.currency, explain };
            let sp = split(v.charges, &ctx, &set).ok()?;
            Some(sp.lines.iter().map(|l| (l.charge.code.clone(), l.charge.days.clone(), l.charge.amount, l.shares.iter().map(|s| (s.party.clone(), s.amount)).collect::<Vec<_>>())).collect::<Vec<_>>())
        };
        prop_assert_eq!(run(true), run(false));
    }
}
