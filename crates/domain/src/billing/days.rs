//! Which calendar days of a stay bear the forfait journalier, and which count for the daily
//! tariff (presence at midnight). Each rule names its text; the switchable ones are read from
//! the establishment's parameters ([`DayRules::on`]).

use jiff::civil::{Date, DateTime};

use super::parameters::{Missing, ParameterKey, ParameterSet};
use crate::care::movement::{Movement, MovementKind};
use crate::care::stay::{CareMode, DischargeMode};
use crate::fr::push_date_fr;

/// What the day rules need of a stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StayTimes {
    pub admission: DateTime,
    /// `None`: still present.
    pub discharge: Option<DateTime>,
    pub discharge_mode: Option<DischargeMode>,
    pub care_mode: CareMode,
}

/// The switchable day rules of an establishment on a day (the stay's admission day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRules {
    pub fj_modes: Vec<CareMode>,
    pub exit_billed_on_death: bool,
    pub exit_billed_on_transfer: bool,
    pub under_24h_at_midnight: bool,
}

impl DayRules {
    pub fn on(p: &ParameterSet<'_>, day: Date) -> Result<DayRules, Missing> {
        Ok(DayRules {
            fj_modes: p.fj_modes(day)?.to_vec(),
            exit_billed_on_death: p.flag(ParameterKey::SortieDecesFacturee, day)?,
            exit_billed_on_transfer: p.flag(ParameterKey::SortieTransfertFacturee, day)?,
            under_24h_at_midnight: p.flag(ParameterKey::FjMoins24h, day)?,
        })
    }
}

/// A day left out, and why (in French, for the explanation of the charge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub day: Date,
    pub reason: String,
}

/// The days of the forfait journalier, with the days left out and the rule applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FjDays {
    /// Sorted, each once.
    pub days: Vec<Date>,
    pub left_out: Vec<LeftOut>,
    /// Why there is no day at all (care mode, a stay under 24 h), if so.
    pub none_because: Option<String>,
    /// Whether the exit day is among `days` (for the sentence « jour de sortie inclus »).
    pub exit_day_included: bool,
}

/// Every day from `from` to `to`, both included (empty when `to < from`).
pub fn span(from: Date, to: Date) -> Vec<Date> {
    let n = if to < from { 0 } else { usize::try_from((to - from).get_days()).unwrap_or(0) + 1 };
    let mut v = Vec::with_capacity(n);
    let mut d = from;
    while d <= to {
        v.push(d);
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    v
}

/// The forfait journalier's days of a stay, counted up to `until` for a stay still open.
///
/// - Only the care modes of `modes_fj` bear it (not HAD, day hospitalisation, séances,
///   consultations: guide des règles de facturation 2009).
/// - From the admission day to the exit day inclusive, whatever the hours (art. L174-4 CSS,
///   circulaire du 26 août 1993), except the exit day on death (arrêté du 19 février 2009) or
///   definitive transfer (MCO prestations arrêté), unless the parameters say otherwise.
/// - A stay under 24 h bears it only when it is present at midnight and `fj_moins_24h` is on
///   (circulaires of 1984 and 1993).
pub fn fj_days(stay: &StayTimes, rules: &DayRules, until: Date) -> FjDays {
    let none = |why: String| FjDays { days: Vec::new(), left_out: Vec::new(), none_because: Some(why), exit_day_included: false };
    if !rules.fj_modes.contains(&stay.care_mode) {
        return none(format!("mode « {} » (art. L174-4 CSS ; guide des règles de facturation)", stay.care_mode.label()));
    }
    let first = stay.admission.date();
    let last = match stay.discharge {
        Some(d) => d.date(),
        None => until,
    };
    if last < first {
        return none("séjour sans journée à facturer à cette date".into());
    }
    if let Some(d) = stay.discharge {
        let under_24h = d.duration_since(stay.admission).as_secs() < 86_400;
        if under_24h {
            if d.date() == first {
                return none("séjour de moins de 24 heures sans présence à minuit".into());
            }
            if !rules.under_24h_at_midnight {
                return none("séjour de moins de 24 heures (règle de l'établissement)".into());
            }
        }
    }
    let mut days = span(first, last);
    let mut left_out = Vec::new();
    let mut exit_day_included = stay.discharge.is_some();
    if stay.discharge.is_some() {
        let reason = match stay.discharge_mode {
            Some(DischargeMode::Deces) if !rules.exit_billed_on_death => Some("jour de sortie non facturé : décès (arrêté du 19 février 2009)"),
            Some(DischargeMode::Transfert) if !rules.exit_billed_on_transfer => {
                Some("jour de sortie non facturé : transfert vers un autre établissement (arrêté des prestations MCO)")
            }
            _ => None,
        };
        if let Some(r) = reason
            && days.len() > 1
        {
            days.pop();
            left_out.push(LeftOut { day: last, reason: r.into() });
            exit_day_included = false;
        }
    }
    FjDays { days, left_out, none_because: None, exit_day_included }
}

/// The days of presence at midnight (the base of the daily tariff and of the ticket
/// modérateur; the exit day does not count: AN written answer n° 14139), up to the night of
/// `until - 1` for a stay still open.
pub fn midnight_days(stay: &StayTimes, until: Date) -> Vec<Date> {
    let first = stay.admission.date();
    let end = match stay.discharge {
        Some(d) => d.date(),
        None => until,
    };
    match end.yesterday() {
        Ok(last) => span(first, last),
        Err(_) => Vec::new(),
    }
}

/// The days whose following midnight the patient spends on temporary leave (a permission
/// de sortie, art. R1112-56 CSP): neither the forfait journalier nor the daily tariff is billed
/// for them. A day's midnight is the instant that ends it. [non vérifié: the texts say the
/// days of leave are not billed without saying which; counting the nights spent outside is
/// the reading that bills the patient least, see docs/billing.md.]
pub fn leave_days(movements: &[Movement]) -> Vec<Date> {
    let mut v = Vec::new();
    for m in movements.iter().filter(|m| m.kind == MovementKind::Permission) {
        let Some(end) = m.end else { continue };
        for d in span(m.start.date(), end.date()) {
            let Ok(next) = d.tomorrow() else { continue };
            let midnight = next.to_datetime(jiff::civil::Time::midnight());
            if m.start <= midnight && midnight < end {
                v.push(d);
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

/// The service (or discipline) the patient is in on `day`: that of the last transfer made on
/// or before that day (the receiving service owns the transfer day), blank before any.
pub fn service_on(movements: &[Movement], day: Date) -> &str {
    transfer_on(movements, day).map(|i| movements[i].service.as_str()).unwrap_or("")
}

/// The index in `movements` of the transfer that sets the service of `day` ([`service_on`]):
/// a key that compares without comparing strings.
pub fn transfer_on(movements: &[Movement], day: Date) -> Option<usize> {
    movements
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == MovementKind::Transfert && m.start.date() <= day)
        .max_by_key(|(_, m)| (m.start, m.id))
        .map(|(i, _)| i)
}

/// Whether `day` is touched by a period of `kind` (a period still going runs to `until`).
pub fn in_period(m: &Movement, day: Date, until: Date) -> bool {
    let end = m.end.map(|e| e.date()).unwrap_or(until);
    m.start.date() <= day && day <= end
}

/// The days of a sorted list in French, run by run: `du 12/03/2026 au 15/03/2026`, `le
/// 12/03/2026`, and for days with gaps `du 02/11/2026 au 03/11/2026, du 06/11/2026 au 30/11/2026`.
pub fn run_text(days: &[Date]) -> String {
    let mut runs: Vec<(Date, Date)> = Vec::new();
    for d in days {
        match runs.last_mut() {
            Some((_, b)) if b.tomorrow().ok() == Some(*d) => *b = *d,
            _ => runs.push((*d, *d)),
        }
    }
    let mut out = String::with_capacity(runs.len() * 28);
    for (i, (a, b)) in runs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if a == b {
            out.push_str("le ");
            push_date_fr(&mut out, *a);
        } else {
            out.push_str("du ");
            push_date_fr(&mut out, *a);
            out.push_str(" au ");
            push_date_fr(&mut out, *b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, datetime};

    fn rules() -> DayRules {
        DayRules { fj_modes: vec![CareMode::HospitalisationComplete], exit_billed_on_death: false, exit_billed_on_transfer: false, under_24h_at_midnight: true }
    }

    fn stay(a: DateTime, d: Option<DateTime>, mode: Option<DischargeMode>, care: CareMode) -> StayTimes {
        StayTimes { admission: a, discharge: d, discharge_mode: mode, care_mode: care }
    }

    const HC: CareMode = CareMode::HospitalisationComplete;

    /// The rule cases, each with the text it implements.
    #[test]
    fn rule_cases() {
        let today = date(2026, 12, 1);
        struct Case {
            name: &'static str,
            source: &'static str,
            stay: StayTimes,
            rules: DayRules,
            fj: usize,
            midnight: usize,
        }
        let mut no_24h = rules();
        no_24h.under_24h_at_midnight = false;
        let mut death_billed = rules();
        death_billed.exit_billed_on_death = true;
        let cases = [
            Case { name: "5 nuits lundi → samedi", source: "domain-rules-2 §1.5 ; AN n° 14139", stay: stay(datetime(2026, 3, 2, 9, 0, 0, 0), Some(datetime(2026, 3, 7, 11, 0, 0, 0)), Some(DischargeMode::Domicile), HC), rules: rules(), fj: 6, midnight: 5 },
            Case { name: "décès : jour de sortie non facturé", source: "arrêté du 19 février 2009", stay: stay(datetime(2026, 3, 2, 9, 0, 0, 0), Some(datetime(2026, 3, 7, 3, 0, 0, 0)), Some(DischargeMode::Deces), HC), rules: rules(), fj: 5, midnight: 5 },
            Case { name: "décès, règle désactivée", source: "paramètre sortie_deces_facturee", stay: stay(datetime(2026, 3, 2, 9, 0, 0, 0), Some(datetime(2026, 3, 7, 3, 0, 0, 0)), Some(DischargeMode::Deces), HC), rules: death_billed, fj: 6, midnight: 5 },
            Case { name: "transfert définitif", source: "arrêté des prestations MCO", stay: stay(datetime(2026, 3, 2, 9, 0, 0, 0), Some(datetime(2026, 3, 4, 15, 0, 0, 0)), Some(DischargeMode::Transfert), HC), rules: rules(), fj: 2, midnight: 2 },
            Case { name: "mutation interne : jour de sortie facturé", source: "art. L174-4 CSS", stay: stay(datetime(2026, 3, 2, 9, 0, 0, 0), Some(datetime(2026, 3, 4, 15, 0, 0, 0)), Some(DischargeMode::Mutation), HC), rules: rules(), fj: 3, midnight: 2 },
            Case { name: "moins de 24 h, présent à minuit", source: "circulaire n° 13762 du 9 novembre 1993", stay: stay(datetime(2026, 3, 2, 20, 0, 0, 0), Some(datetime(2026, 3, 3, 10, 0, 0, 0)), Some(DischargeMode::Domicile), HC), rules: rules(), fj: 2, midnight: 1 },
            Case { name: "moins de 24 h, présent à minuit, règle désactivée", source: "paramètre fj_moins_24h", stay: stay(datetime(2026, 3, 2, 20, 0, 0, 0), Some(datetime(2026, 3, 3, 10, 0, 0, 0)), Some(DischargeMode::Domicile), HC), rules: no_24h, fj: 0, midnight: 1 },
            Case { name: "moins de 24 h sans nuit", source: "guide des règles de facturation 2009", stay: stay(datetime(2026, 3, 2, 8, 0, 0, 0), Some(datetime(2026, 3, 2, 19, 0, 0, 0)), Some(DischargeMode::Domicile), HC), rules: rules(), fj: 0, midnight: 0 },
            Case { name: "exactement 24 h", source: "art. L174-4 CSS", stay: stay(datetime(2026, 3, 2, 10, 0, 0, 0), Some(datetime(2026, 3, 3, 10, 0, 0, 0)), Some(DischargeMode::Domicile), HC), rules: no_24h_clone(), fj: 2, midnight: 1 },
            Case { name: "hospitalisation de jour", source: "guide des règles de facturation 2009", stay: stay(datetime(2026, 3, 2, 8, 0, 0, 0), Some(datetime(2026, 3, 2, 17, 0, 0, 0)), None, CareMode::HospitalisationJour), rules: rules(), fj: 0, midnight: 0 },
            Case { name: "HAD", source: "ameli.fr ; guide des règles de facturation 2009", stay: stay(datetime(2026, 3, 2, 8, 0, 0, 0), Some(datetime(2026, 3, 20, 17, 0, 0, 0)), None, CareMode::Had), rules: rules(), fj: 0, midnight: 18 },
            Case { name: "séjour en cours", source: "art. L174-4 CSS", stay: stay(datetime(2026, 11, 28, 9, 0, 0, 0), None, None, HC), rules: rules(), fj: 4, midnight: 3 },
            Case { name: "décès le jour de l'entrée", source: "arrêté du 19 février 2009", stay: stay(datetime(2026, 3, 2, 1, 0, 0, 0), Some(datetime(2026, 3, 2, 23, 0, 0, 0)), Some(DischargeMode::Deces), HC), rules: rules(), fj: 0, midnight: 0 },
        ];
        fn no_24h_clone() -> DayRules {
            let mut r = rules();
            r.under_24h_at_midnight = false;
            r
        }
        for c in &cases {
            let f = fj_days(&c.stay, &c.rules, today);
            assert_eq!(f.days.len(), c.fj, "{} ({}): {f:?}", c.name, c.source);
            assert_eq!(midnight_days(&c.stay, today).len(), c.midnight, "{} ({}) midnight", c.name, c.source);
            assert!(f.none_because.is_none() || f.days.is_empty(), "{}: a reason for no day, and days", c.name);
        }
        let death = fj_days(&cases[1].stay, &rules(), today);
        assert_eq!(death.left_out[0].day, date(2026, 3, 7));
        assert!(death.left_out[0].reason.contains("décès"));
        assert!(!death.exit_day_included);
        assert!(fj_days(&cases[0].stay, &rules(), today).exit_day_included);
        assert!(fj_days(&cases[9].stay, &rules(), today).none_because.unwrap().contains("« Hospitalisation de jour »"));
    }

    #[test]
    fn runs_read_in_french() {
        assert_eq!(run_text(&[date(2026, 3, 12), date(2026, 3, 13), date(2026, 3, 14)]), "du 12/03/2026 au 14/03/2026");
        assert_eq!(run_text(&[date(2026, 3, 12), date(2026, 3, 13), date(2026, 3, 15)]), "du 12/03/2026 au 13/03/2026, le 15/03/2026");
        assert_eq!(run_text(&[date(2026, 3, 12)]), "le 12/03/2026");
        assert_eq!(run_text(&[]), "");
    }
}
