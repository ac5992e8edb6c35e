//! Billing-readiness controls (« éléments déclencheurs de la facturation »): a
//! checklist computed from configurable rules over the facts of a file and a stay.

use jiff::civil::Date;

use crate::care::coverage::{CoverageRole, Span, covered_throughout};
use crate::care::stay::CareMode;
use crate::identity::IdentityStatus;

/// The configurable rules of an establishment (stored as data; defaults below).
#[derive(Clone, PartialEq, Eq)]
pub struct Rules {
    /// Minimum identity status (RNIV); `None` disables the rule.
    pub min_identity_status: Option<IdentityStatus>,
    pub birth_place_required: bool,
    pub debtor_address_required: bool,
    pub compulsory_coverage_required: bool,
    /// A complementary coverage on the service dates, for stays of these care modes.
    pub complementary_for_care_modes: Vec<CareMode>,
    pub debtor_required: bool,
    /// An agreed prise en charge of the complementary payer covering the stay,
    /// when a complementary coverage is to be billed.
    pub pec_required: bool,
    /// Days after which a sent PEC request without answer is flagged.
    pub pec_answer_days: i64,
    /// The documents the classification plan requires are on file.
    pub documents_required: bool,
}

/// As derived, but the care modes by their codes: the audit trail records the rules so
/// (`["hospitalisation_complete"]`, as when they were text).
impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let modes: Vec<&str> = self.complementary_for_care_modes.iter().map(|m| m.code()).collect();
        f.debug_struct("Rules")
            .field("min_identity_status", &self.min_identity_status)
            .field("birth_place_required", &self.birth_place_required)
            .field("debtor_address_required", &self.debtor_address_required)
            .field("compulsory_coverage_required", &self.compulsory_coverage_required)
            .field("complementary_for_care_modes", &modes)
            .field("debtor_required", &self.debtor_required)
            .field("pec_required", &self.pec_required)
            .field("pec_answer_days", &self.pec_answer_days)
            .field("documents_required", &self.documents_required)
            .finish()
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_identity_status: Some(IdentityStatus::Validee),
            birth_place_required: true,
            debtor_address_required: true,
            compulsory_coverage_required: true,
            complementary_for_care_modes: vec![CareMode::HospitalisationComplete],
            debtor_required: true,
            pec_required: true,
            pec_answer_days: 15,
            documents_required: true,
        }
    }
}

/// What the checks need to know of a file and one of its stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub identity_status: IdentityStatus,
    pub birth_place_known: bool,
    pub has_debtor: bool,
    /// The default debtor has street, postcode and city.
    pub debtor_address_complete: bool,
    pub coverages: Vec<Span>,
    /// Service dates (admission day ..= discharge day, or today while present); `None` without a stay.
    pub service: Option<(Date, Date)>,
    pub care_mode: Option<CareMode>,
    /// An accepted (or partial) PEC of the complementary payer covers the stay.
    pub pec_agreed: bool,
    /// Labels of the classes of documents required and not on file (see `documents::missing`).
    pub missing_documents: Vec<String>,
}

/// Where the fix is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    Identity,
    Debtors,
    Coverage,
    Pec,
    Documents,
}

/// One failing control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
    pub fix: Fix,
}

crate::code_enum! {
    /// A readiness control (why a file is not ready to bill).
    pub enum Control ("contrôle de facturabilité") {
        Identite = "identite", "Identité insuffisamment vérifiée";
        LieuNaissance = "lieu_naissance", "Lieu de naissance inconnu";
        Debiteur = "debiteur", "Aucun débiteur";
        AdresseDebiteur = "adresse_debiteur", "Adresse du débiteur incomplète";
        DroitsObligatoires = "droits_obligatoires", "Droits obligatoires absents ou incomplets";
        DroitsComplementaires = "droits_complementaires", "Complémentaire absente";
        Pec = "pec", "Prise en charge complémentaire non accordée";
        Justificatifs = "justificatifs", "Justificatif manquant";
    }
}

/// The codes and French labels of the controls, for queues and filters.
pub const CONTROLS: &[(&str, &str)] = Control::TABLE;

impl Failure {
    /// The control that failed.
    pub fn control(&self) -> Option<Control> {
        Control::from_code(self.code)
    }
}

/// The failing controls; an empty list means the file is ready to bill.
pub fn check(rules: &Rules, f: &Facts) -> Vec<Failure> {
    let mut out = Vec::new();
    if let Some(min) = rules.min_identity_status
        && f.identity_status.rank() < min.rank() {
            out.push(Failure {
                code: Control::Identite.code(),
                message: format!("Statut d'identité « {} » : au moins « {} » est requis.", f.identity_status.label(), min.label()),
                fix: Fix::Identity,
            });
        }
    if rules.birth_place_required && !f.birth_place_known {
        out.push(Failure { code: Control::LieuNaissance.code(), message: "Le lieu de naissance n'est pas renseigné.".into(), fix: Fix::Identity });
    }
    if rules.debtor_required && !f.has_debtor {
        out.push(Failure { code: Control::Debiteur.code(), message: "Aucun débiteur pour la part du patient.".into(), fix: Fix::Debtors });
    } else if rules.debtor_address_required && f.has_debtor && !f.debtor_address_complete {
        out.push(Failure {
            code: Control::AdresseDebiteur.code(),
            message: "L'adresse du débiteur par défaut est incomplète (voie, code postal, commune).".into(),
            fix: Fix::Debtors,
        });
    }
    if let Some((from, to)) = f.service {
        if rules.compulsory_coverage_required && !covered_throughout(&f.coverages, CoverageRole::Obligatoire, from, to) {
            out.push(Failure {
                code: Control::DroitsObligatoires.code(),
                message: format!(
                    "Pas de droit obligatoire valide sur chaque jour du {} au {}.",
                    crate::fr::format_date_fr(from),
                    crate::fr::format_date_fr(to)
                ),
                fix: Fix::Coverage,
            });
        }
        let needs_amc = f.care_mode.is_some_and(|m| rules.complementary_for_care_modes.contains(&m));
        let amc = covered_throughout(&f.coverages, CoverageRole::Complementaire, from, to);
        if needs_amc && !amc && !covered_throughout(&f.coverages, CoverageRole::Aide, from, to) {
            out.push(Failure {
                code: Control::DroitsComplementaires.code(),
                message: "Pas de complémentaire (ni d'aide) valide sur tout le séjour : vérifiez-la ou orientez la part vers le patient.".into(),
                fix: Fix::Coverage,
            });
        }
        if needs_amc && amc && rules.pec_required && !f.pec_agreed {
            out.push(Failure {
                code: Control::Pec.code(),
                message: "Aucune prise en charge accordée par la complémentaire sur tout le séjour : demandez-la ou enregistrez sa réponse.".into(),
                fix: Fix::Pec,
            });
        }
    }
    if rules.documents_required && !f.missing_documents.is_empty() {
        out.push(Failure {
            code: Control::Justificatifs.code(),
            message: format!("Justificatif manquant : {}.", f.missing_documents.join(", ")),
            fix: Fix::Documents,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ready() -> Facts {
        Facts {
            identity_status: IdentityStatus::Qualifiee,
            birth_place_known: true,
            has_debtor: true,
            debtor_address_complete: true,
            coverages: vec![
                Span { id: 1, role: CoverageRole::Obligatoire, from: date(2026, 1, 1), to: None },
                Span { id: 2, role: CoverageRole::Complementaire, from: date(2026, 1, 1), to: Some(date(2026, 12, 31)) },
            ],
            service: Some((date(2026, 11, 1), date(2026, 11, 22))),
            care_mode: Some(CareMode::HospitalisationComplete),
            pec_agreed: true,
            missing_documents: vec![],
        }
    }

    fn codes(f: &Facts) -> Vec<&'static str> {
        check(&Rules::default(), f).iter().map(|x| x.code).collect()
    }

    #[test]
    fn code_lists() {
        crate::shared::codes::check::<Control>();
        assert_eq!(CONTROLS.len(), 8);
    }

    #[test]
    fn rules_debug_as_when_the_modes_were_text() {
        // The audit trail of a save records this text.
        assert_eq!(
            format!("{:?}", Rules::default()),
            "Rules { min_identity_status: Some(Validee), birth_place_required: true, debtor_address_required: true, \
             compulsory_coverage_required: true, complementary_for_care_modes: [\"hospitalisation_complete\"], debtor_required: true, \
             pec_required: true, pec_answer_days: 15, documents_required: true }"
        );
    }

    #[test]
    fn a_complete_file_is_ready() {
        assert!(codes(&ready()).is_empty());
    }

    #[test]
    fn each_rule_fails_alone() {
        let mut f = ready();
        f.identity_status = IdentityStatus::Provisoire;
        assert_eq!(codes(&f), ["identite"]);
        let mut f = ready();
        f.birth_place_known = false;
        assert_eq!(codes(&f), ["lieu_naissance"]);
        let mut f = ready();
        f.has_debtor = false;
        assert_eq!(codes(&f), ["debiteur"]);
        let mut f = ready();
        f.debtor_address_complete = false;
        assert_eq!(codes(&f), ["adresse_debiteur"]);
        let mut f = ready();
        f.coverages[0].from = date(2026, 11, 5);
        assert_eq!(codes(&f), ["droits_obligatoires"]);
        let mut f = ready();
        f.coverages.remove(1);
        assert_eq!(codes(&f), ["droits_complementaires"]);
        let mut f = ready();
        f.pec_agreed = false;
        assert_eq!(codes(&f), ["pec"]);
        let rules = Rules { pec_required: false, ..Rules::default() };
        assert!(check(&rules, &f).is_empty());
        let mut f = ready();
        f.missing_documents = vec!["Accord de prise en charge".into()];
        assert_eq!(codes(&f), ["justificatifs"]);
        assert_eq!(check(&Rules::default(), &f)[0].message, "Justificatif manquant : Accord de prise en charge.");
        let rules = Rules { documents_required: false, ..Rules::default() };
        assert!(check(&rules, &f).is_empty());
    }

    #[test]
    fn rules_are_configurable() {
        let mut f = ready();
        f.identity_status = IdentityStatus::Recuperee;
        f.coverages.remove(1);
        let rules = Rules { min_identity_status: Some(IdentityStatus::Recuperee), complementary_for_care_modes: vec![], ..Rules::default() };
        assert!(check(&rules, &f).is_empty());
        // Outpatient care modes do not need a complementary by default.
        f.care_mode = Some(CareMode::Consultation);
        assert!(!codes(&f).contains(&"droits_complementaires"));
    }

    #[test]
    fn no_stay_checks_only_the_file() {
        let mut f = ready();
        f.service = None;
        f.coverages.clear();
        assert!(codes(&f).is_empty());
    }
}
