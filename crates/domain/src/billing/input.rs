//! Tariff lines and parameter rows as a form, the API or a CSV row sends them, parsed into
//! domain values (every error at once, on the form's field names).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::dated::Period;
use super::parameters::{ParameterKey, Value};
use super::tariffs::{Coefficient, TariffCategory, Unit};
use crate::care::coverage::Exemption;
use crate::fr::parse_date_fr;
use crate::money::{Currency, Money};
use crate::validation::FieldErrors;

/// Longest label, code, service and source accepted.
const CODE_MAX: usize = 20;
const LABEL_MAX: usize = 120;
const SOURCE_MAX: usize = 300;

/// A tariff line as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TariffInput {
    /// `FJ`, `CP-MATER`, `AMI` (letters, digits, `-`, `_`, `.`; stored in capitals).
    pub code: String,
    pub label: String,
    /// A [`TariffCategory`] code.
    pub category: String,
    /// A [`Unit`] code; empty: the category's usual unit.
    pub unit: String,
    /// `23,00` (EUR) or `3 500` (XPF).
    pub price: String,
    /// Acts: the default coefficient (`1`, `1,5`); empty otherwise.
    pub coefficient: String,
    /// Empty: every site; else the site's id.
    pub site_id: String,
    /// Empty: every service; else a service or discipline code.
    pub service: String,
    /// JJ/MM/AAAA.
    pub valid_from: String,
    /// JJ/MM/AAAA or empty (open).
    pub valid_to: String,
    pub source: String,
}

/// A parsed tariff line (not yet placed among the key's versions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTariff {
    pub code: String,
    pub label: String,
    pub category: TariffCategory,
    pub unit: Unit,
    pub price: Money,
    pub coefficient: Option<Coefficient>,
    pub site_id: Option<i64>,
    pub service: String,
    pub period: Period,
    pub source: String,
}

/// A code: trimmed, upper case, 1 to `max` of letters, digits, `-`, `_`, `.`.
fn code(e: &mut FieldErrors, field: &str, raw: &str, required: bool, what: &str) -> String {
    let c = raw.trim().to_uppercase();
    if c.is_empty() {
        if required {
            e.add(field, format!("{what} : obligatoire."));
        }
        return c;
    }
    if c.chars().count() > CODE_MAX || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.')) {
        e.add(field, format!("{what} : {CODE_MAX} caractères au plus, lettres sans accent, chiffres, « - », « _ » ou « . »."));
    }
    c
}

fn period(e: &mut FieldErrors, from: &str, to: &str) -> Option<Period> {
    let from = match parse_date_fr(from) {
        Ok(d) => Some(d),
        Err(m) => {
            e.add("valid_from", m);
            None
        }
    };
    let to: Option<Option<Date>> = if to.trim().is_empty() {
        Some(None)
    } else {
        match parse_date_fr(to) {
            Ok(d) => Some(Some(d)),
            Err(m) => {
                e.add("valid_to", m);
                None
            }
        }
    };
    match (from, to) {
        (Some(f), Some(Some(t))) if t < f => {
            e.add("valid_to", "La fin de validité est avant le début.");
            None
        }
        (Some(from), Some(to)) => Some(Period { from, to }),
        _ => None,
    }
}

/// Parses a tariff line priced in `currency`.
pub fn parse_tariff(raw: &TariffInput, currency: Currency) -> Result<ParsedTariff, FieldErrors> {
    let mut e = FieldErrors::new();
    let code_v = code(&mut e, "code", &raw.code, true, "Code");
    let label = e.required("label", &raw.label, LABEL_MAX);
    let category = TariffCategory::from_code(raw.category.trim());
    if category.is_none() {
        e.add("category", "Choisissez la catégorie du tarif.");
    }
    let unit = match raw.unit.trim() {
        "" => category.map(TariffCategory::default_unit),
        u => {
            let v = Unit::from_code(u);
            if v.is_none() {
                e.add("unit", "Unité inconnue (jour, acte, unite ou forfait).");
            }
            v
        }
    };
    let price = match Money::parse_fr(&raw.price, currency) {
        Ok(m) if m.is_negative() => {
            e.add("price", "Le prix ne peut pas être négatif.");
            None
        }
        Ok(m) if m.minor > 10_000_000_000 => {
            e.add("price", "Prix hors limites.");
            None
        }
        Ok(m) => Some(m),
        Err(m) => {
            e.add("price", m.to_string());
            None
        }
    };
    let coefficient = match raw.coefficient.trim() {
        "" => None,
        c => match Coefficient::parse_fr(c) {
            Ok(c) => Some(c),
            Err(m) => {
                e.add("coefficient", m);
                None
            }
        },
    };
    if coefficient.is_some() && category.is_some_and(|c| c != TariffCategory::ActeCms) {
        e.add("coefficient", "Seuls les actes ont un coefficient.");
    }
    let site_id = match raw.site_id.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                e.add("site_id", "Site inconnu.");
                None
            }
        },
    };
    let service = code(&mut e, "service", &raw.service, false, "Service");
    let period = period(&mut e, &raw.valid_from, &raw.valid_to);
    let source = e.optional("source", &raw.source, SOURCE_MAX).unwrap_or_default();
    e.into_result()?;
    match (category, unit, price, period) {
        (Some(category), Some(unit), Some(price), Some(period)) => {
            Ok(ParsedTariff { code: code_v, label, category, unit, price, coefficient, site_id, service, period, source })
        }
        _ => Err(FieldErrors::single("code", "Tarif incomplet.")),
    }
}

/// A parameter row as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ParameterInput {
    /// A [`ParameterKey`] code.
    pub key: String,
    /// For `exoneration`: an [`Exemption`] code; empty otherwise.
    pub subject: String,
    /// As the key's kind is typed ([`ParameterKey::hint`]).
    pub value: String,
    pub valid_from: String,
    pub valid_to: String,
    pub source: String,
}

/// A parsed parameter row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedParameter {
    pub key: ParameterKey,
    pub subject: Option<Exemption>,
    pub value: Value,
    pub period: Period,
    pub source: String,
}

/// Parses a parameter row (amounts in `currency`). A source is required: every rule names
/// the text it comes from.
pub fn parse_parameter(raw: &ParameterInput, currency: Currency) -> Result<ParsedParameter, FieldErrors> {
    let mut e = FieldErrors::new();
    let key = ParameterKey::from_code(raw.key.trim());
    if key.is_none() {
        e.add("key", "Choisissez le paramètre.");
    }
    let subject = match (key.map(ParameterKey::has_subject), raw.subject.trim()) {
        (Some(true), "") => {
            e.add("subject", "Choisissez l'exonération dont il s'agit.");
            None
        }
        (Some(true), s) => {
            let v = Exemption::from_code(s);
            if v.is_none() {
                e.add("subject", "Exonération inconnue.");
            }
            v
        }
        (Some(false), "") | (None, _) => None,
        (Some(false), _) => {
            e.add("subject", "Ce paramètre ne porte pas sur une exonération.");
            None
        }
    };
    let value = key.and_then(|k| match Value::parse_fr(k.kind(), &raw.value, currency) {
        Ok(v) => Some(v),
        Err(m) => {
            e.add("value", format!("{m} Attendu : {}.", k.hint()));
            None
        }
    });
    let period = period(&mut e, &raw.valid_from, &raw.valid_to);
    let source = e.required("source", &raw.source, SOURCE_MAX);
    e.into_result()?;
    match (key, value, period) {
        (Some(key), Some(value), Some(period)) => Ok(ParsedParameter { key, subject, value, period, source }),
        _ => Err(FieldErrors::single("key", "Paramètre incomplet.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn a_tariff_parses_or_lists_every_error() {
        let t = parse_tariff(
            &TariffInput {
                code: " fj ".into(),
                label: "Forfait journalier".into(),
                category: "forfait_journalier".into(),
                price: "23,00".into(),
                valid_from: "01/03/2026".into(),
                source: "Arrêté du 27 février 2026".into(),
                ..Default::default()
            },
            Currency::Eur,
        )
        .unwrap();
        assert_eq!((t.code.as_str(), t.unit, t.price.minor), ("FJ", Unit::Jour, 2300));
        assert_eq!(t.period, Period { from: date(2026, 3, 1), to: None });

        let e = parse_tariff(
            &TariffInput {
                code: "F J!".into(),
                category: "tv".into(),
                unit: "mois".into(),
                price: "12,5".into(),
                coefficient: "2".into(),
                site_id: "x".into(),
                valid_from: "31/02/2026".into(),
                valid_to: "bientôt".into(),
                ..Default::default()
            },
            Currency::Xpf,
        )
        .unwrap_err();
        for f in ["code", "label", "category", "unit", "price", "site_id", "valid_from", "valid_to"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        let backwards = TariffInput {
            code: "AMI".into(),
            label: "Acte infirmier".into(),
            category: "acte_cms".into(),
            price: "350".into(),
            coefficient: "1,5".into(),
            valid_from: "01/02/2026".into(),
            valid_to: "01/01/2026".into(),
            ..Default::default()
        };
        assert!(parse_tariff(&backwards, Currency::Xpf).unwrap_err().get("valid_to").is_some());
    }

    #[test]
    fn a_parameter_names_its_source_and_its_subject() {
        let ok = parse_parameter(
            &ParameterInput {
                key: "exoneration".into(),
                subject: "at_mp".into(),
                value: "fj, tm".into(),
                valid_from: "01/01/2000".into(),
                source: "ameli.fr".into(),
                ..Default::default()
            },
            Currency::Eur,
        )
        .unwrap();
        assert_eq!(ok.subject, Some(Exemption::AtMp));
        let e = parse_parameter(&ParameterInput { key: "taux_tm".into(), subject: "ald".into(), value: "deux".into(), ..Default::default() }, Currency::Eur)
            .unwrap_err();
        for f in ["subject", "value", "valid_from", "source"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        assert!(e.get("value").unwrap().contains("ex. 20 %"));
    }
}
