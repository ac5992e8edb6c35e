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

/// A code read from the database as its enum (an unknown code is a decoding error, not a
/// blank): what `#[sqlx(try_from = "String")]` would do, which needs sqlx's `macros` feature.
pub(crate) fn decode<T: TryFrom<String, Error = String>>(code: String) -> Result<T, sqlx::Error> {
    T::try_from(code).map_err(|m| sqlx::Error::Decode(m.into()))
}

/// Basis points read from the database (a negative or huge value is a decoding error).
pub(crate) fn decode_bp(bp: i64) -> Result<quittance_domain::money::BasisPoints, sqlx::Error> {
    u32::try_from(bp).map(quittance_domain::money::BasisPoints).map_err(|_| sqlx::Error::Decode(format!("taux hors limites : {bp}").into()))
}
