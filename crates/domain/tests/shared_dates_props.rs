//! Property tests for `quittance_domain::dates`: day counts and additions over jiff's whole
//! range and any `i64`, never failing silently.

mod common;

use common::{ext_date, ext_i64};
use proptest::prelude::*;
use quittance_domain::dates::{add_days, add_years, days_between};

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Day counts are antisymmetric and adding them back lands on the other date.
    #[test]
    fn counts_and_additions_agree(a in ext_date(), b in ext_date()) {
        let n = days_between(a, b);
        prop_assert_eq!(days_between(b, a), -n);
        prop_assert_eq!(add_days(a, n), Some(b));
        prop_assert_eq!(n.signum(), (b > a) as i64 - (b < a) as i64);
    }

    /// Any number of days or years: a date at that distance, or `None` past the calendar's ends.
    #[test]
    fn any_distance(d in ext_date(), n in ext_i64()) {
        match add_days(d, n) {
            Some(e) => prop_assert_eq!(days_between(d, e), n),
            None => {
                let to_min = days_between(d, jiff::civil::Date::MIN);
                let to_max = days_between(d, jiff::civil::Date::MAX);
                prop_assert!(n < to_min || n > to_max);
            }
        }
        match add_years(d, n) {
            Some(e) => prop_assert_eq!(i64::from(e.year()) - i64::from(d.year()), n),
            None => prop_assert!(!(-9999..=9999).contains(&(i128::from(d.year()) + i128::from(n)))),
        }
    }
}
