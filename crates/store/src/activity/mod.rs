//! Activity: CMS acts and annexed services (TV, telephone) of a patient, and their valuation
//! into charges by the dated tariffs (`quittance_domain::activity`).
//!
//! Each change is one write path: permission (a refusal audited, naming the file) → parsed
//! input → one transaction: the row to change locked, its version checked, exactly the
//! expected rows written, the audit row queued → commit. Nothing is deleted: an act is
//! cancelled with its reason, a subscription is closed (triggers of migration 15).
//! Recording acts and units needs `write_patients` on the site (the DPASS's secrétaires
//! médicales have it); a site's offer needs `manage_tariffs`; every view of a patient's
//! activity is audited.

pub mod acts;
pub mod import;
pub mod services;
pub mod valuation;

pub use quittance_domain::activity::input::{
    ActInput, OfferInput, ParsedAct, ParsedOffer, ParsedSubscription, ParsedUnits, SubscriptionInput, UnitsInput, parse_act, parse_closing, parse_offer,
    parse_reason, parse_subscription, parse_units,
};
pub use services::close_open_for_stay;

use quittance_domain::access::{Permission, Scope};
use quittance_domain::validation::FieldErrors;

use crate::actor::Actor;
use crate::args;
use crate::db::Tx;
use crate::error::Error;

/// Adds the field error of a site that is not the establishment's, or where the actor may not
/// write patients' activity.
pub(crate) async fn site_errors(tx: &mut Tx, actor: &Actor, establishment_id: i64, site_id: i64, e: &mut FieldErrors) -> Result<(), Error> {
    if tx.int("SELECT COUNT(*) FROM sites WHERE id = $1 AND establishment_id = $2", &args![site_id, establishment_id]).await? == 0 {
        e.add("site_id", "Ce site n'appartient pas à l'établissement.");
    } else if !actor.allows(Permission::WritePatients, Scope::Site { establishment_id, site_id }) {
        e.add("site_id", "Vous ne pouvez pas saisir d'activité sur ce site.");
    }
    Ok(())
}

/// A civil date stored as `YYYY-MM-DD`, optional.
pub(crate) fn decode_opt_date(s: Option<&str>) -> Result<Option<jiff::civil::Date>, sqlx::Error> {
    s.map(crate::shared::rows::decode_date).transpose()
}

/// The field error of a unique external id already used, on both backends.
pub(crate) fn external_taken(e: Error, what: &str) -> Error {
    match e.constraint().as_deref() {
        Some("cms_acts_establishment_id_external_id_key" | "service_units_establishment_id_external_id_key") => {
            Error::invalid("external_id", format!("Cet identifiant externe est déjà celui d'un(e) autre {what} de l'établissement."))
        }
        _ => e,
    }
}
