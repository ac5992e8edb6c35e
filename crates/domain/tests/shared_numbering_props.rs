//! Property tests for `quittance_domain::numbering`.

use proptest::prelude::*;
use quittance_domain::numbering::{SeriesMask, is_gapless};

fn literal() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./-]{0,4}"
}

fn year_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("{YYYY}".to_string()),
        Just("{YY}".to_string())
    ]
}

fn number_token() -> impl Strategy<Value = (String, usize)> {
    prop_oneof![
        Just(("{N}".to_string(), 0)),
        (1usize..=12).prop_map(|k| (format!("{{N:{k}}}"), k))
    ]
}

/// A valid mask and the padding width of its number.
fn mask() -> impl Strategy<Value = (String, usize)> {
    (
        literal(),
        year_token(),
        literal(),
        number_token(),
        literal(),
        year_token(),
        literal(),
        any::<bool>(),
    )
        .prop_map(|(a, y1, b, (n, k), c, y2, d, year_first)| {
            let text = if year_first {
                format!("{a}{y1}{b}{n}{c}{d}")
            } else {
                format!("{a}{n}{b}{y2}{c}{d}")
            };
            (text, k)
        })
}

/// Shortlex order: shorter first, then lexicographic.
fn shortlex_less(a: &str, b: &str) -> bool {
    (a.len(), a) < (b.len(), b)
}

proptest! {
    #[test]
    fn valid_masks_parse_and_display_back((text, _) in mask()) {
        let m = SeriesMask::parse(&text).unwrap();
        prop_assert_eq!(m.to_string(), text.clone());
        prop_assert_eq!(m.as_str(), text.as_str());
        prop_assert_eq!(SeriesMask::parse(&m.to_string()), Ok(m));
    }

    #[test]
    fn format_is_strictly_increasing((text, _) in mask(), year in 1990i32..2200, a in any::<u64>(), b in any::<u64>()) {
        prop_assume!(a != b);
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let m = SeriesMask::parse(&text).unwrap();
        let (x, y) = (m.format(year, lo), m.format(year, hi));
        prop_assert!(shortlex_less(&x, &y), "{} !< {}", x, y);
    }

    #[test]
    fn padded_format_sorts_lexicographically(
        pre in literal(), y in year_token(), post in literal(), k in 6usize..=12,
        year in 1990i32..2200, a in 0u64..999_999, delta in 1u64..1_000_000,
    ) {
        let b = (a + delta).min(999_999);
        prop_assume!(a < b);
        let text = format!("{pre}{y}{{N:{k}}}{post}");
        let m = SeriesMask::parse(&text).unwrap();
        prop_assert!(m.format(year, a) < m.format(year, b));
        prop_assert_eq!(m.format(year, a).len(), m.format(year, b).len());
    }

    #[test]
    fn format_parses_back_unique((text, _) in mask(), year in 1990i32..2200, n in any::<u64>(), other in any::<u64>()) {
        let m = SeriesMask::parse(&text).unwrap();
        let s = m.format(year, n);
        prop_assert_eq!(m.extract_number(&s, year), Some(n));
        if other != n {
            prop_assert_ne!(m.format(year, other), s);
        }
    }

    #[test]
    fn formatted_length_follows_the_mask((text, k) in mask(), year in 1000i32..=9999, n in any::<u64>()) {
        let m = SeriesMask::parse(&text).unwrap();
        let yyyy = text.matches("{YYYY}").count();
        let yy = text.matches("{YY}").count();
        let number_token = if k == 0 { "{N}".to_string() } else { format!("{{N:{k}}}") };
        let literal_len = text.len() - 6 * yyyy - 4 * yy - number_token.len();
        let expected = literal_len + 4 * yyyy + 2 * yy + k.max(n.to_string().len());
        prop_assert_eq!(m.format(year, n).len(), expected);
    }

    #[test]
    fn extract_number_accepts_only_canonical_forms(
        pre in literal(), y in 0usize..3, post in literal(), k in 0usize..=12,
        year in 1990i32..2100, digits in "[0-9]{1,14}",
    ) {
        let (token, rendered_year) = match y {
            0 => ("", String::new()),
            1 => ("{YYYY}", year.to_string()),
            _ => ("{YY}", format!("{:02}", year % 100)),
        };
        let n_token = if k == 0 { "{N}".to_string() } else { format!("{{N:{k}}}") };
        let m = SeriesMask::parse(&format!("{pre}{token}{n_token}{post}")).unwrap();
        let candidate = format!("{pre}{rendered_year}{digits}{post}");
        let n: u64 = digits.parse().unwrap();
        let canonical = format!("{n:0k$}") == digits;
        prop_assert_eq!(m.extract_number(&candidate, year), canonical.then_some(n), "{}", candidate);
        prop_assert_eq!(m.extract_number(&format!("{candidate}x"), year), None);
    }

    #[test]
    fn year_changes_the_number_when_in_mask((text, _) in mask(), n in any::<u64>(), year in 2000i32..2098) {
        let m = SeriesMask::parse(&text).unwrap();
        let differs = m.format(year, n) != m.format(year + 1, n);
        prop_assert_eq!(differs, text.contains("{Y"));
    }

    #[test]
    fn arbitrary_masks_never_panic(text in "[{}A-Z0-9:N -]{0,16}") {
        if let Ok(m) = SeriesMask::parse(&text) {
            prop_assert_eq!(text.matches("{N").count(), 1);
            let _ = m.format(2026, 1);
        }
    }

    #[test]
    fn gapless_detects_missing_and_duplicates(n in 1u64..200, pick in any::<prop::sample::Index>(), shuffle_seed in any::<u64>()) {
        let mut v: Vec<u64> = (1..=n).collect();
        // Deterministic shuffle.
        let len = v.len();
        for i in 0..len {
            let j = (shuffle_seed.wrapping_mul(i as u64 + 1) % len as u64) as usize;
            v.swap(i, j);
        }
        prop_assert!(is_gapless(&v));
        let i = pick.index(len);
        let mut missing = v.clone();
        missing.remove(i);
        prop_assert_eq!(is_gapless(&missing), missing.is_empty() || v[i] == n);
        let mut dup = v.clone();
        dup.push(v[i]);
        prop_assert!(!is_gapless(&dup));
    }
}

mod common;

/// Extreme inputs: any year, numbers at the bounds, any text.
mod extreme {
    use super::common::{ext_i32, ext_u64, wild_string};
    use proptest::prelude::*;
    use quittance_domain::numbering::{SeriesMask, is_gapless};

    fn some_mask() -> impl Strategy<Value = SeriesMask> {
        prop::sample::select(vec!["FAC-{YYYY}-{N:6}", "{N}", "R{YY}{N:12}", "{YYYY}{N:1}/x", "A.{N}-{YY}"]).prop_map(|m| SeriesMask::parse(m).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any text as a mask: a mask that displays as the text, or a French error.
        #[test]
        fn any_text_as_a_mask(s in wild_string()) {
            match SeriesMask::parse(&s) {
                Ok(m) => prop_assert_eq!(m.as_str(), s.as_str()),
                Err(e) => prop_assert!(e.to_string().starts_with("Masque de numérotation invalide")),
            }
        }

        /// Any year (negative, `i32` bounds) and any number: formatting never panics, and the
        /// number is read back from what was formatted.
        #[test]
        fn any_year_any_number(m in some_mask(), year in ext_i32(), n in ext_u64(), junk in wild_string()) {
            let s = m.format(year, n);
            prop_assert_eq!(m.extract_number(&s, year), Some(n));
            if let Some(x) = m.extract_number(&junk, year) {
                prop_assert_eq!(m.format(year, x), junk);
            }
        }

        /// Gapless with numbers at the bounds.
        #[test]
        fn gapless_at_the_bounds(v in prop::collection::vec(ext_u64(), 0..8)) {
            let mut s = v.clone();
            s.sort_unstable();
            let expected = s.iter().enumerate().all(|(i, &x)| x == i as u64 + 1);
            prop_assert_eq!(is_gapless(&v), expected);
        }
    }
}
