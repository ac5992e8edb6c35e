//! Property tests for `quittance_domain::care` over extreme inputs: no function panics, and the
//! coverage checks keep their meaning at jiff's date limits and for any horizon.

mod common;

use common::{ext_date, ext_i32, ext_i64, wild_string};
use jiff::civil::Date;
use proptest::prelude::*;
use quittance_domain::care::coverage::{
    self, Beneficiary, Category, Channel, CoverageRole, Exemption, Flag, PayerKind, Span, StatementPeriod, covered_throughout, flags,
    role_allowed,
};
use quittance_domain::care::stay::{CareMode, DischargeMode};
use quittance_domain::dates::days_between;

fn role() -> impl Strategy<Value = CoverageRole> {
    prop::sample::select(CoverageRole::ALL.to_vec())
}

fn span() -> impl Strategy<Value = Span> {
    (ext_i64(), role(), ext_date(), prop::option::of(ext_date())).prop_map(|(id, role, a, b)| {
        // Mostly well-formed periods, sometimes reversed ones (from > to) as a bad row could hold.
        Span { id, role, from: a, to: b }
    })
}

/// Day-by-day reference for `covered_throughout`, on short ranges only.
fn covered_reference(spans: &[Span], role: CoverageRole, from: Date, to: Date) -> bool {
    let mut day = from;
    loop {
        if !spans.iter().any(|s| s.role == role && s.covers(day)) {
            return false;
        }
        if day >= to {
            return true;
        }
        match day.tomorrow() {
            Ok(d) => day = d,
            Err(_) => return true,
        }
    }
}

fn near(base: Date, offset: i64) -> Date {
    quittance_domain::dates::add_days(base, offset).unwrap_or(base)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// `flags` never panics (any horizon, dates at the limits), and each expiry flag means what
    /// it says: expired before today, expiring soon within the horizon (in whole days).
    #[test]
    fn flags_never_panic_and_expiries_are_exact(spans in prop::collection::vec(span(), 0..8), today in ext_date(), horizon in ext_i32()) {
        let out = flags(&spans, today, horizon);
        for f in &out {
            let _ = f.message_fr();
            match f {
                Flag::Expired { id, on } => {
                    prop_assert!(*on < today);
                    prop_assert!(spans.iter().any(|s| s.id == *id && s.to == Some(*on)));
                }
                Flag::ExpiresSoon { on, .. } => {
                    prop_assert!(*on >= today);
                    prop_assert!(days_between(today, *on) <= i64::from(horizon));
                }
                Flag::Gap { from, to } => prop_assert!(from <= to),
                Flag::Overlap { .. } => {}
            }
        }
        // Every dated period gets exactly one expiry flag or none, as the rule says.
        for s in &spans {
            let Some(t) = s.to else { continue };
            let expected = t < today || days_between(today, t) <= i64::from(horizon);
            let got = out.iter().filter(|f| matches!(f, Flag::Expired { id, on } | Flag::ExpiresSoon { id, on } if *id == s.id && *on == t)).count();
            if spans.iter().filter(|o| o.id == s.id && o.to == Some(t)).count() == 1 {
                prop_assert_eq!(got, usize::from(expected));
            }
        }
    }

    /// The case: a horizon of `i32::MAX` days flags every future expiry, a horizon of
    /// `i32::MIN` none.
    #[test]
    fn extreme_horizons(today in ext_date(), later in 0i64..100_000) {
        let end = near(today, later);
        let v = [Span { id: 1, role: CoverageRole::Obligatoire, from: Date::MIN, to: Some(end) }];
        prop_assert_eq!(flags(&v, today, i32::MAX), vec![Flag::ExpiresSoon { id: 1, on: end }]);
        prop_assert!(flags(&v, today, i32::MIN).is_empty());
    }

    /// `covered_throughout` agrees with the day-by-day definition on short ranges anywhere in
    /// the calendar.
    #[test]
    fn covered_throughout_matches_day_by_day(
        base in ext_date(),
        periods in prop::collection::vec((-40i64..40, prop::option::of(0i64..40), prop::bool::ANY), 0..6),
        from in -40i64..40,
        len in -3i64..60,
    ) {
        let spans: Vec<Span> = periods.iter().enumerate().map(|(i, (start, length, other))| Span {
            id: i as i64,
            role: if *other { CoverageRole::Aide } else { CoverageRole::Obligatoire },
            from: near(base, *start),
            to: length.map(|l| near(base, start + l)),
        }).collect();
        let (f, t) = (near(base, from), near(base, from + len));
        prop_assert_eq!(covered_throughout(&spans, CoverageRole::Obligatoire, f, t), covered_reference(&spans, CoverageRole::Obligatoire, f, t));
    }

    /// Over the whole calendar it answers at once (one step per period, not per day).
    #[test]
    fn covered_throughout_any_range(spans in prop::collection::vec(span(), 0..40), r in role(), a in ext_date(), b in ext_date()) {
        let got = covered_throughout(&spans, r, a, b);
        if got {
            prop_assert!(spans.iter().any(|s| s.role == r && s.covers(a)));
        }
    }

    /// Code look-ups and the role rule accept any text without panicking; only exact codes match.
    #[test]
    fn codes_accept_any_text(kind in wild_string(), r in wild_string()) {
        let allowed = role_allowed(&kind, &r);
        prop_assert_eq!(allowed, PayerKind::from_code(&kind).zip(CoverageRole::from_code(&r)).is_some_and(|(k, x)| k.allows_role(x)));
        for table in [coverage::PAYER_KINDS, coverage::ROLES, coverage::CATEGORIES, coverage::EXEMPTIONS, coverage::BENEFICIARY, coverage::STATEMENT_PERIODS, coverage::CHANNELS] {
            prop_assert_eq!(coverage::is_code(table, &kind), table.iter().any(|(c, _)| *c == kind));
            prop_assert_eq!(coverage::label(table, &kind).is_some(), coverage::is_code(table, &kind));
        }
        let known = PayerKind::from_code(&kind).is_some() || CoverageRole::from_code(&kind).is_some() || Category::from_code(&kind).is_some()
            || Exemption::from_code(&kind).is_some() || Beneficiary::from_code(&kind).is_some() || StatementPeriod::from_code(&kind).is_some()
            || Channel::from_code(&kind).is_some() || CareMode::from_code(&kind).is_some() || DischargeMode::from_code(&kind).is_some();
        if known {
            prop_assert!(!kind.is_empty() && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()));
        }
        let parsed: Result<CareMode, String> = kind.clone().try_into();
        if let Err(m) = parsed {
            prop_assert!(m.chars().count() < 120, "the message quotes at most 40 characters");
        }
    }
}

// ---------------------------------------------------------------- parsing what people type

mod input {
    use super::common::{ext_date, ext_i64, wild_string};
    use proptest::prelude::*;
    use quittance_domain::care::coverage::{Category, Exemption};
    use quittance_domain::care::input::{
        CoverageInput, PayerInput, RateInput, StayInput, local_text, parse_coverage, parse_payer, parse_rate, parse_stay,
    };
    use quittance_domain::fr::format_date_fr;
    use quittance_domain::money::BasisPoints;

    /// Text a field may hold: garbage, or something close to valid (codes, dates at jiff's
    /// limits, numbers at the bounds, times, rates).
    fn field(valid: &'static [&'static str]) -> BoxedStrategy<String> {
        prop_oneof![
            3 => prop::sample::select(valid.to_vec()).prop_map(String::from),
            2 => wild_string(),
            1 => ext_date().prop_map(format_date_fr),
            1 => ext_i64().prop_map(|n| n.to_string()),
        ]
        .boxed()
    }

    const DATES: &[&str] = &["01/01/2026", "31/12/2026", "29/02/2024", "01/01/-9999", "31/12/9999", "32/01/2026", ""];
    const TIMES: &[&str] = &["00:00", "23:59", "8h", "24:00", "12h60", "-1:00", ":", ""];
    const RATES: &[&str] = &["80", "100 %", "12,5 %", "0", "100,01", "-1", "1e9", ""];
    const DAYS: &[&str] = &["0", "365", "366", "-1", "30", ""];

    fn stay_input() -> impl Strategy<Value = StayInput> {
        (
            field(&["1", "0", "-1", "9223372036854775807"]),
            field(DATES),
            field(TIMES),
            field(DATES),
            field(DATES),
            field(TIMES),
            field(&["domicile", "deces", "contre_avis", "", "DOMICILE"]),
            field(&["hospitalisation_complete", "had", "urgence", ""]),
        )
            .prop_map(|(a, b, c, d, e, f, g, h)| StayInput {
                site_id: a,
                admission_date: b,
                admission_time: c,
                planned_discharge_date: d,
                discharge_date: e,
                discharge_time: f,
                discharge_mode: g,
                care_mode: h,
            })
    }

    fn coverage_input() -> impl Strategy<Value = CoverageInput> {
        (
            (field(&["1", "42", "abc"]), field(&["obligatoire", "complementaire", "aide", "x"]), wild_string(), field(&["assure", "ayant_droit", ""])),
            (field(&["", "7", "x"]), wild_string(), field(DATES), field(DATES)),
            (field(RATES), field(RATES), field(RATES), field(RATES), field(RATES)),
            (field(&["ald", "ald,maternite", "ald, ald ,", "ALD", "", ",,,"]), field(&["1", "9", "0", "10", ""])),
        )
            .prop_map(|((a, b, c, d), (e, f, g, h), (r1, r2, r3, r4, r5), (x, p))| CoverageInput {
                payer_id: a,
                role: b,
                member_number: c,
                beneficiary: d,
                insured_patient_id: e,
                insured_name: f,
                valid_from: g,
                valid_to: h,
                rate_sejour: r1,
                rate_actes: r2,
                rate_fj: r3,
                rate_cp: r4,
                rate_annexes: r5,
                exemptions: x,
                priority: p,
            })
    }

    fn payer_input() -> impl Strategy<Value = PayerInput> {
        (
            (field(&["CPAM69", "mgen-1", "A B", ""]), field(&["obligatoire", "complementaire", "aide_medicale", "public", "autre", "x"]), wild_string(), wild_string()),
            (wild_string(), wild_string(), field(&["69003", "98800", "2A004", "1", ""]), wild_string(), field(&["France", "Nouvelle-Calédonie", ""])),
            (wild_string(), field(&["a@b.fr", "@", "a@", ""]), wild_string()),
            (field(DAYS), field(&["mensuel", "aucun", "", "annuel"]), field(DAYS), field(&["papier", "b2_noemie", "", "fax"])),
            (field(&["4111", "41A", ""]), field(&["true", "false", "non", "0", ""])),
        )
            .prop_map(|((code, kind, name, identifier), (a1, a2, postcode, city, country), (phone, email, contact), (t, per, dl, ch), (acc, act))| {
                PayerInput {
                    code,
                    kind,
                    name,
                    identifier,
                    address_line1: a1,
                    address_line2: a2,
                    postcode,
                    city,
                    country,
                    phone,
                    email,
                    contact_name: contact,
                    payment_terms_days: t,
                    statement_period: per,
                    statement_deadline_days: dl,
                    channel: ch,
                    accounting_account: acc,
                    active: act,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// A stay never panics; a parsed one has its discharge after its admission, a planned
        /// discharge not before the admission day, and a stored text of fixed width.
        #[test]
        fn stays_never_panic(raw in stay_input()) {
            match parse_stay(&raw) {
                Ok(s) => {
                    if let Some(d) = s.discharge {
                        prop_assert!(d.at >= s.admission_at);
                    }
                    if let Some(p) = s.planned_discharge_date {
                        prop_assert!(p >= s.admission_at.date());
                    }
                    let t = local_text(s.admission_at);
                    let suffix = format!("T{:02}:{:02}", s.admission_at.hour(), s.admission_at.minute());
                    prop_assert!(t.ends_with(&suffix), "{}", t);
                }
                Err(e) => prop_assert!(!e.is_empty() && e.0.iter().all(|f| !f.message.is_empty() && !f.field.is_empty())),
            }
        }

        /// A coverage never panics; a parsed one has an ordered period, rates of at most
        /// 100 %, sorted distinct exemptions and a priority from 1 to 9.
        #[test]
        fn coverages_never_panic(raw in coverage_input()) {
            match parse_coverage(&raw) {
                Ok(c) => {
                    prop_assert!(c.valid_to.is_none_or(|t| t >= c.valid_from));
                    prop_assert!(c.rates.iter().flatten().all(|r| *r <= BasisPoints::FULL));
                    for cat in Category::ALL {
                        let _ = c.rate(*cat);
                    }
                    prop_assert!(c.exemptions.windows(2).all(|w| w[0].code() < w[1].code()));
                    prop_assert!(c.exemptions.iter().all(|x| Exemption::from_code(x.code()).is_some()));
                    prop_assert!(c.priority.is_none_or(|p| (1..=9).contains(&p)));
                }
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }

        /// A payer never panics; a parsed one has an upper-case code of the allowed
        /// characters, days from 0 to 365 and a digits-only account.
        #[test]
        fn payers_never_panic(raw in payer_input()) {
            match parse_payer(&raw) {
                Ok(p) => {
                    prop_assert!(!p.code.is_empty() && p.code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_'));
                    prop_assert!((0..=365).contains(&p.payment_terms_days) && (0..=365).contains(&p.statement_deadline_days));
                    prop_assert!(p.accounting_account.as_deref().is_none_or(|a| a.chars().all(|c| c.is_ascii_digit())));
                    prop_assert!(!p.name.trim().is_empty());
                }
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }

        /// A dated rate never panics; a parsed one is at most 100 % and starts on a day that has
        /// a day before it (the previous rate ends then).
        #[test]
        fn rates_never_panic(category in field(&["sejour", "actes", "forfait_journalier", "lit"]), rate in field(RATES), from in field(DATES)) {
            match parse_rate(&RateInput { category, rate, valid_from: from }) {
                Ok(r) => prop_assert!(r.rate <= BasisPoints::FULL && r.valid_from.yesterday().is_ok()),
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }
    }
}
