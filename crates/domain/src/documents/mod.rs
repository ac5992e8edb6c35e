//! Filed documents: which file types are accepted (recognised from their content,
//! never from the name), the classification plan's vocabulary, retention dates,
//! and which required documents a file or stay lacks.

use jiff::civil::Date;

use crate::shared::codes::Codes;

pub mod input;

pub use input::size_fr;

/// The accepted file types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pdf,
    Jpeg,
    Png,
}

impl Kind {
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Pdf => "application/pdf",
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
        }
    }

    pub fn from_mime(m: &str) -> Option<Kind> {
        [Kind::Pdf, Kind::Jpeg, Kind::Png].into_iter().find(|k| k.mime() == m)
    }
}

/// Recognises a PDF, JPEG or PNG from its first bytes (and, for a PDF, its
/// end-of-file marker); anything else is refused whatever its name says.
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"%PDF-") {
        // A PDF ends with %%EOF, possibly followed by whitespace; allow trailing junk
        // written by some scanners within the last kilobyte.
        let tail = &bytes[bytes.len().saturating_sub(1024)..];
        return tail.windows(5).any(|w| w == b"%%EOF").then_some(Kind::Pdf);
    }
    if bytes.len() >= 4 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
        return Some(Kind::Jpeg);
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) && bytes.len() > 8 + 25 {
        return Some(Kind::Png);
    }
    None
}

/// The French message for a refused upload.
pub const WRONG_TYPE: &str = "Type de fichier refusé : le contenu n'est ni un PDF, ni une image JPEG ou PNG (l'extension du nom ne compte pas).";

crate::code_enum! {
    /// Confidentiality level of a document.
    pub enum Confidentiality ("confidentialité") {
        Normal = "normal", "Normal — tout agent autorisé sur le dossier";
        Confidentiel = "confidentiel", "Confidentiel — agents habilités aux documents confidentiels";
    }
}

crate::code_enum! {
    /// What a class of documents is required for (the empty code: never required).
    pub enum RequiredFor ("exigence de document") {
        Jamais = "", "Jamais exigé";
        Patient = "patient", "Chaque dossier ayant un séjour (ex. pièce d'identité)";
        Sejour = "sejour", "Chaque séjour (ex. bulletin d'admission)";
        DroitObligatoire = "droit_obligatoire", "Chaque droit obligatoire utilisé (ex. attestation de droits)";
        DroitComplementaire = "droit_complementaire", "Chaque complémentaire utilisée (ex. carte de mutuelle)";
        PecAccordee = "pec_accordee", "Chaque prise en charge accordée (réponse de l'organisme)";
    }
}

crate::code_enum! {
    /// What a document is attached to.
    pub enum Target ("rattachement du document") {
        Patient = "patient", "Dossier patient";
        Droit = "droit", "Droit (couverture)";
        Pec = "pec", "Prise en charge";
        Sejour = "sejour", "Séjour";
    }
}

crate::code_enum! {
    /// Where a document's content is kept (the `storage` column of `documents`).
    pub enum ContentStore ("emplacement du contenu") {
        Base = "base", "Base de données";
        Dossier = "dossier", "Dossier des documents";
    }
}

/// Confidentiality levels of a document.
pub const CONFIDENTIALITY: Codes = Confidentiality::TABLE;

/// What a class of documents is required for, when it is required.
pub const REQUIRED_FOR: Codes = RequiredFor::TABLE;

/// What a document is attached to.
pub const TARGETS: Codes = Target::TABLE;

/// The reason of a withdrawal: required, 300 characters at most.
pub fn parse_withdrawal_reason(raw: &str) -> Result<String, crate::validation::FieldErrors> {
    let mut e = crate::validation::FieldErrors::new();
    let reason = e.required("reason", raw, 300);
    e.into_result()?;
    Ok(reason)
}

/// The last day a document must be kept: its date plus the class's retention.
/// Returns `None` when the period overflows the calendar (then it is kept); any `i64` accepted.
pub fn retention_until(document_date: Date, retention_years: i64) -> Option<Date> {
    crate::dates::add_years(document_date, retention_years)
}

/// Whether a document may now be eliminated: its retention is over.
pub fn past_retention(until: Option<Date>, today: Date) -> bool {
    until.is_some_and(|u| u < today)
}

/// A class of the plan that is required somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub class_id: i64,
    pub label: String,
    /// One of the codes of [`REQUIRED_FOR`] (never empty here).
    pub required_for: String,
}

/// What is attached: `(target kind, target id, class id)`.
pub type OnFile = std::collections::HashSet<(String, i64, i64)>;

/// The things of one stay a requirement may apply to.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub patient_id: i64,
    pub stay_id: Option<i64>,
    /// Compulsory coverages in use on the stay (ids).
    pub compulsory: Vec<i64>,
    /// Complementary coverages in use on the stay (ids).
    pub complementary: Vec<i64>,
    /// Agreed prises en charge of the stay (ids).
    pub agreed_pecs: Vec<i64>,
}

/// The labels of the required documents missing for a stay, each once, in plan order.
/// A patient-level requirement applies only to files with a stay.
pub fn missing(reqs: &[Requirement], s: &Subject, on_file: &OnFile) -> Vec<String> {
    let has = |kind: &str, id: i64, class: i64| on_file.contains(&(kind.to_string(), id, class));
    let mut out = Vec::new();
    for r in reqs {
        let lacking = match RequiredFor::from_code(&r.required_for) {
            Some(RequiredFor::Patient) => s.stay_id.is_some() && !has(Target::Patient.code(), s.patient_id, r.class_id),
            Some(RequiredFor::Sejour) => s.stay_id.is_some_and(|id| !has(Target::Sejour.code(), id, r.class_id)),
            Some(RequiredFor::DroitObligatoire) => s.compulsory.iter().any(|id| !has(Target::Droit.code(), *id, r.class_id)),
            Some(RequiredFor::DroitComplementaire) => s.complementary.iter().any(|id| !has(Target::Droit.code(), *id, r.class_id)),
            Some(RequiredFor::PecAccordee) => s.agreed_pecs.iter().any(|id| !has(Target::Pec.code(), *id, r.class_id)),
            Some(RequiredFor::Jamais) | None => false,
        };
        if lacking && !out.contains(&r.label) {
            out.push(r.label.clone());
        }
    }
    out
}

/// A file name safe for a `Content-Disposition` header and a file system: the
/// original name's letters, digits, dots, dashes and underscores, accents dropped.
pub fn safe_file_name(name: &str, kind: Kind) -> String {
    let stem = name.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
    let mut cleaned = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            cleaned.push(c.to_ascii_lowercase());
        } else {
            // Accented letters and ligatures are folded (é → e, œ → oe); anything else becomes `_`.
            let folded = crate::fr::normalize_search(&c.to_string());
            if !folded.is_empty() && folded.chars().all(|f| f.is_ascii_alphanumeric()) {
                cleaned.push_str(&folded);
            } else {
                cleaned.push('_');
            }
        }
    }
    let cleaned: String = cleaned.chars().take(80).collect();
    let cleaned = cleaned.trim_matches(|c| c == '_' || c == '-');
    format!("{}.{}", if cleaned.is_empty() { "document" } else { cleaned }, kind.extension())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53,
        0xDE,
    ];

    #[test]
    fn code_lists() {
        crate::shared::codes::check::<Confidentiality>();
        crate::shared::codes::check::<RequiredFor>();
        crate::shared::codes::check::<Target>();
        crate::shared::codes::check::<ContentStore>();
        assert_eq!(RequiredFor::from_code(""), Some(RequiredFor::Jamais));
        assert_eq!(CONFIDENTIALITY[1].0, "confidentiel");
    }

    #[test]
    fn recognises_the_three_types_from_content() {
        assert_eq!(sniff(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"), Some(Kind::Pdf));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F']), Some(Kind::Jpeg));
        let mut png = PNG.to_vec();
        png.extend_from_slice(&[0; 8]);
        assert_eq!(sniff(&png), Some(Kind::Png));
    }

    #[test]
    fn refuses_other_content_whatever_the_name() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"MZ\x90\x00 executable"), None);
        assert_eq!(sniff(b"<html><script>alert(1)</script>"), None);
        assert_eq!(sniff(b"PK\x03\x04 docx"), None);
        // A truncated PDF (no end marker) is refused.
        assert_eq!(sniff(b"%PDF-1.4\n1 0 obj"), None);
        // A PNG signature alone is not an image.
        assert_eq!(sniff(&PNG[..8]), None);
    }

    #[test]
    fn retention_counts_whole_years_from_the_document_date() {
        assert_eq!(retention_until(date(2026, 11, 23), 10), Some(date(2036, 11, 23)));
        assert_eq!(retention_until(date(2024, 2, 29), 1), Some(date(2025, 2, 28)));
        assert!(!past_retention(Some(date(2036, 11, 23)), date(2036, 11, 23)));
        assert!(past_retention(Some(date(2036, 11, 23)), date(2036, 11, 24)));
        assert!(!past_retention(None, date(2099, 1, 1)));
    }

    fn req(id: i64, label: &str, f: &str) -> Requirement {
        Requirement { class_id: id, label: label.into(), required_for: f.into() }
    }

    #[test]
    fn each_requirement_applies_to_its_target() {
        let reqs = vec![
            req(1, "Pièce d'identité", "patient"),
            req(2, "Bulletin d'admission", "sejour"),
            req(3, "Attestation de droits", "droit_obligatoire"),
            req(4, "Carte de mutuelle", "droit_complementaire"),
            req(5, "Accord de prise en charge", "pec_accordee"),
        ];
        let s = Subject { patient_id: 7, stay_id: Some(70), compulsory: vec![100], complementary: vec![200, 201], agreed_pecs: vec![300] };
        let mut on = OnFile::new();
        assert_eq!(missing(&reqs, &s, &on).len(), 5);
        on.insert(("patient".into(), 7, 1));
        on.insert(("sejour".into(), 70, 2));
        on.insert(("droit".into(), 100, 3));
        on.insert(("droit".into(), 200, 4));
        on.insert(("pec".into(), 300, 5));
        // The second complementary still lacks its card.
        assert_eq!(missing(&reqs, &s, &on), ["Carte de mutuelle"]);
        on.insert(("droit".into(), 201, 4));
        assert!(missing(&reqs, &s, &on).is_empty());
        // A document of the wrong class, or on another target, does not count.
        let mut wrong = OnFile::new();
        wrong.insert(("patient".into(), 7, 2));
        wrong.insert(("sejour".into(), 71, 2));
        assert_eq!(missing(&reqs, &s, &wrong).len(), 5);
    }

    #[test]
    fn a_file_without_stay_needs_nothing() {
        let reqs = vec![req(1, "Pièce d'identité", "patient"), req(2, "Bulletin", "sejour")];
        let s = Subject { patient_id: 7, ..Subject::default() };
        assert!(missing(&reqs, &s, &OnFile::new()).is_empty());
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(safe_file_name("C:\\scans\\Réponse mutuelle (1).PDF", Kind::Pdf), "reponse_mutuelle__1.pdf");
        assert_eq!(safe_file_name("../../etc/passwd", Kind::Png), "passwd.png");
        assert_eq!(safe_file_name("", Kind::Jpeg), "document.jpg");
        assert_eq!(safe_file_name("reponse-MGEN_2026.pdf", Kind::Pdf), "reponse-mgen_2026.pdf");
        assert_eq!(safe_file_name("Cœur.png", Kind::Png), "coeur.png");
        assert_eq!(safe_file_name("\"; rm -rf /", Kind::Pdf), "document.pdf");
    }

    proptest! {
        /// Content that starts with none of the three signatures is always refused.
        #[test]
        fn unknown_signatures_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let known = bytes.starts_with(b"%PDF-") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]) || bytes.starts_with(&[0x89, b'P', b'N', b'G']);
            if !known {
                prop_assert_eq!(sniff(&bytes), None);
            }
        }

        /// The safe name has only safe characters and the type's extension.
        #[test]
        fn safe_names_are_safe(name in "\\PC{0,120}") {
            let n = safe_file_name(&name, Kind::Pdf);
            prop_assert!(n.ends_with(".pdf"));
            prop_assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
            prop_assert!(!n.starts_with('.') && !n.starts_with('-'));
        }

        /// Adding a document never makes more documents missing.
        #[test]
        fn attaching_never_adds_missing(ids in proptest::collection::vec(0i64..4, 0..6), class in 1i64..4) {
            let reqs = vec![req(1, "A", "patient"), req(2, "B", "droit_obligatoire"), req(3, "C", "pec_accordee")];
            let s = Subject { patient_id: 0, stay_id: Some(0), compulsory: ids.clone(), complementary: vec![], agreed_pecs: ids.clone() };
            let mut on = OnFile::new();
            let before = missing(&reqs, &s, &on).len();
            for id in &ids {
                on.insert(("droit".into(), *id, class));
            }
            prop_assert!(missing(&reqs, &s, &on).len() <= before);
        }
    }
}
