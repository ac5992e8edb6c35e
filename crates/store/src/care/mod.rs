//! Care: payers and their dated default rates, stays, coverage rights.

pub mod coverages;
pub(crate) mod feed;
pub mod movements;
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

pub(crate) use crate::shared::rows::decode;

/// Basis points read from the database (a negative or huge value is a decoding error).
pub(crate) fn decode_bp(bp: i64) -> Result<quittance_domain::money::BasisPoints, sqlx::Error> {
    u32::try_from(bp).map(quittance_domain::money::BasisPoints).map_err(|_| sqlx::Error::Decode(format!("taux hors limites : {bp}").into()))
}
