//! Property tests for `quittance_domain::establishments::input` over extreme inputs: no parse
//! panics, and what parses keeps the rules it promises.

mod common;

use common::{ext_i64, wild_string};
use proptest::prelude::*;
use quittance_domain::establishments::input::{
    EstablishmentInput, SeriesInput, SiteInput, parse_establishment, parse_series, parse_site,
};
use quittance_domain::money::Currency;
use quittance_domain::numbering::SeriesMask;

fn field(valid: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(valid.to_vec()).prop_map(String::from),
        2 => wild_string(),
        1 => ext_i64().prop_map(|n| n.to_string()),
    ]
    .boxed()
}

fn establishment_input() -> impl Strategy<Value = EstablishmentInput> {
    (
        (field(&["HSM", "dpass-ps", "A B", ""]), wild_string(), field(&["hopital", "direction_sante", "clinique"])),
        (field(&["73282932000074", "12345678901234", ""]), field(&["690000880", "2A0000001", ""]), field(&["0123456.001", "1234567", ""])),
        (field(&["EUR", "xpf", "USD", ""]), field(&["Europe/Paris", "Pacific/Noumea", "UTC", "Mars/Olympus", "../../etc/passwd", ""])),
        (wild_string(), wild_string(), field(&["69003", "98800", "2A004", ""]), wild_string(), field(&["France", ""])),
        (wild_string(), field(&["a@b.fr", "@", ""])),
    )
        .prop_map(|((code, name, kind), (siret, finess, ridet), (currency, timezone), (a1, a2, postcode, city, country), (phone, email))| {
            EstablishmentInput { code, name, kind, siret, finess, ridet, currency, timezone, address_line1: a1, address_line2: a2, postcode, city, country, phone, email }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// An establishment never panics; a parsed one has a short upper-case code, a known time
    /// zone, a RIDET only in XPF and a 5-digit postcode (`988…` in XPF).
    #[test]
    fn establishments_never_panic(raw in establishment_input()) {
        match parse_establishment(&raw) {
            Ok(e) => {
                prop_assert!(!e.code.is_empty() && e.code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_'));
                prop_assert!(jiff::tz::TimeZone::get(&e.timezone).is_ok());
                prop_assert!(e.ridet.is_none() || e.currency == Currency::Xpf);
                if let Some(p) = &e.postcode {
                    prop_assert!(p.len() == 5 && p.chars().all(|c| c.is_ascii_digit()));
                    prop_assert!(e.currency != Currency::Xpf || p.starts_with("988"));
                }
                prop_assert!(!e.country.is_empty());
            }
            Err(e) => prop_assert!(!e.is_empty() && e.0.iter().all(|f| !f.message.is_empty())),
        }
    }

    /// A site never panics; a parsed one has a code and a name.
    #[test]
    fn sites_never_panic(code in field(&["URG", "cms-rs", ""]), name in wild_string(), kind in field(&["service", "cms", "administration", "x"]),
                         a in wild_string(), postcode in field(&["69003", "1", ""]), city in wild_string(), active in prop::option::of(any::<bool>())) {
        match parse_site(&SiteInput { code, name, kind, address_line1: a, postcode, city, active }) {
            Ok(s) => prop_assert!(!s.code.is_empty() && !s.name.is_empty() && active.is_none_or(|x| x == s.active)),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    /// A series never panics; a parsed one has an upper-case code and a mask that parses again
    /// to itself.
    #[test]
    fn series_never_panic(code in field(&["FAC", "av", "F1", ""]), label in wild_string(),
                          mask in field(&["FAC-{YYYY}-{N:6}", "REC{YY}{N:5}", "FAC-{N:6}-{N:2}", "{N:99999999999}", "{", ""])) {
        match parse_series(&SeriesInput { code, label, mask }) {
            Ok(s) => {
                prop_assert!(!s.code.is_empty() && s.code.chars().all(|c| c.is_ascii_uppercase()));
                let again = SeriesMask::parse(s.mask.as_str()).ok();
                prop_assert_eq!(again.as_ref(), Some(&s.mask));
                let _ = s.mask.format(i32::MAX, u64::MAX);
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }
}
