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

mod input_props {
    use super::common::{ext_date, wild_string};
    use proptest::prelude::*;
    use quittance_domain::patients::input::{DebtorInput, IdentifierInput, PatientInput, parse_debtor, parse_identifier, parse_patient};

    /// Either garbage or a value the form would accept, so that both outcomes are explored.
    fn field(valid: &'static str) -> BoxedStrategy<String> {
        prop_oneof![1 => wild_string(), 9 => Just(valid.to_string())].boxed()
    }

    const PATIENT_FIELDS: [(&str, &str); 30] = [
        ("birth_name", "Dupont"),
        ("used_name", "Martin"),
        ("birth_first_names", "Jean Pierre"),
        ("used_first_name", "Jeannot"),
        ("birth_date", "01/02/1980"),
        ("sex", "M"),
        ("birth_place_code", "69123"),
        ("birth_place_label", "Lyon"),
        ("identity_status", "provisoire"),
        ("doc_type", "cni"),
        ("doc_number", "AB12345"),
        ("doc_expiry", "01/01/2030"),
        ("attributes", ""),
        ("nir", ""),
        ("cafat_number", ""),
        ("address_line1", "1 rue de la Paix"),
        ("address_line2", ""),
        ("postcode", "69003"),
        ("city", "Lyon"),
        ("country", "France"),
        ("phone", "04 78 00 00 00"),
        ("mobile", ""),
        ("email", "jean@example.org"),
        ("language", "français"),
        ("legal_rep_name", ""),
        ("legal_rep_relation", ""),
        ("legal_rep_phone", ""),
        ("date_of_death", ""),
        ("site_id", ""),
        ("reason", "Erreur de saisie"),
    ];

    fn patient_input() -> impl Strategy<Value = PatientInput> {
        let strings: Vec<BoxedStrategy<String>> = PATIENT_FIELDS.iter().map(|(_, v)| field(v)).collect();
        (strings, any::<[bool; 4]>()).prop_map(|(v, b)| PatientInput {
            birth_name: v[0].clone(),
            used_name: v[1].clone(),
            birth_first_names: v[2].clone(),
            used_first_name: v[3].clone(),
            birth_date: v[4].clone(),
            sex: v[5].clone(),
            birth_place_code: v[6].clone(),
            birth_place_label: v[7].clone(),
            identity_status: v[8].clone(),
            doc_type: v[9].clone(),
            doc_number: v[10].clone(),
            doc_expiry: v[11].clone(),
            insi_checked: b[0],
            attributes: v[12].clone(),
            nir: v[13].clone(),
            cafat_number: v[14].clone(),
            address_line1: v[15].clone(),
            address_line2: v[16].clone(),
            postcode: v[17].clone(),
            city: v[18].clone(),
            country: v[19].clone(),
            phone: v[20].clone(),
            mobile: v[21].clone(),
            email: v[22].clone(),
            language: v[23].clone(),
            legal_rep_name: v[24].clone(),
            legal_rep_relation: v[25].clone(),
            legal_rep_phone: v[26].clone(),
            date_of_death: v[27].clone(),
            non_disclosure: b[1],
            site_id: v[28].clone(),
            reason: v[29].clone(),
            confirm_duplicate: b[2],
        })
    }

    fn debtor_input() -> impl Strategy<Value = DebtorInput> {
        let strings: Vec<BoxedStrategy<String>> = ["patient", "Paul Dupont", "père", "1 rue de la Paix", "", "69003", "Lyon", "France", "0478000000", "p@example.org", "sejour,actes"]
            .iter()
            .map(|v| field(v))
            .collect();
        (strings, any::<bool>()).prop_map(|(v, is_default)| DebtorInput {
            kind: v[0].clone(),
            name: v[1].clone(),
            relationship: v[2].clone(),
            address_line1: v[3].clone(),
            address_line2: v[4].clone(),
            postcode: v[5].clone(),
            city: v[6].clone(),
            country: v[7].clone(),
            phone: v[8].clone(),
            email: v[9].clone(),
            guarantees: v[10].clone(),
            is_default,
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any file as typed, any day: parsed into the required traits, or French errors naming
        /// form fields only.
        #[test]
        fn parse_patient_never_panics(raw in patient_input(), today in ext_date()) {
            let known: Vec<&str> = PATIENT_FIELDS.iter().map(|(f, _)| *f).collect();
            match parse_patient(&raw, today) {
                Ok(p) => {
                    prop_assert!(!p.data.birth_name.is_empty());
                    prop_assert!(!p.data.birth_first_names.is_empty());
                    prop_assert_eq!(p.data.first_name(), p.data.birth_first_names[0].clone());
                    prop_assert!(p.reason.as_ref().is_none_or(|r| !r.is_empty() && r.chars().count() <= 500));
                    prop_assert_eq!(p.confirm_duplicate, raw.confirm_duplicate);
                    prop_assert_eq!(p.site_id.is_some(), !raw.site_id.trim().is_empty());
                }
                Err(e) => {
                    prop_assert!(!e.is_empty());
                    for f in &e.0 {
                        prop_assert!(known.contains(&f.field.as_str()), "{:?}", f);
                        prop_assert!(!f.message.is_empty());
                    }
                }
            }
        }

        /// Any debtor as typed: a known kind, guarantees never empty, a name unless it is the
        /// patient's own; or French errors naming form fields only.
        #[test]
        fn parse_debtor_never_panics(raw in debtor_input()) {
            match parse_debtor(&raw) {
                Ok(d) => {
                    prop_assert!(!d.guarantees.is_empty());
                    prop_assert!(d.guarantees.windows(2).all(|w| w[0] < w[1]), "sorted, without repeats");
                    prop_assert!(d.name.as_ref().is_none_or(|n| !n.is_empty() && n.chars().count() <= 200));
                    prop_assert!(d.name.is_some() || d.kind.code() == "patient");
                }
                Err(e) => {
                    for f in &e.0 {
                        prop_assert!(["kind", "name", "relationship", "address_line1", "address_line2", "postcode", "city", "country", "phone", "email", "guarantees"].contains(&f.field.as_str()), "{:?}", f);
                    }
                }
            }
        }

        /// Any identifier: both parts trimmed and bounded, or a French error on the part at fault.
        #[test]
        fn parse_identifier_never_panics(issuer in wild_string(), value in wild_string()) {
            match parse_identifier(&IdentifierInput { issuer: issuer.clone(), value: value.clone() }) {
                Ok(i) => {
                    prop_assert_eq!(i.issuer.as_str(), issuer.trim());
                    prop_assert!(!i.value.is_empty() && i.value.chars().count() <= 60);
                }
                Err(e) => {
                    prop_assert!(!e.is_empty());
                    prop_assert!(e.0.iter().all(|f| f.field == "issuer" || f.field == "value"));
                }
            }
        }
    }
}
