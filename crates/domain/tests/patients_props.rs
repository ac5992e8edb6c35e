//! Property tests for `quittance_domain::patients` over extreme inputs: the search box accepts
//! any text, and a prefix range contains exactly the keys with that prefix.

mod common;

use common::wild_string;
use proptest::prelude::*;
use quittance_domain::patients::debtors::{DEBTOR_KINDS, DebtorKind};
use quittance_domain::patients::search::{parse, prefix_upper};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any text in either box: no panic; a malformed birth-date field is a French message; the
    /// parsed criteria hold only what was typed (digits for a number, `YYYY-MM-DD` dates).
    #[test]
    fn search_accepts_any_text(text in wild_string(), birth in wild_string()) {
        match parse(&text, &birth) {
            Ok(c) => {
                if let Some(d) = &c.birth_date {
                    prop_assert_eq!(d.len(), 10);
                    prop_assert!(d.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() }), "{}", d);
                }
                if let Some(n) = &c.number {
                    prop_assert!(n.chars().any(|ch| ch.is_ascii_digit()));
                }
                for w in [&c.name_prefix, &c.first_name_prefix].into_iter().flatten() {
                    prop_assert!(!w.is_empty() && !w.contains(' '));
                }
            }
            Err(m) => {
                prop_assert!(!birth.trim().is_empty());
                prop_assert!(m.starts_with("Date de naissance"));
            }
        }
    }

    /// Every key starting with the prefix sorts inside `[prefix, prefix_upper(prefix))`.
    #[test]
    fn prefix_range_holds_the_prefixed_keys(prefix in wild_string(), rest in "\\PC{0,10}") {
        let upper = prefix_upper(&prefix);
        let key = format!("{prefix}{rest}");
        prop_assert!(prefix.as_str() <= key.as_str());
        prop_assert!(key.as_str() < upper.as_str() || rest.starts_with('\u{10FFFF}'), "{:?} {:?}", key, upper);
    }

    /// Debtor kinds: only exact codes.
    #[test]
    fn debtor_kinds_accept_any_text(t in wild_string()) {
        prop_assert_eq!(DebtorKind::from_code(&t).is_some(), DEBTOR_KINDS.iter().any(|(c, _)| *c == t));
    }
}
