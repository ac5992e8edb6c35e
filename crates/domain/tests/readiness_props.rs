//! Property tests for `quittance_domain::readiness` over extreme inputs: the checklist never
//! panics (dates at jiff's limits, any rule values), names only known controls, and a file
//! checked against no rule is ready.

mod common;

use common::{ext_date, ext_i64, wild_string};
use proptest::prelude::*;
use quittance_domain::care::coverage::{CoverageRole, Span};
use quittance_domain::care::stay::CareMode;
use quittance_domain::identity::IdentityStatus;
use quittance_domain::readiness::{CONTROLS, Control, Facts, Rules, check};

fn span() -> impl Strategy<Value = Span> {
    (ext_i64(), prop::sample::select(CoverageRole::ALL.to_vec()), ext_date(), prop::option::of(ext_date()))
        .prop_map(|(id, role, from, to)| Span { id, role, from, to })
}

fn status() -> impl Strategy<Value = IdentityStatus> {
    prop::sample::select(IdentityStatus::ALL.to_vec())
}

fn care_mode() -> impl Strategy<Value = CareMode> {
    prop::sample::select(CareMode::ALL.to_vec())
}

fn rules() -> impl Strategy<Value = Rules> {
    (
        prop::option::of(status()),
        prop::array::uniform6(any::<bool>()),
        prop::collection::vec(care_mode(), 0..3),
        ext_i64(),
    )
        .prop_map(|(min, b, modes, days)| Rules {
            min_identity_status: min,
            birth_place_required: b[0],
            debtor_address_required: b[1],
            compulsory_coverage_required: b[2],
            complementary_for_care_modes: modes,
            debtor_required: b[3],
            pec_required: b[4],
            pec_answer_days: days,
            documents_required: b[5],
        })
}

fn facts() -> impl Strategy<Value = Facts> {
    (
        status(),
        prop::array::uniform4(any::<bool>()),
        prop::collection::vec(span(), 0..6),
        prop::option::of((ext_date(), ext_date())),
        prop::option::of(care_mode()),
        prop::collection::vec(wild_string(), 0..3),
    )
        .prop_map(|(identity_status, b, coverages, service, care_mode, missing_documents)| Facts {
            identity_status,
            birth_place_known: b[0],
            has_debtor: b[1],
            debtor_address_complete: b[2],
            coverages,
            service,
            care_mode,
            pec_agreed: b[3],
            missing_documents,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any rules and facts: no panic, each failure names a known control once, with a message.
    #[test]
    fn check_never_panics(r in rules(), f in facts()) {
        let out = check(&r, &f);
        let mut seen = std::collections::HashSet::new();
        for x in &out {
            prop_assert!(x.control().is_some(), "{}", x.code);
            prop_assert!(CONTROLS.iter().any(|(c, _)| *c == x.code));
            prop_assert!(seen.insert(x.code));
            prop_assert!(!x.message.is_empty());
        }
    }

    /// With every rule off, any file is ready.
    #[test]
    fn no_rule_no_failure(f in facts()) {
        let none = Rules {
            min_identity_status: None,
            birth_place_required: false,
            debtor_address_required: false,
            compulsory_coverage_required: false,
            complementary_for_care_modes: vec![],
            debtor_required: false,
            pec_required: false,
            pec_answer_days: i64::MAX,
            documents_required: false,
        };
        prop_assert!(check(&none, &f).is_empty());
    }

    /// Control codes: only exact codes.
    #[test]
    fn controls_accept_any_text(t in wild_string()) {
        prop_assert_eq!(Control::from_code(&t).is_some(), CONTROLS.iter().any(|(c, _)| *c == t));
    }
}
