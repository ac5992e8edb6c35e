//! Debtors of a file: who pays the patient's share, and for which charges.

use crate::shared::codes::Codes;

crate::code_enum! {
    /// Who a debtor is, relative to the patient.
    pub enum DebtorKind ("type de débiteur") {
        Patient = "patient", "Le patient";
        Proche = "proche", "Un proche";
        Assure = "assure", "Assuré ouvrant droit";
        Tuteur = "tuteur", "Tuteur ou curateur";
        Employeur = "employeur", "Employeur";
        Autre = "autre", "Autre tiers";
    }
}

/// Debtor kinds as a `(code, label)` table (same as `store::patients::DEBTOR_KINDS`).
pub const DEBTOR_KINDS: Codes = DebtorKind::TABLE;

/// The charges a debtor guarantees: the categories of charge
/// ([`crate::care::coverage::Category`]; same as `store::patients::GUARANTEES`).
pub const GUARANTEES: Codes = crate::care::coverage::Category::TABLE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lists() {
        crate::shared::codes::check::<DebtorKind>();
        assert_eq!(DEBTOR_KINDS[1], ("proche", "Un proche"));
        assert_eq!(GUARANTEES[0], ("sejour", "Séjour"));
    }
}
