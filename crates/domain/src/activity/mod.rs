//! Activity: the acts of the medico-social centres (CMS) and the annexed services (TV and
//! telephone, « prestations annexes »), turned into priced charges by the dated tariffs.
//!
//! Everything here is pure: [`input`] parses what a form, the API or an import row sends
//! (every error at once, in French, on the form's field names); [`valuation`] turns acts and
//! subscriptions into [`crate::billing::valuation::Charge`] values with a French sentence each.
//! The split of a charge between payers is not done here.

pub mod input;
pub mod valuation;

use jiff::civil::Date;

use crate::billing::tariffs::Coefficient;

crate::code_enum! {
    /// What a subscription to the annexed services covers.
    pub enum ServiceKind ("prestation annexe") {
        Tv = "tv", "Télévision";
        Telephone = "telephone", "Téléphone";
        TvTelephone = "tv_telephone", "Télévision et téléphone";
    }
}

impl ServiceKind {
    pub const fn has_tv(self) -> bool {
        matches!(self, ServiceKind::Tv | ServiceKind::TvTelephone)
    }
    pub const fn has_phone(self) -> bool {
        matches!(self, ServiceKind::Telephone | ServiceKind::TvTelephone)
    }
}

/// Who pays a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Debtor {
    /// The patient themself.
    Patient,
    /// One of the file's debtors (`debtors.id`).
    File(i64),
    /// Another person, named in free text.
    Person(String),
}

impl Debtor {
    /// For people: « le patient », « débiteur n° 4 », the name.
    pub fn label_fr(&self) -> String {
        match self {
            Debtor::Patient => "Le patient".into(),
            Debtor::File(id) => format!("Débiteur du dossier n° {id}"),
            Debtor::Person(n) => n.clone(),
        }
    }
}

/// A CMS act, as valuation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    pub id: i64,
    pub date: Date,
    pub site_id: i64,
    /// Nomenclature (tariff) code: `C`, `AMI`, `SF`…
    pub code: String,
    pub quantity: u32,
    /// `None`: the tariff line's coefficient, else 1.
    pub coefficient: Option<Coefficient>,
    /// `Some(reason)` when cancelled: never valued.
    pub cancelled: Option<String>,
}

/// A subscription to TV and/or telephone, as valuation needs it (the offer's tariff codes
/// copied when it opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub site_id: i64,
    pub kind: ServiceKind,
    pub tv_code: String,
    pub phone_activation_code: String,
    pub phone_unit_code: String,
    pub opened_on: Date,
    /// `None`: still open.
    pub closed_on: Option<Date>,
}

/// Call units used on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Units {
    pub date: Date,
    pub units: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        crate::shared::codes::check::<ServiceKind>();
        assert!(ServiceKind::TvTelephone.has_tv() && ServiceKind::TvTelephone.has_phone());
        assert!(!ServiceKind::Tv.has_phone() && !ServiceKind::Telephone.has_tv());
        assert_eq!(Debtor::Person("Mme Kaouma".into()).label_fr(), "Mme Kaouma");
    }
}
