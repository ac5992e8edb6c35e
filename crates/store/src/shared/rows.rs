//! Decoding codes read from database rows into the domain's enums (an unknown code is a
//! decoding error, [`sqlx::Error::Decode`], never a blank or a panic), and the serde helpers
//! that keep a typed list of codes written as the comma-separated text it is stored as.
//!
//! sqlx's `#[sqlx(try_from = "String")]` would do the decoding, but it needs sqlx's `macros`
//! feature; each typed row is a private `…Row` of the columns as stored and a manual
//! `impl FromRow` that calls these.

/// A code read from the database as its enum.
pub(crate) fn decode<T: TryFrom<String, Error = String>>(code: String) -> Result<T, sqlx::Error> {
    T::try_from(code).map_err(|m| sqlx::Error::Decode(m.into()))
}

/// A civil date stored as `YYYY-MM-DD`.
pub(crate) fn decode_date(s: &str) -> Result<jiff::civil::Date, sqlx::Error> {
    s.parse::<jiff::civil::Date>().map_err(|e| sqlx::Error::Decode(format!("date illisible « {s} » : {e}").into()))
}

/// A validity period stored as `valid_from` and `valid_to` (open when NULL).
pub(crate) fn decode_period(from: &str, to: Option<&str>) -> Result<quittance_domain::billing::Period, sqlx::Error> {
    Ok(quittance_domain::billing::Period { from: decode_date(from)?, to: to.map(decode_date).transpose()? })
}

/// A comma-separated list of codes read from the database (`""`: none), in the stored order.
pub(crate) fn decode_list<T: TryFrom<String, Error = String>>(codes: String) -> Result<Vec<T>, sqlx::Error> {
    codes.split(',').filter(|c| !c.is_empty()).map(|c| decode(c.to_string())).collect()
}

/// A typed list of codes as its stored text: the codes joined by commas, in order.
pub fn codes_text<T: Copy + quittance_domain::codes::CodeEnum>(list: &[T]) -> String {
    list.iter().map(|c| c.code()).collect::<Vec<_>>().join(",")
}

/// `#[serde(with = "crate::shared::rows::code_list")]`: a typed list of codes serialized as
/// the comma-separated text it is stored as (the audit trail and the API keep that text).
pub mod code_list {
    use quittance_domain::codes::CodeEnum;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: CodeEnum, S: Serializer>(list: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::codes_text(list))
    }

    pub fn deserialize<'de, T: CodeEnum, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.split(',').filter(|c| !c.is_empty()).map(|c| T::parse_code(c).map_err(serde::de::Error::custom)).collect()
    }
}
