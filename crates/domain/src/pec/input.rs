//! What people type to create a request or record an answer, and its parsing into
//! domain values (every error at once, French messages naming the form field).
//!
//! Facts that need the database (the payer's kind, the stay's patient, the items the
//! request asked for) are checked by the store inside its transaction.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{Item, Status};
use crate::fr::parse_date_fr;
use crate::money::{Currency, Money};
use crate::validation::FieldErrors;

/// A new request (brouillon), as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PecInput {
    pub payer_id: String,
    /// The stay, or blank with a planned admission date.
    pub stay_id: String,
    /// JJ/MM/AAAA, for a planned stay.
    pub planned_admission_date: String,
    /// Comma-separated: forfait_journalier, chambre_particuliere, ticket_moderateur, prestations_annexes.
    pub requested_items: String,
    pub requested_days: String,
    /// French amount (`880,00` EUR, `12 500` XPF).
    pub estimate: String,
}

/// The payer's answer, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnswerInput {
    /// acceptee, partielle, refusee.
    pub status: String,
    pub agreement_number: String,
    /// Comma-separated items agreed.
    pub agreed_items: String,
    /// French amount per day (blank = no cap).
    pub cap_per_day: String,
    pub max_days: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
    pub valid_to: String,
    pub note: String,
}

/// A parsed new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPec {
    pub payer_id: i64,
    pub stay_id: Option<i64>,
    pub planned_admission_date: Option<Date>,
    /// Sorted by code, without repeats, never empty.
    pub requested_items: Vec<Item>,
    pub requested_days: i64,
    pub estimate: Money,
}

/// A parsed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Acceptee, Partielle or Refusee.
    pub status: Status,
    pub agreement_number: Option<String>,
    /// Sorted by code, without repeats; empty only for a refusal.
    pub agreed_items: Vec<Item>,
    pub cap_per_day: Option<Money>,
    pub max_days: Option<i64>,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    pub note: Option<String>,
}

/// Items as stored: codes sorted, comma-separated.
pub fn items_code(items: &[Item]) -> String {
    items.iter().map(|i| i.code()).collect::<Vec<_>>().join(",")
}

/// Stored items back (unknown codes are skipped).
pub fn items_from_code(s: &str) -> Vec<Item> {
    s.split(',').filter_map(|x| Item::from_code(x.trim())).collect()
}

fn items(e: &mut FieldErrors, field: &str, v: &str, required: bool) -> Vec<Item> {
    let mut codes: Vec<&str> = v.split(',').map(str::trim).filter(|x| !x.is_empty()).collect();
    codes.sort_unstable();
    codes.dedup();
    let list: Vec<Item> = codes.iter().filter_map(|c| Item::from_code(c)).collect();
    if list.len() != codes.len() {
        e.add(field, "Élément inconnu.");
    } else if required && list.is_empty() {
        e.add(field, "Cochez au moins un élément.");
    }
    list
}

fn day(e: &mut FieldErrors, field: &str, v: &str) -> Option<Date> {
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

fn days(e: &mut FieldErrors, field: &str, v: &str) -> Option<i64> {
    match v.trim().parse::<i64>() {
        Ok(d) if (1..=365).contains(&d) => Some(d),
        _ => {
            e.add(field, "Nombre de jours entre 1 et 365.");
            None
        }
    }
}

fn amount(e: &mut FieldErrors, field: &str, v: &str, currency: Currency, negative: &str) -> Option<Money> {
    if v.trim().is_empty() {
        return None;
    }
    match Money::parse_fr(v, currency) {
        Ok(m) if !m.is_negative() => Some(m),
        Ok(_) => {
            e.add(field, negative);
            None
        }
        Err(m) => {
            e.add(field, m.to_string());
            None
        }
    }
}

/// Parses a new request; `currency` is the establishment's (amounts are typed in it).
pub fn parse_new(raw: &PecInput, currency: Currency) -> Result<NewPec, FieldErrors> {
    let mut e = FieldErrors::new();
    let payer_id = raw.payer_id.trim().parse::<i64>().ok();
    if payer_id.is_none() {
        e.add("payer_id", "Choisissez l'organisme complémentaire.");
    }
    let requested_items = items(&mut e, "requested_items", &raw.requested_items, true);
    let requested_days = days(&mut e, "requested_days", &raw.requested_days);
    let planned = day(&mut e, "planned_admission_date", &raw.planned_admission_date);
    let stay_id = if raw.stay_id.trim().is_empty() {
        None
    } else {
        match raw.stay_id.trim().parse::<i64>() {
            Ok(s) => Some(s),
            Err(_) => {
                e.add("stay_id", "Séjour inconnu.");
                None
            }
        }
    };
    if stay_id.is_none() && planned.is_none() && raw.stay_id.trim().is_empty() {
        e.add("stay_id", "Choisissez le séjour, ou indiquez la date d'admission prévue.");
    }
    let estimate = amount(&mut e, "estimate", &raw.estimate, currency, "Le montant estimé ne peut pas être négatif.");
    e.into_result()?;
    match (payer_id, requested_days) {
        (Some(payer_id), Some(requested_days)) => Ok(NewPec {
            payer_id,
            stay_id,
            planned_admission_date: planned,
            requested_items,
            requested_days,
            estimate: estimate.unwrap_or(Money::zero(currency)),
        }),
        _ => Err(FieldErrors::single("payer_id", "Choisissez l'organisme complémentaire.")),
    }
}

/// Parses an answer; `currency` is the request's.
pub fn parse_answer(raw: &AnswerInput, currency: Currency) -> Result<Answer, FieldErrors> {
    let mut e = FieldErrors::new();
    let status = Status::from_code(raw.status.trim()).filter(|s| matches!(s, Status::Acceptee | Status::Partielle | Status::Refusee));
    if status.is_none() {
        e.add("status", "Réponse : acceptée, partielle ou refusée.");
    }
    // What an agreement needs is only asked once the kind of answer is known.
    let agreement = status.is_some_and(|s| s != Status::Refusee);
    let agreement_number = e.optional("agreement_number", &raw.agreement_number, 40);
    if agreement && agreement_number.is_none() {
        e.add("agreement_number", "Le numéro d'accord est obligatoire pour un accord.");
    }
    let agreed_items = items(&mut e, "agreed_items", &raw.agreed_items, agreement);
    let cap_per_day = amount(&mut e, "cap_per_day", &raw.cap_per_day, currency, "Le plafond ne peut pas être négatif.");
    let max_days = if raw.max_days.trim().is_empty() { None } else { days(&mut e, "max_days", &raw.max_days) };
    let valid_from = day(&mut e, "valid_from", &raw.valid_from);
    let valid_to = day(&mut e, "valid_to", &raw.valid_to);
    if agreement && (raw.valid_from.trim().is_empty() || raw.valid_to.trim().is_empty()) {
        e.add("valid_to", "Indiquez la période de validité de l'accord.");
    }
    if let (Some(f), Some(t)) = (valid_from, valid_to)
        && t < f
    {
        e.add("valid_to", "La fin de validité précède le début.");
    }
    let note = e.optional("note", &raw.note, 500);
    e.into_result()?;
    let status = status.ok_or_else(|| FieldErrors::single("status", "Réponse : acceptée, partielle ou refusée."))?;
    Ok(Answer { status, agreement_number, agreed_items, cap_per_day, max_days, valid_from, valid_to, note })
}

/// Checks an answer against what the request asked for: a full agreement covers only
/// requested items.
pub fn check_against_request(answer: &Answer, requested: &[Item]) -> Result<(), FieldErrors> {
    check_items(answer.status, &answer.agreed_items, requested)
}

/// [`check_against_request`] on the parts of an answer (also used to report every error
/// at once when the rest of the answer does not parse).
pub fn check_items(status: Status, agreed: &[Item], requested: &[Item]) -> Result<(), FieldErrors> {
    if status == Status::Acceptee && agreed.iter().any(|i| !requested.contains(i)) {
        return Err(FieldErrors::single("agreed_items", "Un accord ne peut porter que sur des éléments demandés."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept() -> AnswerInput {
        AnswerInput {
            status: "acceptee".into(),
            agreement_number: "ACC-1".into(),
            agreed_items: "forfait_journalier, chambre_particuliere,forfait_journalier".into(),
            cap_per_day: "65,00".into(),
            max_days: "10".into(),
            valid_from: "01/11/2026".into(),
            valid_to: "31/12/2026".into(),
            note: String::new(),
        }
    }

    #[test]
    fn new_request_parses_or_lists_every_error() {
        let ok = parse_new(
            &PecInput {
                payer_id: "4".into(),
                stay_id: String::new(),
                planned_admission_date: "10/12/2026".into(),
                requested_items: "forfait_journalier,chambre_particuliere".into(),
                requested_days: "20".into(),
                estimate: "1 360,00".into(),
            },
            Currency::Eur,
        )
        .unwrap();
        assert_eq!(ok.requested_items, [Item::ChambreParticuliere, Item::ForfaitJournalier], "sorted by code");
        assert_eq!(items_code(&ok.requested_items), "chambre_particuliere,forfait_journalier");
        assert_eq!(ok.estimate, Money::new(136_000, Currency::Eur));
        assert_eq!(ok.planned_admission_date, Some(jiff::civil::date(2026, 12, 10)));
        let e = parse_new(&PecInput { requested_days: "0".into(), estimate: "12,345".into(), requested_items: "lit".into(), ..Default::default() }, Currency::Eur)
            .unwrap_err();
        for f in ["payer_id", "requested_items", "requested_days", "stay_id", "estimate"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        let e = parse_new(&PecInput { estimate: "-5".into(), ..Default::default() }, Currency::Xpf).unwrap_err();
        assert!(e.get("estimate").is_some());
    }

    #[test]
    fn answers() {
        let a = parse_answer(&accept(), Currency::Eur).unwrap();
        assert_eq!(a.status, Status::Acceptee);
        assert_eq!(a.agreed_items, [Item::ChambreParticuliere, Item::ForfaitJournalier]);
        assert_eq!(a.cap_per_day, Some(Money::new(6_500, Currency::Eur)));
        assert!(check_against_request(&a, &[Item::ChambreParticuliere, Item::ForfaitJournalier]).is_ok());
        assert!(check_against_request(&a, &[Item::ForfaitJournalier]).is_err());
        let refused = parse_answer(&AnswerInput { status: "refusee".into(), note: "Hors garanties".into(), ..Default::default() }, Currency::Eur).unwrap();
        assert!(refused.agreed_items.is_empty() && refused.agreement_number.is_none());
        let e = parse_answer(&AnswerInput { status: "acceptee".into(), agreed_items: "x".into(), valid_from: "31/12/2026".into(), ..Default::default() }, Currency::Eur)
            .unwrap_err();
        for f in ["agreement_number", "agreed_items", "valid_to"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        let e = parse_answer(&AnswerInput { status: "expiree".into(), max_days: "400".into(), ..Default::default() }, Currency::Eur).unwrap_err();
        assert!(e.get("status").is_some() && e.get("max_days").is_some(), "{e:?}");
        let e = parse_answer(&AnswerInput { valid_from: "31/12/2026".into(), valid_to: "01/12/2026".into(), ..accept() }, Currency::Eur).unwrap_err();
        assert_eq!(e.get("valid_to"), Some("La fin de validité précède le début."));
    }
}
