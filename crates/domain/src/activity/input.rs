//! Acts, offers, subscriptions and call units as a form, the API or an import row sends them
//! (text), parsed into domain values: every error at once, in French, on the form's field names.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{Debtor, ServiceKind};
use crate::billing::tariffs::Coefficient;
use crate::fr::parse_date_fr;
use crate::validation::FieldErrors;

const CODE_MAX: usize = 20;
const NAME_MAX: usize = 120;
const EXTERNAL_MAX: usize = 64;
const REASON_MAX: usize = 300;
/// Most acts of one line, most call units of one entry.
pub const QUANTITY_MAX: u32 = 999;
pub const UNITS_MAX: u32 = 99_999;

/// A tariff code: trimmed, upper case, letters, digits, `-`, `_`, `.`.
fn code(e: &mut FieldErrors, field: &str, raw: &str, required: bool) -> String {
    let c = raw.trim().to_uppercase();
    if c.is_empty() {
        if required {
            e.add(field, "Indiquez le code de nomenclature (ex. C, AMI).");
        }
        return c;
    }
    if c.chars().count() > CODE_MAX || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.')) {
        e.add(field, format!("Code invalide : {CODE_MAX} caractères au plus, lettres sans accent, chiffres, « - », « _ » ou « . »."));
    }
    c
}

fn day(e: &mut FieldErrors, field: &str, raw: &str, what: &str) -> Option<Date> {
    if raw.trim().is_empty() {
        e.add(field, format!("Indiquez {what} (JJ/MM/AAAA)."));
        return None;
    }
    match parse_date_fr(raw) {
        Ok(d) => Some(d),
        Err(m) => {
            e.add(field, m);
            None
        }
    }
}

fn id(e: &mut FieldErrors, field: &str, raw: &str, what: &str, required: bool) -> Option<i64> {
    match raw.trim() {
        "" => {
            if required {
                e.add(field, format!("Choisissez {what}."));
            }
            None
        }
        s => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                e.add(field, format!("{} inconnu : « {s} ».", capitalise(what)));
                None
            }
        },
    }
}

fn capitalise(s: &str) -> String {
    let s = s.strip_prefix("le ").unwrap_or(s);
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// A whole number from 1 to `max`; empty: `default`, or an error when there is none.
fn count(e: &mut FieldErrors, field: &str, raw: &str, max: u32, default: Option<u32>, what: &str) -> Option<u32> {
    let t = raw.trim();
    if t.is_empty() {
        if default.is_none() {
            e.add(field, format!("Indiquez {what}."));
        }
        return default;
    }
    match t.replace([' ', '\u{a0}', '\u{202f}'], "").parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            e.add(field, format!("Un nombre entier de 1 à {max} est attendu : « {t} »."));
            None
        }
    }
}

fn external(e: &mut FieldErrors, raw: &str) -> Option<String> {
    e.optional("external_id", raw, EXTERNAL_MAX)
}

// ---------------------------------------------------------------- acts

/// A CMS act as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActInput {
    /// The site (CMS) where the act was done: its id.
    pub site_id: String,
    /// JJ/MM/AAAA.
    pub act_date: String,
    /// The practitioner: a name or a code, free text.
    pub practitioner: String,
    /// The nomenclature code (a tariff code of category `acte_cms`): `C`, `AMI`.
    pub code: String,
    /// How many such acts (empty: 1).
    pub quantity: String,
    /// `2`, `1,5`; empty: the tariff's coefficient (else 1).
    pub coefficient: String,
    /// The act's id in the sending system; unique per establishment (a re-import is idempotent).
    pub external_id: String,
}

/// A parsed act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAct {
    pub site_id: i64,
    pub date: Date,
    pub practitioner: String,
    pub code: String,
    pub quantity: u32,
    pub coefficient: Option<Coefficient>,
    pub external_id: Option<String>,
}

/// Parses an act.
pub fn parse_act(raw: &ActInput) -> Result<ParsedAct, FieldErrors> {
    let mut e = FieldErrors::new();
    let site_id = id(&mut e, "site_id", &raw.site_id, "le site", true);
    let date = day(&mut e, "act_date", &raw.act_date, "la date de l'acte");
    let practitioner = raw.practitioner.trim().to_string();
    if practitioner.is_empty() {
        e.add("practitioner", "Indiquez le professionnel (nom ou code).");
    } else if practitioner.chars().count() > NAME_MAX {
        e.add("practitioner", format!("{NAME_MAX} caractères au plus."));
    }
    let code_v = code(&mut e, "code", &raw.code, true);
    let quantity = count(&mut e, "quantity", &raw.quantity, QUANTITY_MAX, Some(1), "le nombre d'actes");
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
    let external_id = external(&mut e, &raw.external_id);
    e.into_result()?;
    match (site_id, date, quantity) {
        (Some(site_id), Some(date), Some(quantity)) => Ok(ParsedAct { site_id, date, practitioner, code: code_v, quantity, coefficient, external_id }),
        _ => Err(FieldErrors::single("code", "Acte incomplet.")),
    }
}

/// Why an act is cancelled (required).
pub fn parse_reason(raw: &str) -> Result<String, FieldErrors> {
    let mut e = FieldErrors::new();
    let r = raw.trim();
    if r.is_empty() {
        e.add("reason", "Indiquez pourquoi l'acte est annulé.");
    } else if r.chars().count() > REASON_MAX {
        e.add("reason", format!("{REASON_MAX} caractères au plus."));
    }
    e.into_result().map(|_| r.to_string())
}

// ---------------------------------------------------------------- offers

/// A site's offer as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OfferInput {
    pub site_id: String,
    /// Tariff code of the TV day (category `television`); empty: no TV.
    pub tv_code: String,
    /// Tariff code of the telephone activation fee (category `telephone_activation`); empty: none.
    pub phone_activation_code: String,
    /// Tariff code of the call unit (category `telephone_unite`); empty: no telephone.
    pub phone_unit_code: String,
    /// `on`/`true`: proposed; else not proposed any more.
    pub active: String,
}

/// A parsed offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedOffer {
    pub site_id: i64,
    pub tv_code: String,
    pub phone_activation_code: String,
    pub phone_unit_code: String,
    pub active: bool,
}

fn flag(raw: &str) -> bool {
    matches!(raw.trim().to_lowercase().as_str(), "on" | "true" | "oui" | "1")
}

/// Parses an offer: at least TV or telephone; a telephone activation needs a unit code.
pub fn parse_offer(raw: &OfferInput) -> Result<ParsedOffer, FieldErrors> {
    let mut e = FieldErrors::new();
    let site_id = id(&mut e, "site_id", &raw.site_id, "le site", true);
    let tv_code = code(&mut e, "tv_code", &raw.tv_code, false);
    let phone_activation_code = code(&mut e, "phone_activation_code", &raw.phone_activation_code, false);
    let phone_unit_code = code(&mut e, "phone_unit_code", &raw.phone_unit_code, false);
    if tv_code.is_empty() && phone_unit_code.is_empty() && phone_activation_code.is_empty() {
        e.add("tv_code", "Indiquez au moins le tarif de la télévision ou celui des unités téléphoniques.");
    }
    if !phone_activation_code.is_empty() && phone_unit_code.is_empty() {
        e.add("phone_unit_code", "Un téléphone proposé a un tarif d'unité : indiquez-le.");
    }
    e.into_result()?;
    let site_id = site_id.ok_or_else(|| FieldErrors::single("site_id", "Choisissez le site."))?;
    Ok(ParsedOffer { site_id, tv_code, phone_activation_code, phone_unit_code, active: flag(&raw.active) })
}

// ---------------------------------------------------------------- subscriptions

/// A subscription as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionInput {
    /// The site whose offer it takes.
    pub site_id: String,
    /// The stay it belongs to (usually); empty: none.
    pub stay_id: String,
    /// `tv`, `telephone` or `tv_telephone`.
    pub kind: String,
    /// Line or device number.
    pub line_number: String,
    /// `patient` (or empty): the patient; `autre`: the person named in `debtor_name`; a number:
    /// that debtor of the file.
    pub debtor: String,
    pub debtor_name: String,
    /// JJ/MM/AAAA.
    pub opened_on: String,
}

/// A parsed subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSubscription {
    pub site_id: i64,
    pub stay_id: Option<i64>,
    pub kind: ServiceKind,
    pub line_number: String,
    pub debtor: Debtor,
    pub opened_on: Date,
}

/// Parses a subscription.
pub fn parse_subscription(raw: &SubscriptionInput) -> Result<ParsedSubscription, FieldErrors> {
    let mut e = FieldErrors::new();
    let site_id = id(&mut e, "site_id", &raw.site_id, "le site", true);
    let stay_id = id(&mut e, "stay_id", &raw.stay_id, "le séjour", false);
    let kind = ServiceKind::from_code(raw.kind.trim());
    if kind.is_none() {
        e.add("kind", "Choisissez la prestation : télévision, téléphone, ou les deux.");
    }
    let line_number = e.optional("line_number", &raw.line_number, 40).unwrap_or_default();
    let name = raw.debtor_name.trim();
    let debtor = match raw.debtor.trim() {
        "" | "patient" if name.is_empty() => Some(Debtor::Patient),
        "" | "patient" | "autre" => {
            if name.is_empty() {
                e.add("debtor_name", "Indiquez le nom de la personne qui paie.");
                None
            } else if name.chars().count() > NAME_MAX {
                e.add("debtor_name", format!("{NAME_MAX} caractères au plus."));
                None
            } else {
                Some(Debtor::Person(name.to_string()))
            }
        }
        s => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(Debtor::File(n)),
            _ => {
                e.add("debtor", "Choisissez le patient, un débiteur du dossier ou une autre personne.");
                None
            }
        },
    };
    let opened_on = day(&mut e, "opened_on", &raw.opened_on, "la date d'ouverture");
    e.into_result()?;
    match (site_id, kind, debtor, opened_on) {
        (Some(site_id), Some(kind), Some(debtor), Some(opened_on)) => Ok(ParsedSubscription { site_id, stay_id, kind, line_number, debtor, opened_on }),
        _ => Err(FieldErrors::single("kind", "Abonnement incomplet.")),
    }
}

/// The closing day of a subscription (required).
pub fn parse_closing(raw: &str) -> Result<Date, FieldErrors> {
    let mut e = FieldErrors::new();
    let d = day(&mut e, "closed_on", raw, "le jour de clôture");
    e.into_result()?;
    d.ok_or_else(|| FieldErrors::single("closed_on", "Indiquez le jour de clôture."))
}

// ---------------------------------------------------------------- call units

/// Call units as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnitsInput {
    /// JJ/MM/AAAA: the day they were used.
    pub used_on: String,
    pub units: String,
    /// The entry's id in the switchboard's export; unique per establishment.
    pub external_id: String,
}

/// Parsed call units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUnits {
    pub used_on: Date,
    pub units: u32,
    pub external_id: Option<String>,
}

/// Parses call units.
pub fn parse_units(raw: &UnitsInput) -> Result<ParsedUnits, FieldErrors> {
    let mut e = FieldErrors::new();
    let used_on = day(&mut e, "used_on", &raw.used_on, "le jour d'utilisation");
    let units = count(&mut e, "units", &raw.units, UNITS_MAX, None, "le nombre d'unités");
    let external_id = external(&mut e, &raw.external_id);
    e.into_result()?;
    match (used_on, units) {
        (Some(used_on), Some(units)) => Ok(ParsedUnits { used_on, units, external_id }),
        _ => Err(FieldErrors::single("units", "Unités incomplètes.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn an_act_parses_or_lists_every_error() {
        let a = parse_act(&ActInput {
            site_id: "4".into(),
            act_date: "12/11/2026".into(),
            practitioner: " Mme Wénéhoua (IDE) ".into(),
            code: "ami".into(),
            coefficient: "2".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((a.site_id, a.date, a.code.as_str(), a.quantity, a.coefficient), (4, date(2026, 11, 12), "AMI", 1, Some(Coefficient(200))));
        assert_eq!(a.practitioner, "Mme Wénéhoua (IDE)");
        let e = parse_act(&ActInput { site_id: "x".into(), act_date: "31/02/2026".into(), code: "A M".into(), quantity: "0".into(), coefficient: "0".into(), ..Default::default() }).unwrap_err();
        for f in ["site_id", "act_date", "practitioner", "code", "quantity", "coefficient"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        assert_eq!(e.get("act_date"), Some("Date invalide : le 31/02/2026 n'existe pas"));
        assert!(parse_act(&ActInput::default()).unwrap_err().get("act_date").unwrap().contains("JJ/MM/AAAA"));
        assert_eq!(parse_reason("  ").unwrap_err().get("reason"), Some("Indiquez pourquoi l'acte est annulé."));
    }

    #[test]
    fn an_offer_proposes_something() {
        let e = parse_offer(&OfferInput { site_id: "1".into(), ..Default::default() }).unwrap_err();
        assert!(e.get("tv_code").is_some());
        let e = parse_offer(&OfferInput { site_id: "1".into(), phone_activation_code: "TEL".into(), ..Default::default() }).unwrap_err();
        assert!(e.get("phone_unit_code").is_some());
        let o = parse_offer(&OfferInput { site_id: "1".into(), tv_code: "tv".into(), active: "on".into(), ..Default::default() }).unwrap();
        assert_eq!((o.tv_code.as_str(), o.active), ("TV", true));
    }

    #[test]
    fn a_subscription_names_its_debtor() {
        let base = SubscriptionInput { site_id: "2".into(), kind: "tv_telephone".into(), opened_on: "20/11/2026".into(), ..Default::default() };
        assert_eq!(parse_subscription(&base).unwrap().debtor, Debtor::Patient);
        assert_eq!(parse_subscription(&SubscriptionInput { debtor: "12".into(), ..base.clone() }).unwrap().debtor, Debtor::File(12));
        assert_eq!(parse_subscription(&SubscriptionInput { debtor: "autre".into(), debtor_name: "M. Gope".into(), ..base.clone() }).unwrap().debtor, Debtor::Person("M. Gope".into()));
        let e = parse_subscription(&SubscriptionInput { debtor: "autre".into(), kind: "radio".into(), opened_on: "hier".into(), ..base }).unwrap_err();
        for f in ["debtor_name", "kind", "opened_on"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        assert!(parse_closing("").unwrap_err().get("closed_on").is_some());
    }

    #[test]
    fn units_are_whole_and_positive() {
        let u = parse_units(&UnitsInput { used_on: "21/11/2026".into(), units: "1 200".into(), ..Default::default() }).unwrap();
        assert_eq!(u.units, 1200);
        let e = parse_units(&UnitsInput { used_on: "".into(), units: "-3".into(), ..Default::default() }).unwrap_err();
        assert!(e.get("used_on").is_some() && e.get("units").is_some());
        assert!(parse_units(&UnitsInput { used_on: "21/11/2026".into(), ..Default::default() }).unwrap_err().get("units").is_some());
    }
}
