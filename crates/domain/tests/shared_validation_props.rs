//! Property tests for `quittance_domain::validation` over extreme inputs: field helpers and
//! account rules answer any text and any length limit.

mod common;

use common::wild_string;
use proptest::prelude::*;
use quittance_domain::validation::{FieldErrors, MIN_PASSWORD_LEN, check_password, check_username};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// `required` and `optional` trim, and flag exactly blank or over-long values.
    #[test]
    fn field_helpers(v in wild_string(), max in prop_oneof![Just(0usize), Just(usize::MAX), 0usize..50]) {
        let mut e = FieldErrors::new();
        let r = e.required("f", &v, max);
        prop_assert_eq!(r.as_str(), v.trim());
        let blank = v.trim().is_empty();
        let long = v.trim().chars().count() > max;
        prop_assert_eq!(e.get("f").is_some(), blank || long);
        let mut e = FieldErrors::new();
        let o = e.optional("g", &v, max);
        prop_assert_eq!(o.is_none(), blank);
        prop_assert_eq!(e.get("g").is_some(), !blank && long);
        prop_assert_eq!(e.clone().into_result().is_err(), !e.is_empty());
        let _ = e.to_string();
    }

    /// Passwords and usernames: any text; what is accepted follows the stated rules.
    #[test]
    fn account_rules(p in wild_string(), u in wild_string()) {
        if check_password(&p, &u).is_ok() {
            let n = p.chars().count();
            prop_assert!((MIN_PASSWORD_LEN..=256).contains(&n));
        }
        if check_username(&u).is_ok() {
            prop_assert!((3..=64).contains(&u.len()));
            prop_assert!(u.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b)));
        }
    }
}
