//! What people type for a stay, a coverage right, a payer and a payer's dated rate, and its
//! parsing into domain values (every error at once, French messages naming the form field).
//!
//! Facts that need the database (the site belongs to the establishment and the agent may
//! open stays on it, the payer exists and may hold the rank, the insured member's file
//! exists, codes are unique, rates do not overlap) are checked by the store inside its
//! transaction.

use jiff::civil::{Date, DateTime, Time};
use serde::{Deserialize, Serialize};

use super::coverage::{Beneficiary, Category, Channel, CoverageRole, Exemption, PayerKind, StatementPeriod};
use super::stay::{CareMode, DischargeMode};
use crate::fr::parse_date_fr;
use crate::money::BasisPoints;
use crate::validation::FieldErrors;

// ---------------------------------------------------------------- shared pieces

/// An optional French date (`None` when blank); a bad one is an error on `field`.
pub(crate) fn day(e: &mut FieldErrors, field: &str, v: &str) -> Option<Date> {
    if v.trim().is_empty() {
        return None;
    }
    match parse_date_fr(v) {
        Ok(d) => Some(d),
        Err(m) => {
            e.add(field, m);
            None
        }
    }
}

/// An optional `HH:MM` (or `HHhMM`, `HHh`); blank is midnight.
pub(crate) fn time(e: &mut FieldErrors, field: &str, v: &str) -> Option<Time> {
    let v = v.trim();
    if v.is_empty() {
        return Some(Time::midnight());
    }
    let parsed = v.split_once(':').or_else(|| v.split_once('h')).and_then(|(h, m)| {
        let h: i8 = h.trim().parse().ok()?;
        let m: i8 = if m.trim().is_empty() { 0 } else { m.trim().parse().ok()? };
        Time::new(h, m, 0, 0).ok()
    });
    if parsed.is_none() {
        e.add(field, "Heure invalide : format attendu HH:MM.");
    }
    parsed
}

/// A code of `T` (blank = `default`), or `message` on `field`.
pub(crate) fn pick<T: crate::codes::CodeEnum>(e: &mut FieldErrors, field: &str, v: &str, default: Option<T>, message: &str) -> Option<T> {
    let v = v.trim();
    let found = if v.is_empty() { default } else { T::from_code(v) };
    if found.is_none() {
        e.add(field, message);
    }
    found
}

/// A local date and time as stored: `YYYY-MM-DDTHH:MM`.
pub fn local_text(at: DateTime) -> String {
    format!("{}T{:02}:{:02}", at.date(), at.hour(), at.minute())
}

/// Codes as stored: comma-separated, in the order given.
pub fn codes_text<T: crate::codes::CodeEnum>(list: &[T]) -> String {
    list.iter().map(|x| x.code()).collect::<Vec<_>>().join(",")
}

// ---------------------------------------------------------------- stays

/// A stay, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StayInput {
    pub site_id: String,
    /// JJ/MM/AAAA
    pub admission_date: String,
    /// HH:MM
    pub admission_time: String,
    pub planned_discharge_date: String,
    pub discharge_date: String,
    pub discharge_time: String,
    pub discharge_mode: String,
    pub care_mode: String,
}

/// How a stay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discharge {
    pub at: DateTime,
    pub mode: DischargeMode,
}

/// A parsed stay (local times in the establishment's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedStay {
    pub site_id: i64,
    pub care_mode: CareMode,
    pub admission_at: DateTime,
    /// Not before the admission day.
    pub planned_discharge_date: Option<Date>,
    /// Not before the admission.
    pub discharge: Option<Discharge>,
}

/// Parses a stay.
pub fn parse_stay(raw: &StayInput) -> Result<ParsedStay, FieldErrors> {
    let mut e = FieldErrors::new();
    let site_id = raw.site_id.trim().parse::<i64>().ok();
    if site_id.is_none() {
        e.add("site_id", "Choisissez le service ou le site.");
    }
    let care_mode = pick::<CareMode>(&mut e, "care_mode", &raw.care_mode, None, "Mode de prise en charge inconnu.");
    if raw.admission_date.trim().is_empty() {
        e.add("admission_date", "La date d'admission est obligatoire.");
    }
    let adm_day = day(&mut e, "admission_date", &raw.admission_date);
    let adm_time = time(&mut e, "admission_time", &raw.admission_time);
    let planned = day(&mut e, "planned_discharge_date", &raw.planned_discharge_date);
    let dis_day = day(&mut e, "discharge_date", &raw.discharge_date);
    let dis_time = time(&mut e, "discharge_time", &raw.discharge_time);
    let discharge_mode = if raw.discharge_mode.trim().is_empty() {
        None
    } else {
        pick::<DischargeMode>(&mut e, "discharge_mode", &raw.discharge_mode, None, "Mode de sortie inconnu.")
    };
    if dis_day.is_some() && raw.discharge_mode.trim().is_empty() {
        e.add("discharge_mode", "Indiquez le mode de sortie.");
    }
    if raw.discharge_date.trim().is_empty() && !raw.discharge_mode.trim().is_empty() {
        e.add("discharge_date", "Indiquez la date de sortie.");
    }
    let admission_at = adm_day.zip(adm_time).map(|(d, t)| d.to_datetime(t));
    let discharge_at = dis_day.zip(dis_time).map(|(d, t)| d.to_datetime(t));
    if let (Some(a), Some(d)) = (admission_at, discharge_at)
        && d < a
    {
        e.add("discharge_date", "La sortie précède l'admission.");
    }
    if let (Some(a), Some(p)) = (adm_day, planned)
        && p < a
    {
        e.add("planned_discharge_date", "La sortie prévue précède l'admission.");
    }
    e.into_result()?;
    let (Some(site_id), Some(care_mode), Some(admission_at)) = (site_id, care_mode, admission_at) else {
        return Err(FieldErrors::single("admission_date", "La date d'admission est obligatoire."));
    };
    let discharge = match (discharge_at, discharge_mode) {
        (Some(at), Some(mode)) => Some(Discharge { at, mode }),
        _ => None,
    };
    Ok(ParsedStay { site_id, care_mode, admission_at, planned_discharge_date: planned, discharge })
}

// ---------------------------------------------------------------- coverages

/// A coverage right, as typed. Blank rates take the payer's default rate valid on `valid_from`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CoverageInput {
    pub payer_id: String,
    /// obligatoire, complementaire, aide.
    pub role: String,
    pub member_number: String,
    /// assure, ayant_droit.
    pub beneficiary: String,
    /// The insured member's file, when known (for a dependant).
    pub insured_patient_id: String,
    pub insured_name: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
    /// JJ/MM/AAAA, blank = open-ended.
    pub valid_to: String,
    /// Rates as « 80 % », « 80 » or « 12,5 % ».
    pub rate_sejour: String,
    pub rate_actes: String,
    pub rate_fj: String,
    pub rate_cp: String,
    pub rate_annexes: String,
    /// Comma-separated: ald, maternite, at_mp, c2s, ame, longue_maladie, carte_a, carte_b, carte_m…
    pub exemptions: String,
    /// 1 = first payer asked; blank = after the others.
    pub priority: String,
}

/// The form fields of the five rates, in the order of [`Category::ALL`].
pub const RATE_FIELDS: [&str; 5] = ["rate_sejour", "rate_actes", "rate_fj", "rate_cp", "rate_annexes"];

/// A parsed coverage right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCoverage {
    pub payer_id: i64,
    pub role: CoverageRole,
    pub member_number: Option<String>,
    pub beneficiary: Beneficiary,
    pub insured_patient_id: Option<i64>,
    pub insured_name: Option<String>,
    pub valid_from: Date,
    /// Not before `valid_from`; `None` = open-ended.
    pub valid_to: Option<Date>,
    /// Given rates in the order of [`Category::ALL`]; `None` = the payer's default.
    pub rates: [Option<BasisPoints>; 5],
    /// Sorted by code, without repeats.
    pub exemptions: Vec<Exemption>,
    /// 1 to 9; `None` = after the others (or unchanged).
    pub priority: Option<i64>,
}

impl ParsedCoverage {
    /// The given rate of a category (`None` = the payer's default).
    pub fn rate(&self, c: Category) -> Option<BasisPoints> {
        Category::ALL.iter().position(|x| *x == c).and_then(|i| self.rates[i])
    }
}

/// Parses a coverage right.
pub fn parse_coverage(raw: &CoverageInput) -> Result<ParsedCoverage, FieldErrors> {
    let mut e = FieldErrors::new();
    let payer_id = raw.payer_id.trim().parse::<i64>().ok();
    if payer_id.is_none() {
        e.add("payer_id", "Choisissez l'organisme.");
    }
    let role = pick::<CoverageRole>(&mut e, "role", &raw.role, None, "Rang inconnu : obligatoire, complémentaire ou aide.");
    let member_number = e.optional("member_number", &raw.member_number, 40);
    let beneficiary = pick::<Beneficiary>(&mut e, "beneficiary", &raw.beneficiary, Some(Beneficiary::Assure), "Assuré ou ayant droit.");
    let insured_patient_id = if raw.insured_patient_id.trim().is_empty() {
        None
    } else {
        match raw.insured_patient_id.trim().parse::<i64>() {
            Ok(i) => Some(i),
            Err(_) => {
                e.add("insured_patient_id", "Numéro de dossier invalide.");
                None
            }
        }
    };
    let insured_name = e.optional("insured_name", &raw.insured_name, 200);
    if beneficiary == Some(Beneficiary::AyantDroit) && raw.insured_patient_id.trim().is_empty() && insured_name.is_none() {
        e.add("insured_name", "Indiquez l'assuré ouvrant droit (nom ou dossier).");
    }
    let valid_from = day(&mut e, "valid_from", &raw.valid_from);
    if raw.valid_from.trim().is_empty() {
        e.add("valid_from", "La date de début des droits est obligatoire.");
    }
    let valid_to = day(&mut e, "valid_to", &raw.valid_to);
    if let (Some(f), Some(t)) = (valid_from, valid_to)
        && t < f
    {
        e.add("valid_to", "La fin des droits précède leur début.");
    }
    let given = [&raw.rate_sejour, &raw.rate_actes, &raw.rate_fj, &raw.rate_cp, &raw.rate_annexes];
    let mut rates = [None; 5];
    for (k, v) in given.iter().enumerate() {
        if v.trim().is_empty() {
            continue;
        }
        match BasisPoints::parse_fr(v) {
            Ok(r) => rates[k] = Some(r),
            Err(m) => e.add(RATE_FIELDS[k], m.to_string()),
        }
    }
    let mut codes: Vec<&str> = raw.exemptions.split(',').map(str::trim).filter(|x| !x.is_empty()).collect();
    codes.sort_unstable();
    codes.dedup();
    let exemptions: Vec<Exemption> = codes.iter().filter_map(|c| Exemption::from_code(c)).collect();
    if exemptions.len() != codes.len() {
        e.add("exemptions", "Exonération inconnue.");
    }
    let priority = if raw.priority.trim().is_empty() {
        None
    } else {
        match raw.priority.trim().parse::<i64>() {
            Ok(p) if (1..=9).contains(&p) => Some(p),
            _ => {
                e.add("priority", "Priorité de 1 à 9.");
                None
            }
        }
    };
    e.into_result()?;
    let (Some(payer_id), Some(role), Some(beneficiary), Some(valid_from)) = (payer_id, role, beneficiary, valid_from) else {
        return Err(FieldErrors::single("valid_from", "La date de début des droits est obligatoire."));
    };
    Ok(ParsedCoverage {
        payer_id,
        role,
        member_number,
        beneficiary,
        insured_patient_id,
        insured_name,
        valid_from,
        valid_to,
        rates,
        exemptions,
        priority,
    })
}

// ---------------------------------------------------------------- payers

/// A payer, as a form, the API or a CSV row sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PayerInput {
    pub code: String,
    /// obligatoire, complementaire, aide_medicale, public, autre.
    pub kind: String,
    pub name: String,
    /// Identifying code (organisme code, AMC number, RIDET…).
    pub identifier: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub contact_name: String,
    /// Days allowed to pay.
    pub payment_terms_days: String,
    /// aucun, hebdomadaire, mensuel, trimestriel.
    pub statement_period: String,
    /// Days after the period end to send the statement.
    pub statement_deadline_days: String,
    /// papier, courriel, portail, b2_noemie, edi.
    pub channel: String,
    pub accounting_account: String,
    /// `true`/`false` (default true).
    pub active: String,
}

/// A parsed payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPayer {
    /// Upper case: letters, digits, `-`, `_`.
    pub code: String,
    pub kind: PayerKind,
    pub name: String,
    pub identifier: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub contact_name: Option<String>,
    /// 0 to 365.
    pub payment_terms_days: i64,
    pub statement_period: StatementPeriod,
    /// 0 to 365.
    pub statement_deadline_days: i64,
    pub channel: Channel,
    /// Digits only.
    pub accounting_account: Option<String>,
    pub active: bool,
}

fn days(e: &mut FieldErrors, field: &str, v: &str, default: i64) -> i64 {
    let v = v.trim();
    if v.is_empty() {
        return default;
    }
    match v.parse::<i64>() {
        Ok(n) if (0..=365).contains(&n) => n,
        _ => {
            e.add(field, "Nombre de jours entre 0 et 365.");
            default
        }
    }
}

/// A code of letters, digits, `-` and `_`, upper-cased (required, `max` characters).
pub(crate) fn short_code(e: &mut FieldErrors, field: &str, v: &str, max: usize) -> String {
    let code = e.required(field, v, max).to_uppercase();
    if !code.is_empty() && !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        e.add(field, "Lettres, chiffres, « - » et « _ » uniquement.");
    }
    code
}

/// An optional e-mail address (`None` when blank).
pub(crate) fn email(e: &mut FieldErrors, field: &str, v: &str) -> Option<String> {
    let m = e.optional(field, v, 200);
    if let Some(m) = &m
        && (!m.contains('@') || m.starts_with('@') || m.ends_with('@'))
    {
        e.add(field, "Adresse électronique invalide.");
    }
    m
}

/// Parses a payer.
pub fn parse_payer(raw: &PayerInput) -> Result<ParsedPayer, FieldErrors> {
    let mut e = FieldErrors::new();
    let code = short_code(&mut e, "code", &raw.code, 20);
    let kind = pick::<PayerKind>(&mut e, "kind", &raw.kind, None, "Type d'organisme inconnu.");
    let name = e.required("name", &raw.name, 200);
    let identifier = e.optional("identifier", &raw.identifier, 40);
    let address_line1 = e.optional("address_line1", &raw.address_line1, 200);
    let address_line2 = e.optional("address_line2", &raw.address_line2, 200);
    let country = e.optional("country", &raw.country, 60);
    let postcode = if raw.postcode.trim().is_empty() {
        None
    } else {
        match crate::identity::validate_postcode(&raw.postcode, country.as_deref().unwrap_or("")) {
            Ok(p) => Some(p),
            Err(m) => {
                e.add("postcode", m);
                None
            }
        }
    };
    let city = e.optional("city", &raw.city, 100);
    let phone = e.optional("phone", &raw.phone, 30);
    let email = email(&mut e, "email", &raw.email);
    let contact_name = e.optional("contact_name", &raw.contact_name, 100);
    let payment_terms_days = days(&mut e, "payment_terms_days", &raw.payment_terms_days, 30);
    let statement_period =
        pick::<StatementPeriod>(&mut e, "statement_period", &raw.statement_period, Some(StatementPeriod::Mensuel), "Périodicité inconnue.");
    let statement_deadline_days = days(&mut e, "statement_deadline_days", &raw.statement_deadline_days, 15);
    let channel = pick::<Channel>(&mut e, "channel", &raw.channel, Some(Channel::Papier), "Canal de transmission inconnu.");
    let accounting_account = e.optional("accounting_account", &raw.accounting_account, 20);
    if let Some(a) = &accounting_account
        && !a.chars().all(|c| c.is_ascii_digit())
    {
        e.add("accounting_account", "Compte comptable : chiffres uniquement (ex. 4111).");
    }
    let active = !matches!(raw.active.trim().to_lowercase().as_str(), "false" | "non" | "0");
    e.into_result()?;
    let (Some(kind), Some(statement_period), Some(channel)) = (kind, statement_period, channel) else {
        return Err(FieldErrors::single("kind", "Type d'organisme inconnu."));
    };
    Ok(ParsedPayer {
        code,
        kind,
        name,
        identifier,
        address_line1,
        address_line2,
        postcode,
        city,
        country,
        phone,
        email,
        contact_name,
        payment_terms_days,
        statement_period,
        statement_deadline_days,
        channel,
        accounting_account,
        active,
    })
}

// ---------------------------------------------------------------- payer rates

/// A dated default rate of a payer, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateInput {
    /// sejour, actes, forfait_journalier, chambre_particuliere, prestations_annexes.
    pub category: String,
    /// « 80 % », « 80 » or « 12,5 % ».
    pub rate: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
}

/// A parsed dated rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedRate {
    pub category: Category,
    /// At most 100 %.
    pub rate: BasisPoints,
    /// Has a day before it (the previous rate of the category ends then).
    pub valid_from: Date,
}

/// Parses a dated rate.
pub fn parse_rate(raw: &RateInput) -> Result<ParsedRate, FieldErrors> {
    let mut e = FieldErrors::new();
    let category = Category::from_code(raw.category.trim());
    if category.is_none() {
        e.add("category", "Catégorie de charge inconnue.");
    }
    let rate = match BasisPoints::parse_fr(&raw.rate) {
        Ok(r) => Some(r),
        Err(m) => {
            e.add("rate", m.to_string());
            None
        }
    };
    let valid_from = match parse_date_fr(&raw.valid_from) {
        Ok(d) if d.yesterday().is_ok() => Some(d),
        Ok(_) => {
            e.add("valid_from", "Date hors limites.");
            None
        }
        Err(m) => {
            e.add("valid_from", m);
            None
        }
    };
    e.into_result()?;
    match (category, rate, valid_from) {
        (Some(category), Some(rate), Some(valid_from)) => Ok(ParsedRate { category, rate, valid_from }),
        _ => Err(FieldErrors::single("rate", "Taux vide")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn stays_parse_or_list_every_error() {
        let s = parse_stay(&StayInput {
            site_id: "3".into(),
            admission_date: "02/11/2026".into(),
            admission_time: "8h".into(),
            discharge_date: "05/11/2026".into(),
            discharge_time: "11:30".into(),
            discharge_mode: "domicile".into(),
            care_mode: "hospitalisation_complete".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(local_text(s.admission_at), "2026-11-02T08:00");
        assert_eq!(s.discharge.map(|d| (local_text(d.at), d.mode)), Some(("2026-11-05T11:30".into(), DischargeMode::Domicile)));
        let e = parse_stay(&StayInput { admission_time: "25:00".into(), discharge_mode: "fuite".into(), care_mode: "x".into(), ..Default::default() }).unwrap_err();
        for f in ["site_id", "care_mode", "admission_date", "admission_time", "discharge_mode", "discharge_date"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        let e = parse_stay(&StayInput {
            site_id: "1".into(),
            care_mode: "urgence".into(),
            admission_date: "05/11/2026".into(),
            admission_time: "10:00".into(),
            discharge_date: "05/11/2026".into(),
            discharge_time: "09:00".into(),
            discharge_mode: "deces".into(),
            planned_discharge_date: "01/11/2026".into(),
        })
        .unwrap_err();
        assert_eq!(e.get("discharge_date"), Some("La sortie précède l'admission."));
        assert!(e.get("planned_discharge_date").is_some());
    }

    #[test]
    fn coverages_parse_or_list_every_error() {
        let c = parse_coverage(&CoverageInput {
            payer_id: "7".into(),
            role: "complementaire".into(),
            valid_from: "01/01/2026".into(),
            rate_fj: "100".into(),
            exemptions: "maternite, ald,ald".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((c.payer_id, c.role, c.beneficiary, c.valid_from), (7, CoverageRole::Complementaire, Beneficiary::Assure, date(2026, 1, 1)));
        assert_eq!(c.rate(Category::ForfaitJournalier), Some(BasisPoints::FULL));
        assert_eq!(c.rate(Category::Sejour), None);
        assert_eq!(c.exemptions, [Exemption::Ald, Exemption::Maternite]);
        assert_eq!(codes_text(&c.exemptions), "ald,maternite");
        let e = parse_coverage(&CoverageInput {
            role: "premier".into(),
            beneficiary: "ayant_droit".into(),
            valid_to: "01/01/2026".into(),
            rate_actes: "120".into(),
            exemptions: "x".into(),
            priority: "0".into(),
            insured_patient_id: "abc".into(),
            ..Default::default()
        })
        .unwrap_err();
        for f in ["payer_id", "role", "valid_from", "rate_actes", "exemptions", "priority", "insured_patient_id"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        let e = parse_coverage(&CoverageInput { payer_id: "1".into(), role: "aide".into(), beneficiary: "ayant_droit".into(), valid_from: "02/01/2026".into(), valid_to: "01/01/2026".into(), ..Default::default() }).unwrap_err();
        assert_eq!(e.get("valid_to"), Some("La fin des droits précède leur début."));
        assert!(e.get("insured_name").is_some());
    }

    #[test]
    fn payers_and_rates() {
        let p = parse_payer(&PayerInput { code: " cpam69 ".into(), kind: "obligatoire".into(), name: "CPAM du Rhône".into(), ..Default::default() }).unwrap();
        assert_eq!((p.code.as_str(), p.kind, p.statement_period, p.channel, p.payment_terms_days, p.active), ("CPAM69", PayerKind::Obligatoire, StatementPeriod::Mensuel, Channel::Papier, 30, true));
        let e = parse_payer(&PayerInput { code: "a b".into(), kind: "x".into(), email: "@".into(), payment_terms_days: "400".into(), channel: "pigeon".into(), accounting_account: "41A".into(), ..Default::default() }).unwrap_err();
        for f in ["code", "kind", "name", "email", "payment_terms_days", "channel", "accounting_account"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        let r = parse_rate(&RateInput { category: "sejour".into(), rate: "80".into(), valid_from: "01/01/2026".into() }).unwrap();
        assert_eq!((r.category, r.rate, r.valid_from), (Category::Sejour, BasisPoints(8_000), date(2026, 1, 1)));
        let e = parse_rate(&RateInput { category: "lit".into(), rate: "101".into(), valid_from: "hier".into() }).unwrap_err();
        assert_eq!(e.0.len(), 3, "{e:?}");
    }
}
