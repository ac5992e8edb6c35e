//! Property tests for `quittance_domain::money`.

use proptest::prelude::*;
use quittance_domain::money::{
    BasisPoints, Currency, Money, MoneyError, Rounding, XPF_NO_DECIMALS, allocate, apply_rate,
    split_by_rates,
};

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![Just(Currency::Eur), Just(Currency::Xpf)]
}

/// Amounts biased towards realistic values but covering the extremes.
fn minor() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -1_000_000i64..1_000_000,
        2 => any::<i64>(),
        1 => prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1), Just(1)],
    ]
}

fn money() -> impl Strategy<Value = Money> {
    (minor(), currency()).prop_map(|(m, c)| Money::new(m, c))
}

fn weight() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..10, 4 => 0u64..10_000, 1 => any::<u64>(), 1 => Just(u64::MAX)]
}

fn weights() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(weight(), 1..12).prop_filter("not all zero", |w| w.iter().any(|&x| x > 0))
}

fn rounding() -> impl Strategy<Value = Rounding> {
    prop_oneof![
        Just(Rounding::HalfUp),
        Just(Rounding::HalfEven),
        Just(Rounding::TowardZero),
        Just(Rounding::AwayFromZero)
    ]
}

/// Rates whose sum is at most 100 %.
fn rates() -> impl Strategy<Value = Vec<BasisPoints>> {
    prop::collection::vec(0u32..=10_000, 0..6).prop_map(|v| {
        let mut sum = 0;
        v.into_iter()
            .take_while(|&r| {
                sum += r;
                sum <= 10_000
            })
            .map(BasisPoints)
            .collect()
    })
}

/// Checks that `shares` is a largest-remainder allocation of `total`.
fn check_allocation(total: Money, weights: &[u64], shares: &[Money]) -> Result<(), TestCaseError> {
    prop_assert_eq!(shares.len(), weights.len());
    let sum: i128 = shares.iter().map(|s| i128::from(s.minor)).sum();
    prop_assert_eq!(sum, i128::from(total.minor), "shares must sum to the total");
    let w_sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    let mag = i128::from(total.minor).abs();
    let mut extra = Vec::new();
    for (share, &w) in shares.iter().zip(weights) {
        prop_assert_eq!(share.currency, total.currency);
        prop_assert!(
            i128::from(share.minor) * i128::from(total.minor.signum()) >= 0,
            "share has the total's sign"
        );
        // Exact share is mag * w / w_sum: the allocated magnitude is its floor or floor + 1.
        let exact = mag * i128::from(w);
        let (q, r) = (exact / w_sum, exact % w_sum);
        let got = i128::from(share.minor).abs();
        if r == 0 {
            prop_assert_eq!(got, q, "exact share must not move");
        } else {
            prop_assert!(
                got == q || got == q + 1,
                "share {} too far from {}/{}",
                got,
                exact,
                w_sum
            );
        }
        extra.push((got != q, r));
    }
    // Units go to the largest remainders, lower index first.
    for i in 0..extra.len() {
        for j in 0..extra.len() {
            let (got_i, r_i) = extra[i];
            let (got_j, r_j) = extra[j];
            if got_j && !got_i {
                prop_assert!(
                    r_j > r_i || (r_j == r_i && j < i),
                    "unit given to {} instead of {}",
                    j,
                    i
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn allocate_is_exact_and_fair(total in money(), w in weights()) {
        let shares = allocate(total, &w).unwrap();
        check_allocation(total, &w, &shares)?;
    }

    #[test]
    fn allocate_equal_weights_favours_lower_indexes(total in money(), n in 1usize..10) {
        let shares = allocate(total, &vec![1; n]).unwrap();
        for pair in shares.windows(2) {
            prop_assert!(pair[0].minor.abs() >= pair[1].minor.abs());
            prop_assert!(pair[0].minor.abs() - pair[1].minor.abs() <= 1);
        }
    }

    #[test]
    fn allocate_rejects_zero_weights(total in money(), n in 0usize..5) {
        prop_assert!(matches!(allocate(total, &vec![0; n]), Err(MoneyError::Invalid(_))));
    }

    #[test]
    fn split_by_rates_sums_exactly(total in money(), r in rates()) {
        let shares = split_by_rates(total, &r).unwrap();
        prop_assert_eq!(shares.len(), r.len() + 1);
        let covered: u32 = r.iter().map(|b| b.0).sum();
        let mut w: Vec<u64> = r.iter().map(|b| u64::from(b.0)).collect();
        w.push(u64::from(10_000 - covered));
        check_allocation(total, &w, &shares)?;
    }

    #[test]
    fn split_by_rates_rejects_over_100_percent(total in money(), r in prop::collection::vec(0u32..=10_000, 2..5)) {
        let sum: u32 = r.iter().sum();
        let rates: Vec<BasisPoints> = r.into_iter().map(BasisPoints).collect();
        prop_assert_eq!(split_by_rates(total, &rates).is_ok(), sum <= 10_000);
    }

    #[test]
    fn format_then_parse_round_trips(m in money()) {
        prop_assert_eq!(Money::parse_fr(&m.format_fr(), m.currency), Ok(m));
        prop_assert_eq!(Money::parse_fr(&m.format_fr_plain(), m.currency), Ok(m));
        prop_assert_eq!(Money::parse_fr(&format!("  {}\t", m.format_fr()), m.currency), Ok(m));
    }

    #[test]
    fn parse_is_strict_about_currency(m in money()) {
        let other = if m.currency == Currency::Eur { Currency::Xpf } else { Currency::Eur };
        prop_assert!(Money::parse_fr(&m.format_fr(), other).is_err());
    }

    #[test]
    fn xpf_rejects_any_decimal_part(
        int in 0u64..100_000_000,
        sep in prop_oneof![Just(','), Just('.')],
        frac in "[0-9]{1,3}",
        sign in prop_oneof![Just(""), Just("-"), Just("+")],
        suffix in prop_oneof![Just(""), Just(" XPF"), Just(" F"), Just("\u{a0}FCFP"), Just("xpf")],
    ) {
        let s = format!("{sign}{int}{sep}{frac}{suffix}");
        prop_assert_eq!(Money::parse_fr(&s, Currency::Xpf), Err(MoneyError::Invalid(XPF_NO_DECIMALS.to_string())), "{}", s);
    }

    #[test]
    fn xpf_never_parses_a_separator(s in "[-+0-9 ,.€XPFCxpf]{0,16}") {
        if s.contains([',', '.']) {
            prop_assert!(Money::parse_fr(&s, Currency::Xpf).is_err(), "{:?}", s);
        }
    }

    #[test]
    fn eur_decimals(int in 0u64..10_000_000, frac in "[0-9]{0,4}", neg in any::<bool>()) {
        let s = if frac.is_empty() { format!("{}{int}", if neg { "-" } else { "" }) }
                else { format!("{}{int},{frac} €", if neg { "-" } else { "" }) };
        let parsed = Money::parse_fr(&s, Currency::Eur);
        if frac.len() > 2 {
            prop_assert!(parsed.is_err(), "{}", s);
        } else {
            let cents = match frac.len() { 0 => 0, 1 => frac.parse::<i64>().unwrap() * 10, _ => frac.parse::<i64>().unwrap() };
            let mut expected = int as i64 * 100 + cents;
            if neg { expected = -expected; }
            prop_assert_eq!(parsed, Ok(Money::new(expected, Currency::Eur)), "{}", s);
        }
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,24}", c in currency()) {
        let _ = Money::parse_fr(&s, c);
        let _ = BasisPoints::parse_fr(&s);
    }

    #[test]
    fn apply_rate_full_and_zero(m in money(), r in rounding()) {
        prop_assert_eq!(apply_rate(m, BasisPoints::FULL, r), Ok(m));
        prop_assert_eq!(apply_rate(m, BasisPoints(0), r), Ok(Money::zero(m.currency)));
    }

    #[test]
    fn apply_rate_is_monotonic(m in money(), a in 0u32..=20_000, b in 0u32..=20_000, r in rounding()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        match (apply_rate(m, BasisPoints(lo), r), apply_rate(m, BasisPoints(hi), r)) {
            (Ok(x), Ok(y)) => if m.minor >= 0 { prop_assert!(x.minor <= y.minor); } else { prop_assert!(x.minor >= y.minor); },
            // Above 100 % the larger rate may overflow (an error, never a clamped amount).
            (Ok(_), Err(e)) => { prop_assert!(hi > 10_000); prop_assert_eq!(e, MoneyError::Overflow); }
            (Err(_), y) => { prop_assert!(lo > 10_000); prop_assert!(y.is_err()); }
        }
    }

    #[test]
    fn apply_rate_is_within_one_unit(m in money(), rate in 0u32..=10_000, r in rounding()) {
        // At most 100 % never overflows.
        let got = apply_rate(m, BasisPoints(rate), r).unwrap();
        prop_assert_eq!(got.currency, m.currency);
        let exact = i128::from(m.minor) * i128::from(rate); // × 1/10000
        let diff = i128::from(got.minor) * 10_000 - exact;
        prop_assert!(diff.abs() < 10_000);
        match r {
            Rounding::HalfUp | Rounding::HalfEven => prop_assert!(2 * diff.abs() <= 10_000),
            Rounding::TowardZero => prop_assert!(i128::from(got.minor).abs() * 10_000 <= exact.abs()),
            Rounding::AwayFromZero => prop_assert!(i128::from(got.minor).abs() * 10_000 >= exact.abs()),
        }
    }

    #[test]
    fn apply_rate_ties(half in 0i64..1_000_000_000, c in currency(), neg in any::<bool>()) {
        // (2h + 1) × 50 % is exactly h + 0.5: a tie.
        let odd = if neg { -(2 * half + 1) } else { 2 * half + 1 };
        let m = Money::new(odd, c);
        let half_of = |r| apply_rate(m, BasisPoints(5000), r).unwrap().minor;
        let up = half_of(Rounding::HalfUp);
        let even = half_of(Rounding::HalfEven);
        prop_assert_eq!(up.abs(), half + 1, "half away from zero");
        prop_assert_eq!(even % 2, 0, "half to even");
        prop_assert!(even.abs() == half || even.abs() == half + 1);
        prop_assert_eq!(half_of(Rounding::TowardZero).abs(), half);
        prop_assert_eq!(half_of(Rounding::AwayFromZero).abs(), half + 1);
    }

    #[test]
    fn basis_points_round_trip(bp in 0u32..=10_000) {
        let b = BasisPoints(bp);
        prop_assert_eq!(BasisPoints::parse_fr(&b.format_fr()), Ok(b));
        prop_assert_eq!(BasisPoints::parse_fr(&b.format_fr_plain()), Ok(b));
    }

    #[test]
    fn basis_points_reject_above_full(bp in 10_001u32..1_000_000) {
        prop_assert!(BasisPoints::parse_fr(&BasisPoints(bp).format_fr_plain()).is_err());
    }
}

mod common;

/// Extreme inputs: every operation at the `i64`/`u32` bounds is checked (an error, never a
/// clamped or wrapped amount) and never panics.
mod extreme {
    use super::common::{ext_i64, wild_string};
    use super::{currency, money, rounding};
    use proptest::prelude::*;
    use quittance_domain::money::{BasisPoints, Currency, Money, MoneyError, allocate, apply_rate, split_by_rates};

    fn fits(x: i128) -> Option<i64> {
        i64::try_from(x).ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Add, subtract, negate, multiply, sum: the exact result when it fits, `Overflow` otherwise.
        #[test]
        fn arithmetic_is_exact_or_overflow(a in ext_i64(), b in ext_i64(), c in currency()) {
            let (x, y) = (Money::new(a, c), Money::new(b, c));
            let exact = |r: i128| fits(r).map(|m| Money::new(m, c)).ok_or(MoneyError::Overflow);
            prop_assert_eq!(x.checked_add(y), exact(i128::from(a) + i128::from(b)));
            prop_assert_eq!(x.checked_sub(y), exact(i128::from(a) - i128::from(b)));
            prop_assert_eq!(x.checked_neg(), exact(-i128::from(a)));
            prop_assert_eq!(x.checked_mul(b), exact(i128::from(a) * i128::from(b)));
            let sum = Money::checked_sum(c, [x, y, x]);
            let partial = i128::from(a) + i128::from(b);
            if fits(partial).is_some() {
                prop_assert_eq!(sum, exact(partial + i128::from(a)));
            } else {
                prop_assert_eq!(sum, Err(MoneyError::Overflow));
            }
        }

        /// `apply_rate` at any amount and any rate (the whole `u32` range): the rounded product
        /// when it fits in `i64`, `Overflow` otherwise; never an error up to 100 %.
        #[test]
        fn apply_rate_is_exact_or_overflow(m in money(), rate in prop_oneof![any::<u32>(), Just(u32::MAX), 0u32..=10_000], r in rounding()) {
            let exact = i128::from(m.minor) * i128::from(rate);
            match apply_rate(m, BasisPoints(rate), r) {
                Ok(got) => {
                    prop_assert_eq!(got.currency, m.currency);
                    prop_assert!((i128::from(got.minor) * 10_000 - exact).abs() < 10_000);
                }
                Err(e) => {
                    prop_assert_eq!(e, MoneyError::Overflow);
                    prop_assert!(rate > 10_000);
                    // The true result is (within one unit) outside i64.
                    prop_assert!(exact / 10_000 >= i128::from(i64::MAX) || exact / 10_000 <= i128::from(i64::MIN));
                }
            }
        }

        /// The case (`from_percent(50_000_000)`): whole percentages never overflow.
        #[test]
        fn percentages_never_overflow(p in any::<u32>(), q in any::<u16>()) {
            prop_assert_eq!(BasisPoints::from_percent(q), BasisPoints(u32::from(q) * 100));
            prop_assert_eq!(BasisPoints::checked_from_percent(p), p.checked_mul(100).map(BasisPoints));
            let _ = (BasisPoints(p).format_fr(), BasisPoints(p).to_string());
        }

        /// Allocation and split with extreme totals and weights: exact sums.
        #[test]
        fn allocation_at_the_bounds(t in ext_i64(), c in currency(), w in prop::collection::vec(prop_oneof![Just(u64::MAX), Just(0u64), Just(1u64), any::<u64>()], 1..6), rates in prop::collection::vec(any::<u32>(), 0..4)) {
            let total = Money::new(t, c);
            match allocate(total, &w) {
                Ok(shares) => {
                    prop_assert_eq!(shares.iter().map(|s| i128::from(s.minor)).sum::<i128>(), i128::from(t));
                }
                Err(_) => prop_assert!(w.iter().all(|&x| x == 0)),
            }
            let rates: Vec<BasisPoints> = rates.into_iter().map(BasisPoints).collect();
            let covered: u64 = rates.iter().map(|r| u64::from(r.0)).sum();
            match split_by_rates(total, &rates) {
                Ok(shares) => {
                    prop_assert!(covered <= 10_000);
                    prop_assert_eq!(shares.len(), rates.len() + 1);
                    prop_assert_eq!(shares.iter().map(|s| i128::from(s.minor)).sum::<i128>(), i128::from(t));
                }
                Err(_) => prop_assert!(covered > 10_000),
            }
        }

        /// Parsing any text (huge, unicode, digits by the thousand): a value or an error.
        #[test]
        fn parsing_any_text(s in prop_oneof![wild_string(), "[0-9]{15,60}", "-?[0-9 ]{1,40},[0-9]{0,3}"], c in currency()) {
            if let Ok(m) = Money::parse_fr(&s, c) {
                prop_assert_eq!(Money::parse_fr(&m.format_fr(), c), Ok(m));
            }
            if let Ok(b) = BasisPoints::parse_fr(&s) {
                prop_assert!(b <= BasisPoints::FULL);
            }
            prop_assert_eq!(s.parse::<Currency>().ok(), Currency::from_code(&s));
        }

        /// Formatting any amount never panics and parses back.
        #[test]
        fn formatting_any_amount(m in ext_i64(), c in currency()) {
            let x = Money::new(m, c);
            prop_assert_eq!(Money::parse_fr(&x.format_fr_plain(), c), Ok(x));
            prop_assert_eq!(x.to_string(), x.format_fr());
        }
    }
}
