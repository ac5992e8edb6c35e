//! Property tests for `quittance_domain::legal_ids`.

use proptest::prelude::*;
use quittance_domain::legal_ids::{
    validate_finess, validate_ridet, validate_siren, validate_siret,
};

/// Luhn key written independently: weights 1,2,1,2… from the right of the
/// full number (key included as 0), key = (10 - sum mod 10) mod 10.
fn luhn_key(body: &str) -> char {
    let mut sum = 0u32;
    for (i, c) in body.chars().rev().enumerate() {
        let d = c.to_digit(10).unwrap();
        // The key will occupy the rightmost position, so body digits start at weight 2.
        let p = if i % 2 == 0 { d * 2 } else { d };
        sum += p / 10 + p % 10;
    }
    char::from_digit((10 - sum % 10) % 10, 10).unwrap()
}

fn with_key(body: &str) -> String {
    format!("{body}{}", luhn_key(body))
}

/// Every string obtained by changing exactly one digit.
fn single_digit_changes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for pos in 0..s.len() {
        for d in b'0'..=b'9' {
            if s.as_bytes()[pos] != d {
                let mut b = s.as_bytes().to_vec();
                b[pos] = d;
                out.push(String::from_utf8(b).unwrap());
            }
        }
    }
    out
}

fn spaced(s: &str, every: usize) -> String {
    s.chars()
        .enumerate()
        .flat_map(|(i, c)| {
            (i > 0 && i % every == 0)
                .then_some(' ')
                .into_iter()
                .chain([c])
        })
        .collect()
}

proptest! {
    #[test]
    fn luhn_valid_sirets_are_accepted(body in "[0-9]{13}") {
        let siret = with_key(&body);
        prop_assert_eq!(validate_siret(&siret), Ok(siret.clone()));
        prop_assert_eq!(validate_siret(&spaced(&siret, 3)), Ok(siret.clone()));
    }

    #[test]
    fn single_digit_changes_are_refused(body in "[0-9]{13}") {
        let siret = with_key(&body);
        for changed in single_digit_changes(&siret) {
            // La Poste's own rule (digit sum multiple of 5) may accept some.
            if changed.starts_with("356000000") {
                continue;
            }
            prop_assert_eq!(
                validate_siret(&changed),
                Err("SIRET invalide : clé de contrôle incorrecte".to_string()),
                "{} accepted (from {})", changed, siret
            );
        }
    }

    #[test]
    fn la_poste_digit_sum_rule(nic in "[0-9]{5}") {
        let siret = format!("356000000{nic}");
        let digit_sum: u32 = siret.chars().map(|c| c.to_digit(10).unwrap()).sum();
        let luhn = luhn_key(&siret[..13]) == siret.chars().last().unwrap();
        let sum_rule = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65].contains(&digit_sum);
        prop_assert_eq!(validate_siret(&siret).is_ok(), luhn || sum_rule);
    }

    #[test]
    fn wrong_length_is_refused(digits in "[0-9]{0,20}") {
        prop_assume!(digits.len() != 14);
        prop_assert_eq!(validate_siret(&digits), Err("SIRET invalide : 14 chiffres attendus".to_string()));
    }

    #[test]
    fn sirens(body in "[0-9]{8}") {
        let siren = with_key(&body);
        prop_assert_eq!(validate_siren(&spaced(&siren, 3)), Ok(siren.clone()));
        for changed in single_digit_changes(&siren) {
            prop_assert!(validate_siren(&changed).is_err(), "{}", changed);
        }
    }

    #[test]
    fn siret_starts_with_a_valid_siren_when_nic_is_key(body in "[0-9]{8}") {
        // A SIREN followed by "0000" and a fresh key is a valid SIRET.
        let siren = with_key(&body);
        let siret = with_key(&format!("{siren}0000"));
        prop_assert!(validate_siren(&siren).is_ok());
        prop_assert!(validate_siret(&siret).is_ok());
    }

    #[test]
    fn finess_numbers(body in "(0[1-9]|[1-8][0-9]|9[0-8])[0-9]{6}") {
        let finess = with_key(&body);
        prop_assert_eq!(validate_finess(&finess), Ok(finess.clone()));
        prop_assert_eq!(validate_finess(&spaced(&finess, 3)), Ok(finess.clone()));
        for changed in single_digit_changes(&finess) {
            prop_assert!(validate_finess(&changed).is_err(), "{}", changed);
        }
    }

    #[test]
    fn ridets(rid in "[0-9]{7}", rank in prop::option::of("[0-9]{3}")) {
        let (dotted, plain, expected) = match &rank {
            Some(r) => (format!("{rid}.{r}"), format!("{rid}{r}"), format!("{rid}.{r}")),
            None => (rid.clone(), rid.clone(), rid.clone()),
        };
        prop_assert_eq!(validate_ridet(&dotted), Ok(expected.clone()));
        prop_assert_eq!(validate_ridet(&plain), Ok(expected.clone()));
        prop_assert_eq!(validate_ridet(&expected), Ok(expected.clone()));
    }

    #[test]
    fn validators_never_panic(s in "\\PC{0,20}") {
        let _ = validate_siret(&s);
        let _ = validate_siren(&s);
        let _ = validate_finess(&s);
        let _ = validate_ridet(&s);
    }
}

mod common;

/// Extreme inputs: huge, control-character and non-Latin texts.
mod extreme {
    use super::common::wild_string;
    use proptest::prelude::*;
    use quittance_domain::legal_ids::{validate_finess, validate_ridet, validate_siren, validate_siret};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Every validator answers any text; an accepted identifier is normalised (validating it
        /// again gives it back) and ASCII.
        #[test]
        fn validators_accept_any_text(s in wild_string()) {
            for f in [validate_siret, validate_siren, validate_finess, validate_ridet] {
                if let Ok(n) = f(&s) {
                    prop_assert!(n.is_ascii());
                    prop_assert_eq!(f(&n), Ok(n.clone()));
                }
            }
        }
    }
}
