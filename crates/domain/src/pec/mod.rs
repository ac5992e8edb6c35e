//! Prises en charge (PEC): requests to a complementary payer and their answers.
//!
//! Lifecycle: brouillon → envoyée → acceptée | partielle | refusée; an accepted or
//! partial agreement becomes expirée when its validity ends (or by hand).

use jiff::civil::Date;

pub mod input;
pub use input::{Answer, AnswerInput, NewPec, PecInput};

crate::code_enum! {
    /// Where a request stands.
    pub enum Status ("statut de prise en charge") {
        Brouillon = "brouillon", "Brouillon";
        Envoyee = "envoyee", "Envoyée";
        Acceptee = "acceptee", "Acceptée";
        Partielle = "partielle", "Acceptée partiellement";
        Refusee = "refusee", "Refusée";
        Expiree = "expiree", "Expirée";
    }
}

impl Status {
    /// An agreement the billing can rely on.
    pub fn is_agreement(self) -> bool {
        matches!(self, Status::Acceptee | Status::Partielle)
    }
}

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Send,
    /// The payer's answer: accepted, partially accepted or refused.
    Answer(Status),
    Expire,
}

/// The next status, or a French message saying why the event is not possible now.
pub fn transition(from: Status, event: Event) -> Result<Status, String> {
    use Status::*;
    match (from, event) {
        (Brouillon, Event::Send) => Ok(Envoyee),
        (Envoyee, Event::Answer(s @ (Acceptee | Partielle | Refusee))) => Ok(s),
        (Envoyee, Event::Answer(_)) => Err("Réponse attendue : acceptée, partielle ou refusée.".into()),
        (Acceptee | Partielle, Event::Expire) => Ok(Expiree),
        (Brouillon, Event::Answer(_)) => Err("La demande n'a pas encore été envoyée.".into()),
        (_, Event::Send) => Err("Seul un brouillon peut être envoyé.".into()),
        (_, Event::Answer(_)) => Err("Cette demande a déjà reçu une réponse.".into()),
        (_, Event::Expire) => Err("Seul un accord peut expirer.".into()),
    }
}

crate::code_enum! {
    /// What a request asks the payer to cover.
    pub enum Item ("élément de prise en charge") {
        ForfaitJournalier = "forfait_journalier", "Forfait journalier";
        ChambreParticuliere = "chambre_particuliere", "Chambre particulière";
        TicketModerateur = "ticket_moderateur", "Ticket modérateur";
        PrestationsAnnexes = "prestations_annexes", "Prestations annexes";
    }
}

pub const ITEMS: crate::shared::codes::Codes = Item::TABLE;

/// A request sent `sent_on` still without answer after `days` days at `today` (more than
/// `days` days have passed; any `i64` accepted, never panics).
pub fn overdue(status: Status, sent_on: Option<Date>, today: Date, days: i64) -> bool {
    status == Status::Envoyee && sent_on.is_some_and(|s| crate::dates::days_between(s, today) > days)
}

/// An agreement whose validity ends before the last day of the stay.
pub fn expires_during(status: Status, valid_to: Option<Date>, stay_from: Date, stay_to: Date) -> bool {
    status.is_agreement() && valid_to.is_some_and(|t| t >= stay_from && t < stay_to)
}

/// Whether an agreement covers the whole stay (`stay_from..=stay_to`).
pub fn covers(status: Status, valid_from: Option<Date>, valid_to: Option<Date>, stay_from: Date, stay_to: Date) -> bool {
    status.is_agreement() && valid_from.is_none_or(|f| f <= stay_from) && valid_to.is_none_or(|t| t >= stay_to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn lifecycle() {
        assert_eq!(transition(Status::Brouillon, Event::Send), Ok(Status::Envoyee));
        for s in [Status::Acceptee, Status::Partielle, Status::Refusee] {
            assert_eq!(transition(Status::Envoyee, Event::Answer(s)), Ok(s));
        }
        assert_eq!(transition(Status::Acceptee, Event::Expire), Ok(Status::Expiree));
        assert_eq!(transition(Status::Partielle, Event::Expire), Ok(Status::Expiree));
    }

    #[test]
    fn every_other_transition_is_refused() {
        let events = [
            Event::Send,
            Event::Expire,
            Event::Answer(Status::Acceptee),
            Event::Answer(Status::Partielle),
            Event::Answer(Status::Refusee),
            Event::Answer(Status::Expiree),
            Event::Answer(Status::Brouillon),
        ];
        let allowed = [
            (Status::Brouillon, Event::Send),
            (Status::Envoyee, Event::Answer(Status::Acceptee)),
            (Status::Envoyee, Event::Answer(Status::Partielle)),
            (Status::Envoyee, Event::Answer(Status::Refusee)),
            (Status::Acceptee, Event::Expire),
            (Status::Partielle, Event::Expire),
        ];
        for &s in Status::ALL {
            for e in events {
                assert_eq!(transition(s, e).is_ok(), allowed.contains(&(s, e)), "{s:?} {e:?}");
            }
        }
    }

    #[test]
    fn code_lists() {
        crate::shared::codes::check::<Status>();
        crate::shared::codes::check::<Item>();
        assert_eq!(ITEMS[2], ("ticket_moderateur", "Ticket modérateur"));
    }

    #[test]
    fn alerts() {
        assert!(overdue(Status::Envoyee, Some(date(2026, 11, 1)), date(2026, 11, 22), 15));
        assert!(!overdue(Status::Envoyee, Some(date(2026, 11, 10)), date(2026, 11, 22), 15));
        assert!(!overdue(Status::Acceptee, Some(date(2026, 11, 1)), date(2026, 11, 22), 15));
        assert!(expires_during(Status::Acceptee, Some(date(2026, 11, 25)), date(2026, 11, 20), date(2026, 11, 30)));
        assert!(!expires_during(Status::Acceptee, Some(date(2026, 12, 25)), date(2026, 11, 20), date(2026, 11, 30)));
        assert!(covers(Status::Partielle, Some(date(2026, 11, 1)), None, date(2026, 11, 20), date(2026, 11, 30)));
        assert!(!covers(Status::Refusee, None, None, date(2026, 11, 20), date(2026, 11, 30)));
        assert!(!covers(Status::Acceptee, None, Some(date(2026, 11, 25)), date(2026, 11, 20), date(2026, 11, 30)));
    }
}
