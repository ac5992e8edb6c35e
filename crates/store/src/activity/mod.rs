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

/// A patient's activity as its page shows it: acts, subscriptions with their units, and the
/// valuation of a period (or why it cannot be valued), read with one access check and one view
/// row (`view_activity`).
#[derive(Debug, Clone)]
pub struct ActivityFile {
    pub patient: crate::patients::Patient,
    pub currency: quittance_domain::money::Currency,
    pub acts: Vec<acts::StoredAct>,
    pub subscriptions: Vec<services::SubscriptionWithUnits>,
    /// The charges and notes of `from..=to`, or the French message saying why not.
    pub valuation: Result<(Vec<quittance_domain::billing::valuation::Charge>, Vec<String>), String>,
    /// The same charges split between the patient's payers, when valued.
    pub split: Option<quittance_domain::billing::split::Split>,
    pub debtor: Option<(i64, String)>,
}

/// Reads [`ActivityFile`] for `from..=to`.
pub async fn file(db: &crate::db::Db, actor: &Actor, patient_id: i64, from: jiff::civil::Date, to: jiff::civil::Date) -> Result<ActivityFile, Error> {
    let file = crate::patients::checked(db, actor, patient_id, "view_activity").await?;
    let mut tx = db.read().await?;
    let currency = crate::billing::currency_of(&mut tx, file.establishment_id()).await?;
    let acts = acts::list_checked(&mut tx, &file).await?;
    let subscriptions = services::list_checked(&mut tx, &file).await?;
    let valuation = match valuation::charges_in(&mut tx, file.id(), file.establishment_id(), from, to).await {
        Ok(v) => Ok(v),
        Err(Error::Invalid(e)) => Err(e.0.into_iter().map(|f| f.message).collect::<Vec<_>>().join(" ")),
        Err(e) => return Err(e),
    };
    let split = match &valuation {
        Ok((c, _)) => match crate::billing::valuation::split_outside_stays(&mut tx, file.id(), currency, c.clone(), file.establishment_id()).await {
            Ok(s) => Some(s),
            Err(Error::Invalid(_)) => None,
            Err(e) => return Err(e),
        },
        Err(_) => None,
    };
    let debtor = crate::billing::valuation::designated_debtor(&mut tx, file.id()).await?;
    tx.rollback().await?;
    crate::patients::audit_view(db, actor, &file, "view_activity", serde_json::json!({ "du": from.to_string(), "au": to.to_string() })).await?;
    Ok(ActivityFile { patient: file.patient().clone(), currency, acts, subscriptions, valuation, split, debtor })
}
