//! Gapless document numbers: one counter row per (establishment, series, year),
//! bumped inside the transaction that issues the document. A rollback gives the
//! number back; concurrent issuers queue on the counter row.

use quittance_domain::numbering::SeriesMask;

use crate::args;
use crate::db::Tx;
use crate::error::Error;

#[derive(sqlx::FromRow)]
struct MaskRow {
    mask: String,
}

/// Allocates the next number of `series_code` for `year` and formats it with the series mask.
pub async fn allocate(tx: &mut Tx, establishment_id: i64, series_code: &str, year: i32) -> Result<(u64, String), Error> {
    let row: Option<MaskRow> = tx
        .opt(
            "SELECT mask FROM numbering_series WHERE establishment_id = $1 AND code = $2",
            &args![establishment_id, series_code],
        )
        .await?;
    let row = row.ok_or(Error::NotFound("Série de numérotation"))?;
    let mask = SeriesMask::parse(&row.mask).map_err(|e| Error::Integrity(e.to_string()))?;
    let n = tx
        .int(
            "INSERT INTO number_counters (establishment_id, series_code, year, last_number) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (establishment_id, series_code, year) DO UPDATE SET last_number = number_counters.last_number + 1 \
             RETURNING last_number",
            &args![establishment_id, series_code, year as i64],
        )
        .await?;
    let n = u64::try_from(n).map_err(|_| Error::Integrity("compteur négatif".into()))?;
    Ok((n, mask.format(year, n)))
}
