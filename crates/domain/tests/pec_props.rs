//! Property tests for `quittance_domain::pec` over extreme inputs: no function panics, the
//! lifecycle is total, and the alerts keep their meaning for any delay and any date.

mod common;

use common::{ext_date, ext_i64, wild_string};
use proptest::prelude::*;
use quittance_domain::dates::days_between;
use quittance_domain::pec::{self, Event, Item, Status, covers, expires_during, overdue, transition};

fn status() -> impl Strategy<Value = Status> {
    prop::sample::select(Status::ALL.to_vec())
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![Just(Event::Send), Just(Event::Expire), status().prop_map(Event::Answer)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The case (`overdue(…, 8_000_000)`) and every other delay: no panic, and overdue
    /// exactly when a sent request has waited more than `days` whole days.
    #[test]
    fn overdue_is_exact_for_any_delay(s in status(), sent in prop::option::of(ext_date()), today in ext_date(), days in ext_i64()) {
        let got = overdue(s, sent, today, days);
        let expected = s == Status::Envoyee && sent.is_some_and(|d| i128::from(days_between(d, today)) > i128::from(days));
        prop_assert_eq!(got, expected);
    }

    /// The lifecycle answers every (status, event) pair, and a successful answer is one of the
    /// answers a payer can give.
    #[test]
    fn transition_is_total(s in status(), e in event()) {
        match transition(s, e) {
            Ok(next) => {
                prop_assert_ne!(next, s);
                if let Event::Answer(a) = e {
                    prop_assert_eq!(next, a);
                    prop_assert!(matches!(a, Status::Acceptee | Status::Partielle | Status::Refusee));
                }
            }
            Err(m) => prop_assert!(!m.is_empty()),
        }
    }

    /// Coverage of a stay only by agreements, whatever the dates.
    #[test]
    fn agreement_checks_never_panic(s in status(), vf in prop::option::of(ext_date()), vt in prop::option::of(ext_date()), a in ext_date(), b in ext_date()) {
        if covers(s, vf, vt, a, b) || expires_during(s, vt, a, b) {
            prop_assert!(s.is_agreement());
        }
        if expires_during(s, vt, a, b) {
            prop_assert!(!covers(s, vf, vt, a, b) || a > b);
        }
    }

    /// Status and item codes: any text is accepted by `from_code` and refused unless exact.
    #[test]
    fn codes_accept_any_text(t in wild_string()) {
        prop_assert_eq!(Status::from_code(&t).map(Status::code), Status::ALL.iter().map(|s| s.code()).find(|c| *c == t));
        prop_assert_eq!(Item::from_code(&t).is_some(), pec::ITEMS.iter().any(|(c, _)| *c == t));
        let as_json = format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(s) = serde_json::from_str::<Status>(&as_json) {
            prop_assert_eq!(s.code(), t.as_str());
        }
    }
}
