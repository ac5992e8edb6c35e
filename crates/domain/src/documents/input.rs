//! What people type to file a document or to change the classification plan, and its
//! parsing into domain values (every error at once, French messages naming the form field).
//!
//! Facts that need the database (the class exists in the establishment and is usable, the
//! target belongs to the patient, a class code is unique in the plan) are checked by the
//! store inside its transaction.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{Confidentiality, Kind, RequiredFor, Target, WRONG_TYPE, sniff};
use crate::validation::FieldErrors;

/// The form fields of an upload (the file itself comes beside), as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadInput {
    /// `patient`, or `droit:<id>`, `pec:<id>`, `sejour:<id>`.
    pub target: String,
    pub class_id: String,
    /// Blank: the class's level.
    pub confidentiality: String,
    /// Blank: the class's label.
    pub title: String,
    /// JJ/MM/AAAA; blank: today.
    pub document_date: String,
}

/// What a document is attached to: the file itself, or one of its stays, coverages or PEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub kind: Target,
    /// `None` for the file itself (the patient's id is used).
    pub id: Option<i64>,
}

/// A parsed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    /// Recognised from the content.
    pub kind: Kind,
    pub size_bytes: usize,
    pub class_id: i64,
    pub target: TargetRef,
    /// `None`: the class's level.
    pub confidentiality: Option<Confidentiality>,
    /// `None`: the class's label.
    pub title: Option<String>,
    /// Not in the future.
    pub document_date: Date,
}

/// A class of the plan as typed in the plan form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassInput {
    pub code: String,
    pub label: String,
    pub retention_years: String,
    pub confidentiality: String,
    pub required_for: String,
    pub position: String,
    /// `on` (checkbox) or `true` keeps the class usable for new documents.
    pub active: String,
}

/// A parsed class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocClassData {
    /// Lowercase ASCII letters, digits and `_`, 40 characters at most.
    pub code: String,
    pub label: String,
    /// 1 to 100.
    pub retention_years: i64,
    pub confidentiality: Confidentiality,
    pub required_for: RequiredFor,
    pub position: i64,
    pub active: bool,
}

/// A size in French units (octets, Kio, Mio).
pub fn size_fr(bytes: i64) -> String {
    let bytes = bytes.max(0);
    if bytes < 1024 {
        format!("{bytes} octets")
    } else if bytes < 1024 * 1024 {
        format!("{} Kio", bytes / 1024 + i64::from(bytes % 1024 >= 512))
    } else {
        // Tenths of a Mio, rounded, without overflowing for any i64.
        let mib = 1024 * 1024;
        let tenths = (bytes / mib) * 10 + ((bytes % mib) * 10 + mib / 2) / mib;
        if tenths % 10 == 0 { format!("{} Mio", tenths / 10) } else { format!("{},{} Mio", tenths / 10, tenths % 10) }
    }
}

/// Parses `patient`, `droit:<id>`, `pec:<id>` or `sejour:<id>` (blank: the file).
pub fn parse_target(raw: &str) -> Result<TargetRef, String> {
    let t = raw.trim();
    if t.is_empty() || t == "patient" {
        return Ok(TargetRef { kind: Target::Patient, id: None });
    }
    let unknown = || "Rattachement inconnu.".to_string();
    let (kind, id) = t.split_once(':').ok_or_else(unknown)?;
    let id = id.trim().parse::<i64>().map_err(|_| unknown())?;
    match Target::from_code(kind.trim()) {
        Some(k) if k != Target::Patient && id > 0 => Ok(TargetRef { kind: k, id: Some(id) }),
        _ => Err(unknown()),
    }
}

/// Parses an upload: the file (`bytes`, at most `max_bytes`, a PDF, JPEG or PNG by content)
/// and its fields; `today` is the establishment's date (the document's date cannot be later).
pub fn parse_upload(raw: &UploadInput, bytes: &[u8], max_bytes: usize, today: Date) -> Result<NewDocument, FieldErrors> {
    let mut e = FieldErrors::new();
    let kind = if bytes.is_empty() {
        e.add("file", "Choisissez le fichier à classer.");
        None
    } else if bytes.len() > max_bytes {
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
        e.add("file", format!("Fichier trop volumineux ({}) : {} au plus.", size_fr(size), size_fr(max)));
        None
    } else {
        let k = sniff(bytes);
        if k.is_none() {
            e.add("file", WRONG_TYPE);
        }
        k
    };
    let target = match parse_target(&raw.target) {
        Ok(t) => Some(t),
        Err(m) => {
            e.add("target", m);
            None
        }
    };
    let class_id = raw.class_id.trim().parse::<i64>().ok();
    if class_id.is_none() {
        e.add("class_id", "Choisissez la classe du document dans le plan de classement.");
    }
    let confidentiality = match raw.confidentiality.trim() {
        "" => None,
        c => {
            let level = Confidentiality::from_code(c);
            if level.is_none() {
                e.add("confidentiality", "Niveau de confidentialité inconnu.");
            }
            level
        }
    };
    let title = e.optional("title", &raw.title, 200);
    let document_date = if raw.document_date.trim().is_empty() {
        Some(today)
    } else {
        match crate::fr::parse_date_fr(&raw.document_date) {
            Ok(d) if d <= today => Some(d),
            Ok(_) => {
                e.add("document_date", "La date du document ne peut pas être dans le futur.");
                None
            }
            Err(m) => {
                e.add("document_date", m);
                None
            }
        }
    };
    e.into_result()?;
    match (kind, target, class_id, document_date) {
        (Some(kind), Some(target), Some(class_id), Some(document_date)) => {
            Ok(NewDocument { kind, size_bytes: bytes.len(), class_id, target, confidentiality, title, document_date })
        }
        _ => Err(FieldErrors::single("file", "Choisissez le fichier à classer.")),
    }
}

/// Parses a class of the plan.
pub fn parse_class(raw: &ClassInput) -> Result<DocClassData, FieldErrors> {
    let mut e = FieldErrors::new();
    let code = e.required("code", &raw.code, 40);
    if !code.is_empty() && !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        e.add("code", "Minuscules sans accent, chiffres et « _ » seulement.");
    }
    let label = e.required("label", &raw.label, 120);
    let retention_years = match raw.retention_years.trim().parse::<i64>() {
        Ok(y) if (1..=100).contains(&y) => Some(y),
        _ => {
            e.add("retention_years", "Durée de conservation en années, de 1 à 100.");
            None
        }
    };
    let confidentiality = Confidentiality::from_code(raw.confidentiality.trim());
    if confidentiality.is_none() {
        e.add("confidentiality", "Choisissez le niveau de confidentialité.");
    }
    let required_for = RequiredFor::from_code(raw.required_for.trim());
    if required_for.is_none() {
        e.add("required_for", "Exigence inconnue.");
    }
    let position = if raw.position.trim().is_empty() {
        Some(1000)
    } else {
        match raw.position.trim().parse::<i64>() {
            Ok(p) if (-1_000_000_000..=1_000_000_000).contains(&p) => Some(p),
            _ => {
                e.add("position", "Un nombre entier.");
                None
            }
        }
    };
    let active = matches!(raw.active.trim(), "on" | "true" | "1" | "oui");
    e.into_result()?;
    match (retention_years, confidentiality, required_for, position) {
        (Some(retention_years), Some(confidentiality), Some(required_for), Some(position)) => {
            Ok(DocClassData { code, label, retention_years, confidentiality, required_for, position, active })
        }
        _ => Err(FieldErrors::single("code", "Saisie incomplète.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n%%EOF\n";

    #[test]
    fn uploads_parse_or_list_every_error() {
        let today = date(2026, 11, 30);
        let ok = parse_upload(&UploadInput { target: "pec:4".into(), class_id: "6".into(), ..Default::default() }, PDF, 1000, today).unwrap();
        assert_eq!((ok.kind, ok.class_id, ok.target, ok.document_date), (Kind::Pdf, 6, TargetRef { kind: Target::Pec, id: Some(4) }, today));
        let e = parse_upload(
            &UploadInput { target: "lit:3".into(), class_id: "x".into(), confidentiality: "secret".into(), document_date: "01/01/2030".into(), ..Default::default() },
            b"MZ",
            1000,
            today,
        )
        .unwrap_err();
        for f in ["file", "target", "class_id", "confidentiality", "document_date"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        assert_eq!(parse_upload(&UploadInput::default(), &[], 10, today).unwrap_err().get("file"), Some("Choisissez le fichier à classer."));
        assert!(parse_upload(&UploadInput::default(), PDF, 3, today).unwrap_err().get("file").unwrap().starts_with("Fichier trop volumineux"));
        assert_eq!(parse_target(" patient "), Ok(TargetRef { kind: Target::Patient, id: None }));
        assert!(parse_target("patient:3").is_err() && parse_target("droit:").is_err() && parse_target("sejour:-1").is_err());
    }

    #[test]
    fn classes_parse_or_list_every_error() {
        let c = parse_class(&ClassInput {
            code: "releve_caf".into(),
            label: "Relevé".into(),
            retention_years: "10".into(),
            confidentiality: "normal".into(),
            active: "on".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((c.position, c.required_for, c.active), (1000, RequiredFor::Jamais, true));
        let e = parse_class(&ClassInput { code: "Relevé".into(), retention_years: "0".into(), required_for: "x".into(), position: "a".into(), ..Default::default() })
            .unwrap_err();
        for f in ["code", "label", "retention_years", "confidentiality", "required_for", "position"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
    }

    #[test]
    fn sizes_read_in_french() {
        assert_eq!(size_fr(12), "12 octets");
        assert_eq!(size_fr(2048), "2 Kio");
        assert_eq!(size_fr(10 * 1024 * 1024), "10 Mio");
        assert_eq!(size_fr(1536 * 1024), "1,5 Mio");
        assert!(size_fr(i64::MAX).ends_with("Mio"));
        assert_eq!(size_fr(-5), "0 octets");
    }
}
