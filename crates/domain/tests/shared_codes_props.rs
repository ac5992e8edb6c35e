//! Property tests for the code lists (`quittance_domain::codes`): every enum decodes any text
//! without panicking, only from its exact code, the same way through `from_code`,
//! `TryFrom<String>`, `FromStr` and serde, and its error message stays short.

mod common;

use common::wild_string;
use proptest::prelude::*;
use quittance_domain::access::Role;
use quittance_domain::care::coverage::{Beneficiary, Category, Channel, CoverageRole, Exemption, PayerKind, StatementPeriod};
use quittance_domain::care::stay::{CareMode, DischargeMode};
use quittance_domain::codes::CodeEnum;
use quittance_domain::documents::{Confidentiality, RequiredFor, Target};
use quittance_domain::establishments::{EstablishmentKind, SiteKind};
use quittance_domain::identity::{DocumentType, IdentityAttribute, IdentityStatus, Sex};
use quittance_domain::patients::debtors::DebtorKind;
use quittance_domain::pec::{Item, Status};
use quittance_domain::readiness::Control;

fn decodes_alike<T>(s: &str) -> Result<(), TestCaseError>
where
    T: CodeEnum + std::fmt::Debug + std::str::FromStr<Err = String> + TryFrom<String, Error = String> + serde::de::DeserializeOwned + serde::Serialize,
{
    let direct = T::from_code(s);
    prop_assert_eq!(T::try_from(s.to_string()).ok(), direct);
    prop_assert_eq!(s.parse::<T>().ok(), direct);
    prop_assert_eq!(serde_json::from_value::<T>(serde_json::Value::String(s.to_string())).ok(), direct);
    match direct {
        Some(v) => {
            prop_assert!(T::ALL.contains(&v));
            prop_assert_eq!(serde_json::to_value(v).ok(), Some(serde_json::Value::String(v.code().to_string())));
        }
        None => {
            let m = T::try_from(s.to_string()).unwrap_err();
            prop_assert!(m.contains(T::WHAT));
            prop_assert!(m.chars().count() <= T::WHAT.chars().count() + 70, "{}", m);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_code_list_decodes_any_text(s in prop_oneof![wild_string(), Just("hopital".to_string()), Just("cms".to_string()), Just("administrateur".to_string()), Just("F".to_string())]) {
        decodes_alike::<Role>(&s)?;
        decodes_alike::<PayerKind>(&s)?;
        decodes_alike::<CoverageRole>(&s)?;
        decodes_alike::<Category>(&s)?;
        decodes_alike::<Exemption>(&s)?;
        decodes_alike::<Beneficiary>(&s)?;
        decodes_alike::<StatementPeriod>(&s)?;
        decodes_alike::<Channel>(&s)?;
        decodes_alike::<CareMode>(&s)?;
        decodes_alike::<DischargeMode>(&s)?;
        decodes_alike::<Confidentiality>(&s)?;
        decodes_alike::<RequiredFor>(&s)?;
        decodes_alike::<Target>(&s)?;
        decodes_alike::<EstablishmentKind>(&s)?;
        decodes_alike::<SiteKind>(&s)?;
        decodes_alike::<DocumentType>(&s)?;
        decodes_alike::<IdentityAttribute>(&s)?;
        decodes_alike::<IdentityStatus>(&s)?;
        decodes_alike::<Sex>(&s)?;
        decodes_alike::<DebtorKind>(&s)?;
        decodes_alike::<Item>(&s)?;
        decodes_alike::<Status>(&s)?;
        decodes_alike::<Control>(&s)?;
    }
}

/// The establishment and site kinds moved from the store keep their codes and labels.
#[test]
fn establishment_tables() {
    use quittance_domain::establishments::{KINDS, SITE_KINDS};
    assert_eq!(KINDS, EstablishmentKind::TABLE);
    assert_eq!(SITE_KINDS.iter().map(|(c, _)| *c).collect::<Vec<_>>(), ["service", "cms", "administration"]);
    assert_eq!(EstablishmentKind::from_code("direction_sante").map(EstablishmentKind::label), Some("Direction de la santé (CMS)"));
    assert_eq!(SiteKind::Cms.to_string(), "Centre médico-social");
}
