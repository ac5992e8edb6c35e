//! Property tests for `quittance_domain::fr`.

use jiff::civil::Date;
use proptest::prelude::*;
use quittance_domain::fr::{format_date_fr, format_int_fr, normalize_search, parse_date_fr};

/// Accented variants of base letters, written independently of the
/// implementation's table.
const VARIANTS: &[(char, &str)] = &[
    ('a', "àâäáãåāăą"),
    ('c', "çćčĉċ"),
    ('e', "éèêëēėęě"),
    ('i', "îïíìīįı"),
    ('o', "ôöóòõøōő"),
    ('u', "ùûüúūůűų"),
    ('y', "ÿýŷ"),
    ('n', "ñńňņ"),
    ('s', "śšşș"),
    ('z', "źżž"),
    ('l', "łľĺļ"),
    ('g', "ğģ"),
    ('r', "řŕ"),
    ('t', "ťţț"),
    ('d', "ďđ"),
];

/// A plain name and the same name with some letters accented.
fn accented_name() -> impl Strategy<Value = (String, String)> {
    (
        "[a-zA-Z]{1,10}( [a-zA-Z]{1,10}){0,2}",
        prop::collection::vec(any::<prop::sample::Index>(), 40),
    )
        .prop_map(|(plain, picks)| {
            let accented = plain
                .chars()
                .zip(picks.iter().cycle())
                .map(|(c, pick)| {
                    let lower = c.to_ascii_lowercase();
                    match VARIANTS.iter().find(|(base, _)| *base == lower) {
                        Some((_, vs)) => {
                            let vs: Vec<char> = vs.chars().collect();
                            // Index len means "keep the plain letter".
                            let i = pick.index(vs.len() + 1);
                            let v = if i == vs.len() { lower } else { vs[i] };
                            if c.is_ascii_uppercase() {
                                v.to_uppercase().next().unwrap()
                            } else {
                                v
                            }
                        }
                        None => c,
                    }
                })
                .collect();
            (plain, accented)
        })
}

fn french_name() -> impl Strategy<Value = String> {
    "[a-zA-ZàâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ '’-]{0,30}"
}

proptest! {
    #[test]
    fn normalize_is_idempotent(s in "\\PC{0,40}") {
        let once = normalize_search(&s);
        prop_assert_eq!(normalize_search(&once), once.clone());
    }

    #[test]
    fn normalize_output_shape(s in "\\PC{0,40}") {
        let n = normalize_search(&s);
        prop_assert_eq!(n.trim(), n.as_str());
        prop_assert!(!n.contains("  "));
        let forbidden = ['-', '\'', '’', '\t', '\u{a0}', '\u{202f}'];
        let has_forbidden = n.contains(forbidden);
        prop_assert!(!has_forbidden, "{:?}", n);
    }

    #[test]
    fn normalize_is_case_blind(s in french_name()) {
        let n = normalize_search(&s);
        prop_assert_eq!(normalize_search(&s.to_uppercase()), n.clone());
        prop_assert_eq!(normalize_search(&s.to_lowercase()), n.clone());
        prop_assert!(n.is_ascii(), "{:?} → {:?}", s, n);
    }

    #[test]
    fn normalize_is_accent_blind((plain, accented) in accented_name()) {
        let expected = plain.to_ascii_lowercase();
        prop_assert_eq!(normalize_search(&accented), expected.clone(), "{}", accented);
        prop_assert_eq!(normalize_search(&accented.to_uppercase()), expected);
    }

    #[test]
    fn hyphens_and_apostrophes_are_spaces(a in "[a-z]{1,8}", b in "[a-z]{1,8}", sep in prop_oneof![Just("-"), Just("'"), Just("’"), Just(" - "), Just("  ")]) {
        prop_assert_eq!(normalize_search(&format!(" {a}{sep}{b} ")), format!("{a} {b}"));
    }

    #[test]
    fn int_format_round_trips(n in any::<i64>()) {
        let s = format_int_fr(n);
        let digits: String = s.chars().filter(|&c| c != '\u{202F}').collect();
        prop_assert_eq!(digits.parse::<i64>().unwrap(), n);
        let unsigned = s.trim_start_matches('-');
        let groups: Vec<&str> = unsigned.split('\u{202F}').collect();
        prop_assert!(!groups[0].is_empty() && groups[0].len() <= 3);
        prop_assert!(groups[1..].iter().all(|g| g.len() == 3));
    }

    #[test]
    fn date_round_trips(y in 1900i16..2200, m in 1i8..=12, d in 1i8..=31) {
        let Ok(date) = Date::new(y, m, d) else { return Ok(()); };
        let s = format_date_fr(date);
        prop_assert_eq!(s.len(), 10);
        prop_assert_eq!(parse_date_fr(&s), Ok(date));
        prop_assert_eq!(parse_date_fr(&s.replace('/', "-")), Ok(date));
        prop_assert_eq!(parse_date_fr(&format!(" {} ", date)), Ok(date)); // ISO
    }

    #[test]
    fn date_parse_never_panics(s in "\\PC{0,14}") {
        if let Err(e) = parse_date_fr(&s) {
            prop_assert!(e.starts_with("Date invalide"));
        }
    }
}

mod common;

/// Extreme inputs: dates and instants at jiff's limits, any zone name, huge and odd texts.
mod extreme {
    use super::common::{ext_date, ext_i64, wild_string};
    use jiff::Timestamp;
    use proptest::prelude::*;
    use quittance_domain::fr::{format_date_fr, format_datetime_fr, format_int_fr, normalize_search, parse_date_fr};

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        prop_oneof![
            Just(Timestamp::MIN),
            Just(Timestamp::MAX),
            Just(Timestamp::UNIX_EPOCH),
            (Timestamp::MIN.as_second()..=Timestamp::MAX.as_second()).prop_map(|s| Timestamp::from_second(s).unwrap()),
        ]
    }

    fn zone() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec!["Europe/Paris", "Pacific/Noumea", "Pacific/Kiritimati", "Etc/GMT+12", "Etc/GMT-14", "UTC", ""]).prop_map(String::from),
            wild_string(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any instant in any zone (unknown zones fall back to UTC): `JJ/MM/AAAA HH:MM`.
        #[test]
        fn datetimes_at_the_limits(ts in timestamp(), tz in zone()) {
            let s = format_datetime_fr(ts, &tz);
            prop_assert!(s.len() >= 16, "{}", s);
        }

        /// Dates at the limits format, and those of years 0 to 9999 parse back.
        #[test]
        fn dates_at_the_limits(d in ext_date()) {
            let s = format_date_fr(d);
            if d.year() >= 0 {
                prop_assert_eq!(parse_date_fr(&s), Ok(d));
            } else {
                prop_assert!(parse_date_fr(&s).is_err());
            }
        }

        /// Any text: a date or a French message; normalising is idempotent and never panics.
        #[test]
        fn any_text(s in wild_string(), n in ext_i64()) {
            if let Err(m) = parse_date_fr(&s) {
                prop_assert!(m.starts_with("Date invalide"));
            }
            let k = normalize_search(&s);
            prop_assert_eq!(normalize_search(&k), k.clone());
            prop_assert_eq!(format_int_fr(n).replace('\u{202F}', "").parse::<i64>(), Ok(n));
        }
    }
}
