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

fn role() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["obligatoire", "complementaire", "aide"]).prop_map(String::from),
        1 => wild_string(),
    ]
}

fn span() -> impl Strategy<Value = Span> {
    (ext_i64(), role(), ext_date(), prop::option::of(ext_date())).prop_map(|(id, role, a, b)| {
        // Mostly well-formed periods, sometimes reversed ones (from > to) as a bad row could hold.
        Span { id, role, from: a, to: b }
    })
}

/// Day-by-day reference for `covered_throughout`, on short ranges only.
fn covered_reference(spans: &[Span], role: &str, from: Date, to: Date) -> bool {
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
        let v = [Span { id: 1, role: "obligatoire".into(), from: Date::MIN, to: Some(end) }];
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
            role: if *other { "aide".into() } else { "obligatoire".into() },
            from: near(base, *start),
            to: length.map(|l| near(base, start + l)),
        }).collect();
        let (f, t) = (near(base, from), near(base, from + len));
        prop_assert_eq!(covered_throughout(&spans, "obligatoire", f, t), covered_reference(&spans, "obligatoire", f, t));
    }

    /// Over the whole calendar it answers at once (one step per period, not per day).
    #[test]
    fn covered_throughout_any_range(spans in prop::collection::vec(span(), 0..40), r in role(), a in ext_date(), b in ext_date()) {
        let got = covered_throughout(&spans, &r, a, b);
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
