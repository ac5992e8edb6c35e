//! Care: payers and their dated default rates, stays, coverage rights.

pub mod coverages;
pub mod payers;
pub mod stays;

/// A stale write on one of care's records (all masculine: « Ce droit », « Ce séjour »,
/// « Cet organisme »): [`crate::Error::Conflict`] with the French message the pages and
/// the API show (409).
pub(crate) fn stale(what: &str) -> crate::Error {
    crate::Error::Conflict(format!(
        "{what} a été modifié par quelqu'un d'autre depuis que vous l'avez ouvert : rechargez la page et refaites votre modification."
    ))
}
