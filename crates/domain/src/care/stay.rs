//! Stays: how the patient is cared for and how the stay ends.

use crate::shared::codes::Codes;

crate::code_enum! {
    /// How the patient is cared for during a stay.
    pub enum CareMode ("mode de prise en charge") {
        HospitalisationComplete = "hospitalisation_complete", "Hospitalisation complète";
        Psychiatrie = "psychiatrie", "Hospitalisation complète en psychiatrie";
        Ssr = "ssr", "Soins de suite et de réadaptation (SSR)";
        HospitalisationJour = "hospitalisation_jour", "Hospitalisation de jour";
        Ambulatoire = "ambulatoire", "Chirurgie ambulatoire";
        Urgence = "urgence", "Urgence";
        Consultation = "consultation", "Consultation externe";
        Had = "had", "Hospitalisation à domicile";
        Seances = "seances", "Séances (dialyse, chimiothérapie, radiothérapie)";
    }
}

crate::code_enum! {
    /// How a stay ends.
    pub enum DischargeMode ("mode de sortie") {
        Domicile = "domicile", "Retour à domicile";
        Transfert = "transfert", "Transfert vers un autre établissement";
        Mutation = "mutation", "Mutation dans l'établissement";
        Deces = "deces", "Décès";
        ContreAvis = "contre_avis", "Sortie contre avis médical";
    }
}

/// Care modes as a `(code, label)` table (same as `store::care::stays::CARE_MODES`).
pub const CARE_MODES: Codes = CareMode::TABLE;
/// Discharge modes as a `(code, label)` table (same as `store::care::stays::DISCHARGE_MODES`).
pub const DISCHARGE_MODES: Codes = DischargeMode::TABLE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lists() {
        crate::shared::codes::check::<CareMode>();
        crate::shared::codes::check::<DischargeMode>();
        assert_eq!(CARE_MODES[7], ("had", "Hospitalisation à domicile"));
    }
}
