//! What people type to open or change a patient file, add a debtor or an external
//! identifier, and its parsing into domain values (every error at once, French messages
//! naming the form field).
//!
//! Facts that need the database (the site belongs to the establishment and to the user's
//! grants, a file with the same traits exists, an identifier is already recorded, the
//! patient's own name for a « patient » debtor) are checked by the store inside its
//! transaction.

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize};

use super::debtors::{DebtorKind, GUARANTEES};
use crate::identity::{self, BirthDate, DocumentType, IdentityStatus, Sex};
use crate::validation::FieldErrors;

/// Accepts `true`/`false` or the strings a form sends (`on`, `true`, `1`, `oui`).
pub fn bool_like<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        B(bool),
        S(String),
    }
    Ok(match Option::<B>::deserialize(d)? {
        None => false,
        Some(B::B(b)) => b,
        Some(B::S(s)) => matches!(s.trim().to_lowercase().as_str(), "on" | "true" | "1" | "oui"),
    })
}

/// What a form, the API or an import row sends; every field is text, parsed here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatientInput {
    pub birth_name: String,
    pub used_name: String,
    /// Birth first names, in order, separated by spaces.
    pub birth_first_names: String,
    pub used_first_name: String,
    /// `JJ/MM/AAAA` (00 for an unknown day or month) or `AAAA-MM-JJ`.
    pub birth_date: String,
    /// `F`, `M` or `I`.
    pub sex: String,
    /// INSEE code of the commune of birth (NC: 988xx) or `99xxx` for a country abroad.
    pub birth_place_code: String,
    pub birth_place_label: String,
    /// provisoire, recuperee, validee, qualifiee.
    pub identity_status: String,
    pub doc_type: String,
    pub doc_number: String,
    pub doc_expiry: String,
    #[serde(deserialize_with = "bool_like")]
    pub insi_checked: bool,
    /// Comma-separated RNIV attributes (doublon_potentiel, homonyme, douteuse, fictive…).
    pub attributes: String,
    pub nir: String,
    pub cafat_number: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub mobile: String,
    pub email: String,
    pub language: String,
    pub legal_rep_name: String,
    pub legal_rep_relation: String,
    pub legal_rep_phone: String,
    pub date_of_death: String,
    #[serde(deserialize_with = "bool_like")]
    pub non_disclosure: bool,
    /// Site the file is opened at (required for site-level users).
    pub site_id: String,
    /// Why a status or a strict trait changes (required then).
    pub reason: String,
    /// Create even though a file with the same traits exists (it is then flagged).
    #[serde(deserialize_with = "bool_like")]
    pub confirm_duplicate: bool,
}

/// The validated content of a file (everything but id, IPP and version).
#[derive(Debug, Clone, PartialEq)]
pub struct PatientData {
    pub birth_name: String,
    pub used_name: Option<String>,
    pub birth_first_names: Vec<String>,
    pub used_first_name: Option<String>,
    pub birth_date: BirthDate,
    pub sex: Sex,
    pub birth_place_code: Option<String>,
    pub birth_place_label: Option<String>,
    pub identity_status: IdentityStatus,
    pub doc_type: Option<DocumentType>,
    pub doc_number: Option<String>,
    pub doc_expiry: Option<String>,
    pub insi_checked: bool,
    pub attributes: Vec<String>,
    pub nir: Option<String>,
    pub cafat_number: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub legal_rep_name: Option<String>,
    pub legal_rep_relation: Option<String>,
    pub legal_rep_phone: Option<String>,
    pub date_of_death: Option<String>,
    pub non_disclosure: bool,
}

impl PatientData {
    /// The first of the birth first names (the one searched and shown).
    pub fn first_name(&self) -> String {
        self.birth_first_names.first().cloned().unwrap_or_default()
    }
}

/// A parsed file, with what the form says about its creation or its change.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPatient {
    pub data: PatientData,
    /// The site a new file is opened at (checked against the actor's grants by the store).
    pub site_id: Option<i64>,
    /// Why a status or a strict trait changes (500 characters at most).
    pub reason: Option<String>,
    /// Create even though a file with the same traits exists (it is then flagged).
    pub confirm_duplicate: bool,
}

fn parse_day(e: &mut FieldErrors, field: &str, v: &str) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match crate::fr::parse_date_fr(v) {
        Ok(d) => Some(d.to_string()),
        Err(m) => {
            e.add(field, m);
            None
        }
    }
}

/// Parses a file as typed (`today`: the establishment's date), or every field error at once.
pub fn parse_patient(raw: &PatientInput, today: Date) -> Result<ParsedPatient, FieldErrors> {
    let mut e = FieldErrors::new();
    let ok = |field: &str, r: Result<String, String>, e: &mut FieldErrors| match r {
        Ok(v) => Some(v),
        Err(m) => {
            e.add(field, m);
            None
        }
    };
    let birth_name = if raw.birth_name.trim().is_empty() {
        e.add("birth_name", "Le nom de naissance est obligatoire.");
        None
    } else {
        ok("birth_name", identity::normalize_birth_name(&raw.birth_name), &mut e)
    };
    let used_name = match identity::normalize_used_name(&raw.used_name) {
        Ok(v) => v,
        Err(m) => {
            e.add("used_name", m);
            None
        }
    };
    let birth_first_names = if raw.birth_first_names.trim().is_empty() {
        e.add("birth_first_names", "Au moins un prénom de naissance est obligatoire.");
        vec![]
    } else {
        match identity::normalize_first_names(&raw.birth_first_names) {
            Ok(v) => v,
            Err(m) => {
                e.add("birth_first_names", m);
                vec![]
            }
        }
    };
    let used_first_name = match identity::normalize_used_first_name(&raw.used_first_name) {
        Ok(v) => v,
        Err(m) => {
            e.add("used_first_name", m);
            None
        }
    };
    let birth_date = if raw.birth_date.trim().is_empty() {
        e.add("birth_date", "La date de naissance est obligatoire (00 pour un jour ou un mois inconnu).");
        None
    } else {
        match BirthDate::parse_fr(&raw.birth_date, today) {
            Ok(d) => Some(d),
            Err(m) => {
                e.add("birth_date", m);
                None
            }
        }
    };
    let sex = Sex::from_code(raw.sex.trim());
    if sex.is_none() {
        e.add("sex", "Le sexe est obligatoire : F, M ou I (indéterminé).");
    }
    let birth_place_code = if raw.birth_place_code.trim().is_empty() {
        e.add("birth_place_code", "Le lieu de naissance est obligatoire : code INSEE de la commune, ou 99xxx pour un pays étranger.");
        None
    } else {
        ok("birth_place_code", identity::validate_birthplace(&raw.birth_place_code), &mut e)
    };
    let birth_place_label = e.optional("birth_place_label", &raw.birth_place_label, 100);
    let identity_status = if raw.identity_status.trim().is_empty() {
        Some(IdentityStatus::Provisoire)
    } else {
        let s = IdentityStatus::from_code(raw.identity_status.trim());
        if s.is_none() {
            e.add("identity_status", "Statut d'identité inconnu.");
        }
        s
    };
    let doc_type = if raw.doc_type.trim().is_empty() {
        None
    } else {
        let d = DocumentType::from_code(raw.doc_type.trim());
        if d.is_none() {
            e.add("doc_type", "Type de pièce d'identité inconnu.");
        }
        d
    };
    let doc_number = e.optional("doc_number", &raw.doc_number, 40);
    let doc_expiry = parse_day(&mut e, "doc_expiry", &raw.doc_expiry);
    if let Some(s) = identity_status {
        let high_trust = doc_type.is_some_and(|d| d.high_trust()) && doc_number.is_some();
        if let Err(m) = identity::check_status(s, high_trust, raw.insi_checked) {
            e.add("identity_status", m);
        }
    }
    let attrs: Vec<String> =
        raw.attributes.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
    let attributes = match identity::check_attributes(&attrs) {
        Ok(v) => v,
        Err(m) => {
            e.add("attributes", m);
            vec![]
        }
    };
    let nir = if raw.nir.trim().is_empty() { None } else { ok("nir", identity::validate_nir(&raw.nir), &mut e) };
    if let (Some(n), Some(s)) = (&nir, sex)
        && let Some(ns) = identity::nir_sex(n)
            && s != Sex::Unknown && ns != s {
                e.add("nir", "Le NIR ne correspond pas au sexe indiqué.");
            }
    let cafat_number = if raw.cafat_number.trim().is_empty() {
        None
    } else {
        ok("cafat_number", identity::validate_cafat(&raw.cafat_number), &mut e)
    };
    let address_line1 = e.optional("address_line1", &raw.address_line1, 200);
    let address_line2 = e.optional("address_line2", &raw.address_line2, 200);
    let country = e.optional("country", &raw.country, 60);
    let postcode = if raw.postcode.trim().is_empty() {
        None
    } else {
        ok("postcode", identity::validate_postcode(&raw.postcode, country.as_deref().unwrap_or("")), &mut e)
    };
    let city = e.optional("city", &raw.city, 100);
    let phone = e.optional("phone", &raw.phone, 30);
    let mobile = e.optional("mobile", &raw.mobile, 30);
    for (f, v) in [("phone", &phone), ("mobile", &mobile)] {
        if let Some(p) = v
            && (!p.chars().all(|c| c.is_ascii_digit() || " +.-()".contains(c)) || p.chars().filter(char::is_ascii_digit).count() < 6) {
                e.add(f, "Numéro de téléphone invalide.");
            }
    }
    let email = e.optional("email", &raw.email, 200);
    if let Some(m) = &email
        && (!m.contains('@') || m.starts_with('@') || m.ends_with('@') || m.contains(' ')) {
            e.add("email", "Adresse électronique invalide.");
        }
    let language = e.optional("language", &raw.language, 40);
    let legal_rep_name = e.optional("legal_rep_name", &raw.legal_rep_name, 200);
    let legal_rep_relation = e.optional("legal_rep_relation", &raw.legal_rep_relation, 60);
    let legal_rep_phone = e.optional("legal_rep_phone", &raw.legal_rep_phone, 30);
    let date_of_death = parse_day(&mut e, "date_of_death", &raw.date_of_death);
    if let (Some(d), Some(b)) = (&date_of_death, birth_date) {
        if d.as_str() > today.to_string().as_str() {
            e.add("date_of_death", "La date de décès est dans le futur.");
        } else if d.as_str() < b.to_storage().as_str() && b.is_complete() {
            e.add("date_of_death", "La date de décès précède la date de naissance.");
        }
    }
    let site_id = match raw.site_id.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                e.add("site_id", "Site inconnu.");
                None
            }
        },
    };
    let reason = e.optional("reason", &raw.reason, 500);
    e.into_result()?;
    // Each of these added a field error when absent, so they are all present here.
    let (Some(birth_date), Some(sex), Some(identity_status)) = (birth_date, sex, identity_status) else {
        return Err(FieldErrors::single("birth_date", "La date de naissance, le sexe et le statut d'identité sont obligatoires."));
    };
    let data = PatientData {
        birth_name: birth_name.unwrap_or_default(),
        used_name,
        birth_first_names,
        used_first_name,
        birth_date,
        sex,
        birth_place_code,
        birth_place_label,
        identity_status,
        doc_type,
        doc_number,
        doc_expiry,
        insi_checked: raw.insi_checked,
        attributes,
        nir,
        cafat_number,
        address_line1,
        address_line2,
        postcode,
        city,
        country,
        phone,
        mobile,
        email,
        language,
        legal_rep_name,
        legal_rep_relation,
        legal_rep_phone,
        date_of_death,
        non_disclosure: raw.non_disclosure,
    };
    Ok(ParsedPatient { data, site_id, reason, confirm_duplicate: raw.confirm_duplicate })
}

// ---------------------------------------------------------------- debtors

/// A debtor as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DebtorInput {
    pub kind: String,
    pub name: String,
    pub relationship: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    /// Comma-separated: sejour, actes, forfait_journalier, chambre_particuliere, prestations_annexes.
    pub guarantees: String,
    #[serde(deserialize_with = "bool_like")]
    pub is_default: bool,
}

/// A parsed debtor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtorData {
    pub kind: DebtorKind,
    /// `None`: the patient's own name (a « patient » debtor typed without a name).
    pub name: Option<String>,
    pub relationship: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Codes of the charges guaranteed, sorted, without repeats, never empty.
    pub guarantees: Vec<String>,
    pub is_default: bool,
}

/// Parses a debtor, or every field error at once.
pub fn parse_debtor(raw: &DebtorInput) -> Result<DebtorData, FieldErrors> {
    let mut e = FieldErrors::new();
    let kind = DebtorKind::from_code(raw.kind.trim());
    if kind.is_none() {
        e.add("kind", "Type de débiteur inconnu.");
    }
    let name = if kind == Some(DebtorKind::Patient) && raw.name.trim().is_empty() {
        None
    } else {
        Some(e.required("name", &raw.name, 200))
    };
    let relationship = e.optional("relationship", &raw.relationship, 60);
    if matches!(kind, Some(DebtorKind::Proche | DebtorKind::Assure | DebtorKind::Tuteur)) && relationship.is_none() {
        e.add("relationship", "Précisez le lien avec le patient.");
    }
    let address_line1 = e.optional("address_line1", &raw.address_line1, 200);
    let address_line2 = e.optional("address_line2", &raw.address_line2, 200);
    let country = e.optional("country", &raw.country, 60);
    let postcode = if raw.postcode.trim().is_empty() {
        None
    } else {
        match identity::validate_postcode(&raw.postcode, country.as_deref().unwrap_or("")) {
            Ok(p) => Some(p),
            Err(m) => {
                e.add("postcode", m);
                None
            }
        }
    };
    let city = e.optional("city", &raw.city, 100);
    let phone = e.optional("phone", &raw.phone, 30);
    let email = e.optional("email", &raw.email, 200);
    let mut guarantees: Vec<String> = raw.guarantees.split(',').map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect();
    guarantees.sort();
    guarantees.dedup();
    if guarantees.iter().any(|g| !GUARANTEES.iter().any(|(k, _)| k == g)) {
        e.add("guarantees", "Nature de charge inconnue.");
    }
    if guarantees.is_empty() {
        e.add("guarantees", "Cochez au moins une nature de charges garantie.");
    }
    e.into_result()?;
    let kind = kind.ok_or_else(|| FieldErrors::single("kind", "Type de débiteur inconnu."))?;
    Ok(DebtorData { kind, name, relationship, address_line1, address_line2, postcode, city, country, phone, email, guarantees, is_default: raw.is_default })
}

// ---------------------------------------------------------------- identifiers

/// An external identifier as typed (e.g. the id in a CMS patient software, with its issuer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentifierInput {
    pub issuer: String,
    pub value: String,
}

/// A parsed external identifier: both parts trimmed, 60 characters at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdentifier {
    pub issuer: String,
    pub value: String,
}

/// Parses an external identifier, or every field error at once.
pub fn parse_identifier(raw: &IdentifierInput) -> Result<NewIdentifier, FieldErrors> {
    let mut e = FieldErrors::new();
    let issuer = e.required("issuer", &raw.issuer, 60);
    let value = e.required("value", &raw.value, 60);
    e.into_result()?;
    Ok(NewIdentifier { issuer, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn person() -> PatientInput {
        PatientInput {
            birth_name: "Dupont".into(),
            birth_first_names: "Jean Pierre".into(),
            birth_date: "01/02/1980".into(),
            sex: "M".into(),
            birth_place_code: "69123".into(),
            site_id: " 4 ".into(),
            reason: "  Erreur de saisie ".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_file_parses_or_lists_every_error() {
        let p = parse_patient(&person(), date(2026, 11, 30)).unwrap();
        assert_eq!((p.data.birth_name.as_str(), p.data.first_name().as_str()), ("DUPONT", "JEAN"));
        assert_eq!((p.data.identity_status, p.site_id, p.reason.as_deref()), (IdentityStatus::Provisoire, Some(4), Some("Erreur de saisie")));
        let e = parse_patient(&PatientInput { sex: "X".into(), site_id: "quatre".into(), email: "a b".into(), ..Default::default() }, date(2026, 11, 30))
            .unwrap_err();
        for f in ["birth_name", "birth_first_names", "birth_date", "sex", "birth_place_code", "site_id", "email"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
    }

    #[test]
    fn debtors_and_identifiers() {
        let me = parse_debtor(&DebtorInput { kind: "patient".into(), guarantees: "sejour, actes,sejour".into(), ..Default::default() }).unwrap();
        assert_eq!((me.kind, me.name, me.guarantees), (DebtorKind::Patient, None, vec!["actes".to_string(), "sejour".to_string()]));
        let e = parse_debtor(&DebtorInput { kind: "proche".into(), guarantees: "tout".into(), ..Default::default() }).unwrap_err();
        for f in ["name", "relationship", "guarantees"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        assert!(parse_debtor(&DebtorInput { kind: "martien".into(), ..Default::default() }).unwrap_err().get("kind").is_some());
        assert_eq!(parse_identifier(&IdentifierInput { issuer: " CMS ".into(), value: "12".into() }).unwrap(), NewIdentifier { issuer: "CMS".into(), value: "12".into() });
        let e = parse_identifier(&IdentifierInput::default()).unwrap_err();
        assert!(e.get("issuer").is_some() && e.get("value").is_some());
    }
}
