//! What happens during a stay: transfers between services, temporary leave, room periods,
//! intensive-care periods, and the costly acts that bring the participation forfaitaire.
//! Each is dated with a time; the day rules (`billing::days`) decide which days count.

use jiff::civil::{Date, DateTime};
use serde::{Deserialize, Serialize};

use super::input::{day, pick, time};
use crate::billing::tariffs::Coefficient;
use crate::money::{Currency, Money};
use crate::validation::FieldErrors;

crate::code_enum! {
    /// A movement or period of a stay.
    pub enum MovementKind ("mouvement") {
        Transfert = "transfert", "Mutation vers un autre service ou une autre unité";
        Permission = "permission", "Permission de sortie (48 heures au plus)";
        ChambreParticuliere = "chambre_particuliere", "Chambre particulière à la demande du patient";
        ChambreMedicale = "chambre_medicale", "Chambre seule pour raison médicale";
        Reanimation = "reanimation", "Réanimation";
        SoinsIntensifs = "soins_intensifs", "Soins intensifs";
        SurveillanceContinue = "surveillance_continue", "Surveillance continue";
    }
}

impl MovementKind {
    /// A transfer happens at an instant; the others are periods (with an end, or open).
    pub const fn is_period(self) -> bool {
        !matches!(self, MovementKind::Transfert)
    }

    /// Réanimation, soins intensifs, surveillance continue: no private-room supplement on
    /// those days (art. R162-27 CSS, décret n° 2019-719).
    pub const fn is_critical_care(self) -> bool {
        matches!(self, MovementKind::Reanimation | MovementKind::SoinsIntensifs | MovementKind::SurveillanceContinue)
    }
}

/// A movement as the valuation reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub id: i64,
    pub kind: MovementKind,
    pub start: DateTime,
    /// `None`: still going (a period), or an instant (a transfer).
    pub end: Option<DateTime>,
    /// The service (or discipline) a transfer goes to; blank otherwise.
    pub service: String,
    pub unit: String,
    /// A private room at the patient's express written request (art. R162-27 CSS).
    pub written_request: bool,
}

/// Longest temporary leave (art. R1112-56 CSP).
pub const MAX_LEAVE_HOURS: i64 = 48;

/// A movement, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MovementInput {
    pub kind: String,
    /// JJ/MM/AAAA
    pub start_date: String,
    /// HH:MM
    pub start_time: String,
    pub end_date: String,
    pub end_time: String,
    pub service: String,
    pub unit: String,
    /// `oui` / `on` / `true` when the patient's written request is filed.
    pub written_request: String,
    /// The patient-management software's id, to make re-imports idempotent.
    pub external_id: String,
}

/// A parsed movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMovement {
    pub kind: MovementKind,
    pub start: DateTime,
    pub end: Option<DateTime>,
    pub service: String,
    pub unit: String,
    pub written_request: bool,
    pub external_id: Option<String>,
}

fn yes(v: &str) -> bool {
    matches!(v.trim().to_lowercase().as_str(), "oui" | "on" | "true" | "1" | "o" | "vrai")
}

/// Parses a movement (every error at once). That it lies inside the stay is checked against
/// the stay by [`within_stay`].
pub fn parse_movement(raw: &MovementInput) -> Result<ParsedMovement, FieldErrors> {
    let mut e = FieldErrors::new();
    let kind = pick::<MovementKind>(&mut e, "kind", &raw.kind, None, "Choisissez le type de mouvement.");
    if raw.start_date.trim().is_empty() {
        e.add("start_date", "La date de début est obligatoire.");
    }
    let sd = day(&mut e, "start_date", &raw.start_date);
    let st = time(&mut e, "start_time", &raw.start_time);
    let ed = day(&mut e, "end_date", &raw.end_date);
    let et = time(&mut e, "end_time", &raw.end_time);
    let start = sd.zip(st).map(|(d, t)| d.to_datetime(t));
    let end = ed.zip(et).map(|(d, t)| d.to_datetime(t));
    let service = e.optional("service", &raw.service, 60).unwrap_or_default();
    let unit = e.optional("unit", &raw.unit, 60).unwrap_or_default();
    let external_id = e.optional("external_id", &raw.external_id, 80);
    if let (Some(s), Some(x)) = (start, end)
        && x <= s
    {
        e.add("end_date", "La fin doit suivre le début.");
    }
    match kind {
        Some(MovementKind::Transfert) => {
            if service.is_empty() {
                e.add("service", "Indiquez le service d'accueil.");
            }
            if !raw.end_date.trim().is_empty() {
                e.add("end_date", "Une mutation n'a pas de fin : la suivante la termine.");
            }
        }
        Some(MovementKind::Permission) => match (start, end) {
            (Some(s), Some(x)) if x.duration_since(s).as_secs() > MAX_LEAVE_HOURS * 3600 => {
                e.add("end_date", "Une permission de sortie dure 48 heures au plus (art. R1112-56 CSP).");
            }
            (Some(_), None) if raw.end_date.trim().is_empty() => e.add("end_date", "Indiquez le retour de permission."),
            _ => {}
        },
        _ => {}
    }
    e.into_result()?;
    let (Some(kind), Some(start)) = (kind, start) else {
        return Err(FieldErrors::single("start_date", "La date de début est obligatoire."));
    };
    let written_request = kind == MovementKind::ChambreParticuliere && yes(&raw.written_request);
    Ok(ParsedMovement { kind, start, end, service, unit, written_request, external_id })
}

/// Whether a movement lies inside its stay (from the admission, not after the discharge).
pub fn within_stay(m: &ParsedMovement, admission: DateTime, discharge: Option<DateTime>) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::new();
    if m.start < admission {
        e.add("start_date", "Le mouvement commence avant l'admission.");
    }
    if let Some(d) = discharge {
        if m.start > d {
            e.add("start_date", "Le mouvement commence après la sortie.");
        }
        if m.end.is_some_and(|x| x > d) {
            e.add("end_date", "Le mouvement finit après la sortie.");
        }
    }
    e.into_result()
}

/// A costly act done during a stay: what decides the participation forfaitaire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayAct {
    pub id: i64,
    pub performed_on: Date,
    pub code: String,
    pub label: String,
    /// The act's tariff.
    pub amount: Money,
    pub coefficient: Option<Coefficient>,
}

/// A costly act, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StayActInput {
    /// JJ/MM/AAAA
    pub performed_on: String,
    /// CCAM or NGAP code.
    pub code: String,
    pub label: String,
    /// The act's tariff (e.g. 152,40).
    pub amount: String,
    /// NGAP coefficient, if any.
    pub coefficient: String,
    pub external_id: String,
}

/// A parsed costly act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedStayAct {
    pub performed_on: Date,
    pub code: String,
    pub label: String,
    pub amount: Money,
    pub coefficient: Option<Coefficient>,
    pub external_id: Option<String>,
}

/// Parses a costly act in the establishment's currency.
pub fn parse_stay_act(raw: &StayActInput, currency: Currency) -> Result<ParsedStayAct, FieldErrors> {
    let mut e = FieldErrors::new();
    if raw.performed_on.trim().is_empty() {
        e.add("performed_on", "La date de l'acte est obligatoire.");
    }
    let performed_on = day(&mut e, "performed_on", &raw.performed_on);
    let code = e.required("code", &raw.code, 20).to_uppercase();
    let label = e.optional("label", &raw.label, 200).unwrap_or_default();
    let amount = match Money::parse_fr(raw.amount.trim(), currency) {
        Ok(m) if m.is_negative() => {
            e.add("amount", "Le tarif de l'acte ne peut pas être négatif.");
            None
        }
        Ok(m) => Some(m),
        Err(err) => {
            e.add("amount", err.to_string());
            None
        }
    };
    let coefficient = if raw.coefficient.trim().is_empty() {
        None
    } else {
        match Coefficient::parse_fr(&raw.coefficient) {
            Ok(c) => Some(c),
            Err(m) => {
                e.add("coefficient", m);
                None
            }
        }
    };
    let external_id = e.optional("external_id", &raw.external_id, 80);
    e.into_result()?;
    let (Some(performed_on), Some(amount)) = (performed_on, amount) else {
        return Err(FieldErrors::single("performed_on", "La date de l'acte est obligatoire."));
    };
    Ok(ParsedStayAct { performed_on, code, label, amount, coefficient, external_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::datetime;

    fn input(kind: &str, sd: &str, st: &str, ed: &str, et: &str) -> MovementInput {
        MovementInput { kind: kind.into(), start_date: sd.into(), start_time: st.into(), end_date: ed.into(), end_time: et.into(), ..Default::default() }
    }

    #[test]
    fn codes() {
        crate::shared::codes::check::<MovementKind>();
    }

    #[test]
    fn a_leave_longer_than_48_hours_is_refused_next_to_the_end() {
        let e = parse_movement(&input("permission", "04/07/2026", "10:00", "06/07/2026", "10:01")).unwrap_err();
        assert!(e.get("end_date").unwrap().contains("48 heures"));
        assert!(parse_movement(&input("permission", "04/07/2026", "10:00", "06/07/2026", "10:00")).is_ok());
        assert!(parse_movement(&input("permission", "04/07/2026", "10:00", "", "")).unwrap_err().get("end_date").is_some());
    }

    #[test]
    fn a_transfer_names_its_service_and_has_no_end() {
        let e = parse_movement(&input("transfert", "04/07/2026", "10:00", "05/07/2026", "")).unwrap_err();
        assert!(e.get("service").is_some() && e.get("end_date").is_some());
        let mut ok = input("transfert", "04/07/2026", "10:00", "", "");
        ok.service = "CARDIO".into();
        assert_eq!(parse_movement(&ok).unwrap().service, "CARDIO");
    }

    #[test]
    fn bad_input_names_each_field() {
        let e = parse_movement(&input("bof", "32/07/2026", "25:00", "", "")).unwrap_err();
        for f in ["kind", "start_date", "start_time"] {
            assert!(e.get(f).is_some(), "{f}");
        }
        let e = parse_movement(&input("soins_intensifs", "04/07/2026", "10:00", "04/07/2026", "09:00")).unwrap_err();
        assert_eq!(e.get("end_date"), Some("La fin doit suivre le début."));
    }

    #[test]
    fn the_written_request_only_matters_for_a_private_room() {
        let mut i = input("chambre_particuliere", "04/07/2026", "10:00", "", "");
        i.written_request = "oui".into();
        assert!(parse_movement(&i).unwrap().written_request);
        i.kind = "chambre_medicale".into();
        assert!(!parse_movement(&i).unwrap().written_request);
    }

    #[test]
    fn a_movement_stays_inside_its_stay() {
        let m = parse_movement(&input("soins_intensifs", "04/07/2026", "10:00", "08/07/2026", "10:00")).unwrap();
        assert!(within_stay(&m, datetime(2026, 7, 1, 8, 0, 0, 0), None).is_ok());
        assert!(within_stay(&m, datetime(2026, 7, 5, 8, 0, 0, 0), None).unwrap_err().get("start_date").is_some());
        assert!(within_stay(&m, datetime(2026, 7, 1, 8, 0, 0, 0), Some(datetime(2026, 7, 7, 8, 0, 0, 0))).unwrap_err().get("end_date").is_some());
    }

    #[test]
    fn a_costly_act_is_parsed_in_the_currency() {
        let a = parse_stay_act(&StayActInput { performed_on: "03/03/2026".into(), code: "zzqk002".into(), amount: "152,40".into(), ..Default::default() }, Currency::Eur).unwrap();
        assert_eq!((a.code.as_str(), a.amount.minor), ("ZZQK002", 15_240));
        let e = parse_stay_act(&StayActInput { performed_on: "".into(), code: "".into(), amount: "-3".into(), coefficient: "0".into(), ..Default::default() }, Currency::Eur).unwrap_err();
        for f in ["performed_on", "code", "amount", "coefficient"] {
            assert!(e.get(f).is_some(), "{f}");
        }
    }
}
