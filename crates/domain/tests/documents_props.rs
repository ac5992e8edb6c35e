//! Property tests for `quittance_domain::documents` over extreme inputs: no function panics,
//! retention dates are exact or absent, file names stay safe and bounded.

mod common;

use std::collections::HashSet;

use common::{ext_date, ext_i64, wild_string};
use jiff::civil::Date;
use proptest::prelude::*;
use quittance_domain::documents::{
    Confidentiality, Kind, OnFile, Requirement, RequiredFor, Subject, Target, missing, past_retention, retention_until, safe_file_name, sniff,
};

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Pdf), Just(Kind::Jpeg), Just(Kind::Png)]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..64),
        1 => (prop::collection::vec(any::<u8>(), 0..2048), prop::sample::select(vec![&b"%PDF-"[..], &[0xFF, 0xD8, 0xFF][..], &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..], &b"%%EOF"[..]]))
            .prop_map(|(mut v, head)| { let mut out = head.to_vec(); out.append(&mut v); out }),
        1 => (any::<u8>(), 0usize..200_000).prop_map(|(b, n)| vec![b; n]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `sniff` accepts any bytes; what it recognises starts with that type's signature.
    #[test]
    fn sniff_never_panics(b in bytes()) {
        match sniff(&b) {
            Some(Kind::Pdf) => prop_assert!(b.starts_with(b"%PDF-")),
            Some(Kind::Jpeg) => prop_assert!(b.starts_with(&[0xFF, 0xD8, 0xFF])),
            Some(Kind::Png) => prop_assert!(b.starts_with(&[0x89, b'P', b'N', b'G'])),
            None => {}
        }
    }

    /// Any number of years from any date: the retention date is that many years later (same
    /// month, same day or the month's last day), or `None` past the calendar's ends.
    #[test]
    fn retention_is_exact_or_absent(d in ext_date(), years in ext_i64(), today in ext_date()) {
        match retention_until(d, years) {
            Some(u) => {
                prop_assert_eq!(i64::from(u.year()) - i64::from(d.year()), years);
                prop_assert_eq!(u.month(), d.month());
                prop_assert!(u.day() == d.day() || (d.month() == 2 && d.day() == 29 && u.day() == 28));
                prop_assert_eq!(past_retention(Some(u), today), u < today);
            }
            None => {
                let target = i64::from(d.year()) + i128::from(years).clamp(-30_000, 30_000) as i64;
                prop_assert!(!(-9999..=9999).contains(&target), "{d} + {years} years exists");
            }
        }
        prop_assert!(!past_retention(None, today));
    }

    /// Safe names are short, made of safe characters, and keep the type's extension, whatever
    /// the original name (huge, control characters, other scripts).
    #[test]
    fn safe_names_for_any_name(name in wild_string(), k in kind()) {
        let n = safe_file_name(&name, k);
        let ext = format!(".{}", k.extension());
        prop_assert!(n.ends_with(&ext), "{} does not end with {}", n, ext);
        prop_assert!(n.len() <= 80 + 4, "{}", n.len());
        prop_assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        prop_assert!(!n.starts_with('.') && !n.starts_with('-'));
        prop_assert_eq!(Kind::from_mime(k.mime()), Some(k));
        prop_assert!(Kind::from_mime(&name).is_none_or(|x| x.mime() == name));
    }

    /// Missing documents with extreme ids and unknown requirement codes: no panic, each label
    /// at most once, and only labels of requirements.
    #[test]
    fn missing_never_panics(
        reqs in prop::collection::vec((ext_i64(), "[A-Z]{1,3}", prop_oneof![prop::sample::select(RequiredFor::ALL.to_vec()).prop_map(|r| r.code().to_string()), wild_string()]), 0..6),
        patient in ext_i64(),
        stay in prop::option::of(ext_i64()),
        ids in prop::collection::vec(ext_i64(), 0..4),
        on in prop::collection::vec((prop::sample::select(Target::ALL.to_vec()), ext_i64(), ext_i64()), 0..6),
    ) {
        let reqs: Vec<Requirement> = reqs.into_iter().map(|(class_id, label, required_for)| Requirement { class_id, label, required_for }).collect();
        let s = Subject { patient_id: patient, stay_id: stay, compulsory: ids.clone(), complementary: ids.clone(), agreed_pecs: ids };
        let on: OnFile = on.into_iter().map(|(t, id, class)| (t.code().to_string(), id, class)).collect();
        let out = missing(&reqs, &s, &on);
        prop_assert_eq!(out.iter().collect::<HashSet<_>>().len(), out.len());
        prop_assert!(out.iter().all(|l| reqs.iter().any(|r| &r.label == l)));
        if stay.is_none() {
            prop_assert!(!out.iter().any(|l| reqs.iter().filter(|r| &r.label == l).all(|r| r.required_for == "patient" || r.required_for == "sejour")));
        }
    }

    /// Confidentiality codes: any text, only exact codes.
    #[test]
    fn codes_accept_any_text(t in wild_string()) {
        prop_assert_eq!(Confidentiality::from_code(&t).is_some(), t == "normal" || t == "confidentiel");
        prop_assert_eq!(RequiredFor::from_code(&t).map(RequiredFor::code), RequiredFor::ALL.iter().map(|r| r.code()).find(|c| *c == t));
    }
}

#[test]
fn retention_at_the_calendar_limits() {
    assert_eq!(retention_until(Date::MAX, 1), None);
    assert_eq!(retention_until(Date::MIN, -1), None);
    assert_eq!(retention_until(Date::MIN, 19_998), Some(jiff::civil::date(9999, 1, 1)));
    assert_eq!(retention_until(Date::MIN, i64::MAX), None);
    assert_eq!(retention_until(Date::MAX, i64::MIN), None);
}

mod input_props {
    use super::common::{ext_date, wild_string};
    use super::*;
    use quittance_domain::documents::input::{ClassInput, UploadInput, parse_class, parse_target, parse_upload, size_fr};

    fn upload_input() -> impl Strategy<Value = UploadInput> {
        (wild_string(), wild_string(), wild_string(), wild_string(), wild_string()).prop_map(|(target, class_id, confidentiality, title, document_date)| UploadInput {
            target,
            class_id,
            confidentiality,
            title,
            document_date,
        })
    }

    fn class_input() -> impl Strategy<Value = ClassInput> {
        (wild_string(), wild_string(), wild_string(), wild_string(), wild_string(), wild_string(), wild_string()).prop_map(
            |(code, label, retention_years, confidentiality, required_for, position, active)| ClassInput {
                code,
                label,
                retention_years,
                confidentiality,
                required_for,
                position,
                active,
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any upload parses or names its fields; what parses is consistent with the bytes and the day.
        #[test]
        fn parse_upload_never_panics(raw in upload_input(), b in bytes(), max in prop_oneof![Just(0usize), Just(usize::MAX), 0usize..300_000], today in ext_date()) {
            match parse_upload(&raw, &b, max, today) {
                Ok(d) => {
                    prop_assert_eq!(Some(d.kind), sniff(&b));
                    prop_assert!(d.size_bytes == b.len() && b.len() <= max);
                    prop_assert!(d.document_date <= today);
                    prop_assert!(d.title.as_ref().is_none_or(|t| t.chars().count() <= 200));
                }
                Err(e) => {
                    prop_assert!(!e.is_empty());
                    for f in &e.0 {
                        prop_assert!(["file", "target", "class_id", "confidentiality", "title", "document_date"].contains(&f.field.as_str()), "{:?}", f);
                        prop_assert!(!f.message.is_empty());
                    }
                }
            }
        }

        /// Any target text: a known kind with a positive id, the file itself, or a French refusal.
        #[test]
        fn parse_target_never_panics(t in wild_string()) {
            match parse_target(&t) {
                Ok(r) => prop_assert_eq!(r.id.is_none(), r.kind == Target::Patient),
                Err(m) => prop_assert_eq!(m, "Rattachement inconnu."),
            }
        }

        /// Any class form parses into bounded values or names its fields.
        #[test]
        fn parse_class_never_panics(raw in class_input()) {
            match parse_class(&raw) {
                Ok(c) => {
                    prop_assert!((1..=100).contains(&c.retention_years));
                    prop_assert!(!c.code.is_empty() && c.code.len() <= 40 && c.code.chars().all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_'));
                    prop_assert!(!c.label.is_empty() && c.label.chars().count() <= 120);
                }
                Err(e) => {
                    prop_assert!(!e.is_empty());
                    for f in &e.0 {
                        prop_assert!(["code", "label", "retention_years", "confidentiality", "required_for", "position"].contains(&f.field.as_str()), "{:?}", f);
                    }
                }
            }
        }

        /// Sizes in French for any count of bytes.
        #[test]
        fn size_fr_never_panics(n in any::<i64>()) {
            let s = size_fr(n);
            prop_assert!(s.ends_with("octets") || s.ends_with("Kio") || s.ends_with("Mio"));
        }
    }
}
