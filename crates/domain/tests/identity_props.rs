//! Property tests for `quittance_domain::identity`.

use jiff::civil::{Date, date};
use proptest::prelude::*;
use quittance_domain::identity::{
    BirthDate, IdentityStatus, check_status, nir_key, normalize_birth_name, search_key,
    validate_nir,
};

// --- NIR ---------------------------------------------------------------------

/// NIR key written independently: 2A → 19, 2B → 18, then 97 − (n mod 97).
fn reference_key(body: &str) -> u64 {
    let digits = body.replace("2A", "19").replace("2B", "18");
    let n: u64 = digits.parse().unwrap();
    97 - n % 97
}

/// A structurally valid 13-character NIR body.
fn nir_body() -> impl Strategy<Value = String> {
    let sex = prop::sample::select(vec!['1', '2', '3', '4', '7', '8']);
    let month = prop_oneof![1u32..=12, 20u32..=42, 50u32..=99];
    let dept = prop_oneof![
        8 => (0u32..=99).prop_map(|d| format!("{d:02}")),
        1 => Just("2A".to_string()),
        1 => Just("2B".to_string()),
    ];
    (sex, 0u32..=99, month, dept, 0u32..=999, 0u32..=999).prop_map(
        |(sex, year, month, dept, commune, order)| {
            format!("{sex}{year:02}{month:02}{dept}{commune:03}{order:03}")
        },
    )
}

/// Every string obtained by replacing exactly one ASCII digit by another.
fn single_digit_changes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (pos, &orig) in s.as_bytes().iter().enumerate() {
        if !orig.is_ascii_digit() {
            continue;
        }
        for d in b'0'..=b'9' {
            if d != orig {
                let mut b = s.as_bytes().to_vec();
                b[pos] = d;
                out.push(String::from_utf8(b).unwrap());
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn valid_nir_is_accepted(body in nir_body()) {
        let key = reference_key(&body);
        prop_assert_eq!(nir_key(&body).map(u64::from), Some(key));
        let nir = format!("{body}{key:02}");
        prop_assert_eq!(validate_nir(&nir), Ok(nir.clone()));
        // Spaces, dots and lowercase letters are tolerated on input.
        let spaced = format!(
            "{} {} {} {} {} {} {}",
            &nir[0..1], &nir[1..3], &nir[3..5], &nir[5..7], &nir[7..10], &nir[10..13], &nir[13..]
        );
        prop_assert_eq!(validate_nir(&spaced.to_lowercase()), Ok(nir.clone()));
        prop_assert_eq!(validate_nir(&spaced.replace(' ', ".")), Ok(nir));
    }

    #[test]
    fn single_digit_change_is_refused(body in nir_body()) {
        let nir = format!("{body}{:02}", reference_key(&body));
        for changed in single_digit_changes(&nir) {
            prop_assert!(validate_nir(&changed).is_err(), "accepted {} (from {})", changed, nir);
        }
    }

    #[test]
    fn wrong_key_gives_key_message(body in nir_body(), delta in 1u64..=96) {
        let key = (reference_key(&body) - 1 + delta) % 97 + 1;
        let nir = format!("{body}{key:02}");
        prop_assert_eq!(validate_nir(&nir), Err("Clé NIR invalide".to_string()));
    }
}

// --- search key ----------------------------------------------------------------

/// Letters with diacritics or ligatures and their unaccented spelling.
const FOLDS: &[(char, &str)] = &[
    ('à', "a"),
    ('â', "a"),
    ('ä', "a"),
    ('é', "e"),
    ('è', "e"),
    ('ê', "e"),
    ('ë', "e"),
    ('î', "i"),
    ('ï', "i"),
    ('ô', "o"),
    ('ö', "o"),
    ('ù', "u"),
    ('û', "u"),
    ('ü', "u"),
    ('ÿ', "y"),
    ('ç', "c"),
    ('ñ', "n"),
    ('œ', "oe"),
    ('æ', "ae"),
    ('É', "E"),
    ('È', "E"),
    ('Ê', "E"),
    ('À', "A"),
    ('Ç', "C"),
    ('Ô', "O"),
    ('Ï', "I"),
    ('Œ', "OE"),
    ('Æ', "AE"),
];

fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match FOLDS.iter().find(|(a, _)| *a == c) {
            Some((_, base)) => base.to_string(),
            None => c.to_string(),
        })
        .collect()
}

/// Name-like text: ASCII letters, accented letters, spaces, hyphens and
/// apostrophes (straight and typographic).
fn name_text() -> impl Strategy<Value = String> {
    let mut alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
    alphabet.extend(FOLDS.iter().map(|(c, _)| *c));
    alphabet.extend([' ', ' ', ' ', '-', '-', '\'', '\u{2019}']);
    prop::collection::vec(prop::sample::select(alphabet), 0..30)
        .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn search_key_is_case_accent_and_separator_blind(s in name_text()) {
        let k = search_key(&s);
        prop_assert_eq!(&search_key(&s.to_uppercase()), &k);
        prop_assert_eq!(&search_key(&s.to_lowercase()), &k);
        prop_assert_eq!(&search_key(&strip_accents(&s)), &k);
        let no_separators: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\'' | '\u{2019}'))
            .collect();
        prop_assert_eq!(&search_key(&no_separators), &k);
        prop_assert!(k.bytes().all(|b| b.is_ascii_lowercase()), "{:?}", k);
        prop_assert_eq!(search_key(&k), k);
    }
}

// --- birth date ----------------------------------------------------------------

/// A valid, possibly incomplete, birth date between 1880 and 2099.
fn birth_date() -> impl Strategy<Value = BirthDate> {
    (1880i16..=2099, 0u8..=12, 0u8..=31).prop_map(|(year, month, day)| {
        if month == 0 {
            return BirthDate {
                year,
                month: None,
                day: None,
            };
        }
        let last = Date::new(year, month as i8, 1).unwrap().days_in_month() as u8;
        let day = if day == 0 {
            None
        } else {
            Some((day - 1) % last + 1)
        };
        BirthDate {
            year,
            month: Some(month),
            day,
        }
    })
}

fn complete_birth_date() -> impl Strategy<Value = BirthDate> {
    birth_date().prop_filter("complete", |d| d.is_complete())
}

proptest! {
    #[test]
    fn storage_round_trips(d in birth_date()) {
        let stored = d.to_storage();
        prop_assert_eq!(stored.len(), 10);
        prop_assert_eq!(BirthDate::from_storage(&stored), Some(d));
        // The French form parses back to the same value.
        prop_assert_eq!(BirthDate::parse_fr(&d.format_fr(), date(2100, 1, 1)), Ok(d));
        prop_assert_eq!(BirthDate::parse_fr(&stored, date(2100, 1, 1)), Ok(d));
    }

    #[test]
    fn storage_order_is_date_order(a in complete_birth_date(), b in complete_birth_date()) {
        prop_assert_eq!(a.to_storage().cmp(&b.to_storage()), a.cmp(&b));
        prop_assert_eq!(a.date().unwrap().cmp(&b.date().unwrap()), a.cmp(&b));
    }

    #[test]
    fn storage_order_matches_struct_order(a in birth_date(), b in birth_date()) {
        prop_assert_eq!(a.to_storage().cmp(&b.to_storage()), a.cmp(&b));
    }

    #[test]
    fn age_is_consistent_with_the_calendar(d in complete_birth_date(), days in 0i32..40_000) {
        let birth = d.date().unwrap();
        let Ok(on) = birth.checked_add(jiff::Span::new().days(days)) else {
            return Ok(());
        };
        let age = d.age_on(on).unwrap();
        prop_assert!(age >= 0);
        // Reached `age` birthdays but not `age + 1` (29 February → 1 March).
        let nth = |n: i16| {
            let y = birth.year() + n;
            Date::new(y, birth.month(), birth.day())
                .unwrap_or_else(|_| date(y, 3, 1))
        };
        prop_assert!(nth(age) <= on && on < nth(age + 1), "{:?} on {}: {}", d, on, age);
    }
}

// --- names -------------------------------------------------------------------

proptest! {
    #[test]
    fn birth_name_normalisation_is_idempotent(s in name_text()) {
        if let Ok(n) = normalize_birth_name(&s) {
            prop_assert_eq!(normalize_birth_name(&n), Ok(n.clone()));
            prop_assert!(
                n.bytes().all(|b| b.is_ascii_uppercase() || b == b' ' || b == b'-' || b == b'\''),
                "{:?}", n
            );
            prop_assert!(!n.starts_with(' ') && !n.ends_with(' ') && !n.contains("  "));
            prop_assert_eq!(search_key(&n), search_key(&s));
        }
    }

    #[test]
    fn plain_words_are_accepted(words in prop::collection::vec("[a-zA-Zéèçœ]{1,8}", 1..5)) {
        let input = words.join(" ");
        let n = normalize_birth_name(&input).unwrap();
        prop_assert_eq!(n.split(' ').count(), words.len());
        prop_assert_eq!(search_key(&n), search_key(&input));
    }
}

// --- status matrix -------------------------------------------------------------

#[test]
fn status_matrix_is_exhaustive() {
    for status in IdentityStatus::ALL {
        for document in [false, true] {
            for insi in [false, true] {
                let expected = match status {
                    IdentityStatus::Provisoire => true,
                    IdentityStatus::Recuperee => insi,
                    IdentityStatus::Validee => document,
                    IdentityStatus::Qualifiee => document && insi,
                };
                assert_eq!(
                    check_status(status, document, insi).is_ok(),
                    expected,
                    "{status:?} document={document} insi={insi}"
                );
            }
        }
    }
    // Qualifiée is reachable with both pieces of evidence only.
    let allowed: Vec<(bool, bool)> = [(false, false), (false, true), (true, false), (true, true)]
        .into_iter()
        .filter(|&(d, i)| check_status(IdentityStatus::Qualifiee, d, i).is_ok())
        .collect();
    assert_eq!(allowed, [(true, true)]);
}

// --- extreme inputs --------------------------------------------------------------

mod common;

mod extreme {
    use super::common::{ext_date, wild_string};
    use proptest::prelude::*;
    use quittance_domain::identity::{
        self, BirthDate, DocumentType, IdentityAttribute, IdentityStatus, Sex, check_attributes, is_abroad, is_new_caledonia, nir_key, nir_sex,
        normalize_birth_name, normalize_first_names, normalize_used_first_name, normalize_used_name, search_key, validate_birthplace,
        validate_cafat, validate_nir, validate_postcode,
    };

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Every text validator accepts any text without panicking; what it returns is
        /// normalised (validating it again gives it back).
        #[test]
        fn validators_accept_any_text(s in wild_string(), country in prop_oneof![Just(String::new()), Just("Nouvelle-Calédonie".to_string()), wild_string()]) {
            if let Ok(n) = validate_nir(&s) {
                prop_assert_eq!(n.len(), 15);
                prop_assert_eq!(validate_nir(&n), Ok(n.clone()));
                prop_assert!(nir_sex(&n).is_some());
            }
            let _ = nir_key(&s);
            let _ = nir_sex(&s);
            if let Ok(c) = validate_cafat(&s) {
                prop_assert_eq!(validate_cafat(&c), Ok(c.clone()));
            }
            if let Ok(c) = validate_birthplace(&s) {
                prop_assert_eq!(c.len(), 5);
                prop_assert_eq!(validate_birthplace(&c), Ok(c.clone()));
            }
            prop_assert!(!(is_abroad(&s) && is_new_caledonia(&s)));
            if let Ok(p) = validate_postcode(&s, &country) {
                prop_assert_eq!(validate_postcode(&p, &country), Ok(p.clone()));
            }
            for f in [normalize_birth_name, |x: &str| normalize_used_name(x).map(Option::unwrap_or_default), |x: &str| normalize_used_first_name(x).map(Option::unwrap_or_default)] {
                if let Ok(n) = f(&s) {
                    prop_assert!(n.len() <= identity::NAME_MAX_CHARS);
                    prop_assert!(n.bytes().all(|b| b.is_ascii_uppercase() || b" -'".contains(&b)));
                }
            }
            if let Ok(v) = normalize_first_names(&s) {
                prop_assert!(!v.is_empty() && v.iter().all(|p| !p.is_empty() && p.len() <= identity::NAME_MAX_CHARS));
            }
            let k = search_key(&s);
            prop_assert_eq!(search_key(&k), k.clone());
            let _ = check_attributes(&[s.clone(), String::new(), s.to_uppercase()]);
            for t in [Sex::from_code(&s).map(Sex::code), IdentityStatus::from_code(&s).map(IdentityStatus::code), DocumentType::from_code(&s).map(DocumentType::code), IdentityAttribute::from_code(&s).map(IdentityAttribute::code)].into_iter().flatten() {
                prop_assert!(t.eq_ignore_ascii_case(s.trim()));
            }
        }

        /// Birth dates: any text and any "today" (jiff's limits included), no panic; what is
        /// accepted is not after today, not before 1880, and round-trips through storage.
        #[test]
        fn birth_dates_accept_any_text(s in prop_oneof![wild_string(), "[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", "[0-9]{4}-[0-9]{2}-[0-9]{2}"], today in ext_date()) {
            if let Ok(b) = BirthDate::parse_fr(&s, today) {
                prop_assert!(b.year >= identity::MIN_BIRTH_YEAR);
                prop_assert_eq!(BirthDate::from_storage(&b.to_storage()), Some(b));
                prop_assert!(b.date().is_none_or(|d| d <= today));
                if let Some(age) = b.age_on(today) {
                    prop_assert!(age >= 0);
                }
            }
            let _ = BirthDate::from_storage(&s);
        }

        /// A `BirthDate` built by hand with any field values (a bad row): every method answers.
        #[test]
        fn birth_date_methods_accept_any_fields(year in any::<i16>(), month in prop::option::of(any::<u8>()), day in prop::option::of(any::<u8>()), on in ext_date()) {
            let b = BirthDate { year, month, day };
            let _ = (b.to_storage(), b.format_fr(), b.is_complete(), b.date());
            if let Some(age) = b.age_on(on) {
                prop_assert!(age >= 0);
                prop_assert!(i32::from(age) <= i32::from(on.year()) - i32::from(year));
            }
            // `Some(0)` is stored as `00`, i.e. unknown: it reads back as `None`.
            if let Some(back) = BirthDate::from_storage(&b.to_storage()) {
                prop_assert_eq!(back, BirthDate { year, month: month.filter(|m| *m != 0), day: day.filter(|d| *d != 0) });
            }
        }
    }
}
