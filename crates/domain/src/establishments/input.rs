//! What people type for an establishment, a site and a numbering series, and its parsing into
//! domain values (every error at once, French messages naming the form field).
//!
//! Facts that need the database (unique codes, the currency that never changes, the
//! establishment exists) are checked by the store inside its transaction.

use serde::{Deserialize, Serialize};

use super::{EstablishmentKind, SiteKind};
use crate::care::input::{email, short_code};
use crate::legal_ids;
use crate::money::Currency;
use crate::numbering::SeriesMask;
use crate::validation::FieldErrors;

// ---------------------------------------------------------------- establishments

/// An establishment, as a form or an API call sends it (every field is text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EstablishmentInput {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub siret: String,
    pub finess: String,
    pub ridet: String,
    pub currency: String,
    pub timezone: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
}

/// A parsed establishment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEstablishment {
    /// Upper case: letters, digits, `-`, `_`.
    pub code: String,
    pub name: String,
    pub kind: EstablishmentKind,
    pub siret: Option<String>,
    pub finess: Option<String>,
    /// Only for an establishment in XPF.
    pub ridet: Option<String>,
    pub currency: Currency,
    /// A zone of the time-zone database (`Europe/Paris`, `Pacific/Noumea`).
    pub timezone: String,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    /// 5 digits (`988…` in XPF).
    pub postcode: Option<String>,
    pub city: Option<String>,
    /// `France` when blank.
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A 5-digit postcode (`None` when blank).
fn postcode(e: &mut FieldErrors, v: &str) -> Option<String> {
    let p = e.optional("postcode", v, 10);
    if let Some(p) = &p
        && (p.len() != 5 || !p.chars().all(|c| c.is_ascii_digit()))
    {
        e.add("postcode", "Code postal : 5 chiffres.");
    }
    p
}

/// Parses an establishment.
pub fn parse_establishment(raw: &EstablishmentInput) -> Result<ParsedEstablishment, FieldErrors> {
    let mut e = FieldErrors::new();
    let code = short_code(&mut e, "code", &raw.code, 20);
    let name = e.required("name", &raw.name, 200);
    let kind = EstablishmentKind::from_code(raw.kind.trim());
    if kind.is_none() {
        e.add("kind", "Type d'établissement inconnu.");
    }
    let currency = Currency::from_code(raw.currency.trim());
    if currency.is_none() {
        e.add("currency", "Devise attendue : EUR ou XPF.");
    }
    let timezone = raw.timezone.trim().to_string();
    if timezone.is_empty() || timezone.len() > 64 || jiff::tz::TimeZone::get(&timezone).is_err() {
        e.add("timezone", "Fuseau horaire inconnu (ex. Europe/Paris, Pacific/Noumea).");
    }
    let mut legal = |field: &str, v: &str, f: fn(&str) -> Result<String, String>| -> Option<String> {
        if v.trim().is_empty() {
            return None;
        }
        match f(v) {
            Ok(n) => Some(n),
            Err(m) => {
                e.add(field, m);
                None
            }
        }
    };
    let siret = legal("siret", &raw.siret, legal_ids::validate_siret);
    let finess = legal("finess", &raw.finess, legal_ids::validate_finess);
    let ridet = legal("ridet", &raw.ridet, legal_ids::validate_ridet);
    if currency == Some(Currency::Eur) && ridet.is_some() {
        e.add("ridet", "Le RIDET est un identifiant néo-calédonien (établissement en XPF).");
    }
    if currency == Some(Currency::Xpf) && (siret.is_some() || finess.is_some()) && ridet.is_none() {
        e.add("ridet", "Un établissement en XPF (Nouvelle-Calédonie) s'identifie par son RIDET.");
    }
    let address_line1 = e.optional("address_line1", &raw.address_line1, 200);
    let address_line2 = e.optional("address_line2", &raw.address_line2, 200);
    let postcode = postcode(&mut e, &raw.postcode);
    if let Some(p) = &postcode
        && e.get("postcode").is_none()
        && currency == Some(Currency::Xpf)
        && !p.starts_with("988")
    {
        e.add("postcode", "Les codes postaux de Nouvelle-Calédonie commencent par 988.");
    }
    let city = e.optional("city", &raw.city, 100);
    let country = match raw.country.trim() {
        "" => "France".to_string(),
        c => c.to_string(),
    };
    let phone = e.optional("phone", &raw.phone, 30);
    let email = email(&mut e, "email", &raw.email);
    e.into_result()?;
    let (Some(kind), Some(currency)) = (kind, currency) else {
        return Err(FieldErrors::single("kind", "Type d'établissement inconnu."));
    };
    Ok(ParsedEstablishment {
        code,
        name,
        kind,
        siret,
        finess,
        ridet,
        currency,
        timezone,
        address_line1,
        address_line2,
        postcode,
        city,
        country,
        phone,
        email,
    })
}

// ---------------------------------------------------------------- sites

/// A site, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteInput {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub address_line1: String,
    pub postcode: String,
    pub city: String,
    /// Open (`true`, the default) or closed.
    pub active: Option<bool>,
}

/// A parsed site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSite {
    pub code: String,
    pub name: String,
    pub kind: SiteKind,
    pub address_line1: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub active: bool,
}

/// Parses a site.
pub fn parse_site(raw: &SiteInput) -> Result<ParsedSite, FieldErrors> {
    let mut e = FieldErrors::new();
    let code = short_code(&mut e, "code", &raw.code, 20);
    let name = e.required("name", &raw.name, 200);
    let kind = SiteKind::from_code(raw.kind.trim());
    if kind.is_none() {
        e.add("kind", "Type de site inconnu.");
    }
    let address_line1 = e.optional("address_line1", &raw.address_line1, 200);
    let postcode = postcode(&mut e, &raw.postcode);
    let city = e.optional("city", &raw.city, 100);
    e.into_result()?;
    let Some(kind) = kind else {
        return Err(FieldErrors::single("kind", "Type de site inconnu."));
    };
    Ok(ParsedSite { code, name, kind, address_line1, postcode, city, active: raw.active.unwrap_or(true) })
}

// ---------------------------------------------------------------- numbering series

/// A numbering series, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeriesInput {
    pub code: String,
    pub label: String,
    pub mask: String,
}

/// A parsed numbering series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSeries {
    /// Upper-case letters (`FAC`, `AV`, `REC`).
    pub code: String,
    pub label: String,
    pub mask: SeriesMask,
}

/// Parses a numbering series.
pub fn parse_series(raw: &SeriesInput) -> Result<ParsedSeries, FieldErrors> {
    let mut e = FieldErrors::new();
    let code = e.required("code", &raw.code, 10).to_uppercase();
    if !code.is_empty() && !code.chars().all(|c| c.is_ascii_uppercase()) {
        e.add("code", "Lettres majuscules uniquement (ex. FAC, AV, REC).");
    }
    let label = e.required("label", &raw.label, 100);
    let text = e.required("mask", &raw.mask, 60);
    let mask = if text.is_empty() {
        None
    } else {
        match SeriesMask::parse(&text) {
            Ok(m) => Some(m),
            Err(m) => {
                e.add("mask", m.to_string());
                None
            }
        }
    };
    e.into_result()?;
    let Some(mask) = mask else {
        return Err(FieldErrors::single("mask", "Ce champ est obligatoire."));
    };
    Ok(ParsedSeries { code, label, mask })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hospital() -> EstablishmentInput {
        EstablishmentInput {
            code: "hsm".into(),
            name: "Hôpital Saint-Martin".into(),
            kind: "hopital".into(),
            currency: "EUR".into(),
            timezone: "Europe/Paris".into(),
            postcode: "69003".into(),
            ..Default::default()
        }
    }

    #[test]
    fn establishments_parse_or_list_every_error() {
        let p = parse_establishment(&hospital()).unwrap();
        assert_eq!((p.code.as_str(), p.kind, p.currency, p.country.as_str()), ("HSM", EstablishmentKind::Hopital, Currency::Eur, "France"));
        let e = parse_establishment(&EstablishmentInput { currency: "USD".into(), timezone: "Mars/Olympus".into(), kind: "x".into(), email: "a@".into(), postcode: "1".into(), ..Default::default() })
            .unwrap_err();
        for f in ["code", "name", "kind", "currency", "timezone", "email", "postcode"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        let e = parse_establishment(&EstablishmentInput { currency: "XPF".into(), timezone: "Pacific/Noumea".into(), ..hospital() }).unwrap_err();
        assert_eq!(e.get("postcode"), Some("Les codes postaux de Nouvelle-Calédonie commencent par 988."));
    }

    #[test]
    fn sites_and_series() {
        let s = parse_site(&SiteInput { code: "urg".into(), name: "Urgences".into(), kind: "service".into(), ..Default::default() }).unwrap();
        assert_eq!((s.code.as_str(), s.kind, s.active), ("URG", SiteKind::Service, true));
        assert_eq!(parse_site(&SiteInput::default()).unwrap_err().0.len(), 3);
        let s = parse_series(&SeriesInput { code: "fac".into(), label: "Factures".into(), mask: "FAC-{YYYY}-{N:6}".into() }).unwrap();
        assert_eq!((s.code.as_str(), s.mask.as_str()), ("FAC", "FAC-{YYYY}-{N:6}"));
        let e = parse_series(&SeriesInput { code: "F1".into(), label: String::new(), mask: "FAC-{N:6}-{N:2}".into() }).unwrap_err();
        assert_eq!(e.0.len(), 3, "{e:?}");
    }
}
