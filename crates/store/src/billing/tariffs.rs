//! Tariff lines: list, add a version, close, import.

use jiff::civil::Date;
use quittance_domain::billing::tariffs::{Coefficient, TariffCategory, TariffLine, Unit};
use quittance_domain::billing::{Period, plan_version};
use quittance_domain::fr::format_date_fr;
use quittance_domain::money::{Currency, Money};
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

use super::{ParsedTariff, TariffInput, lock_establishment, parse_tariff, require_manage, require_read};
use crate::actor::Actor;
use crate::args;
use crate::audit::AuditEvent;
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::shared::imports::{self, BatchDone, Batches};
use crate::shared::rows::{decode, decode_period};

/// A tariff line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tariff {
    pub id: i64,
    pub establishment_id: i64,
    pub line: TariffLine,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct TariffRow {
    id: i64,
    establishment_id: i64,
    site_id: Option<i64>,
    service: String,
    code: String,
    label: String,
    category: String,
    unit: String,
    price_minor: i64,
    coefficient_centi: Option<i64>,
    valid_from: String,
    valid_to: Option<String>,
    source: String,
    currency: String,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Tariff
where
    TariffRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = TariffRow::from_row(row)?;
        let currency: Currency = decode(r.currency)?;
        let coefficient = match r.coefficient_centi {
            None => None,
            Some(c) => Some(Coefficient(u32::try_from(c).map_err(|_| sqlx::Error::Decode(format!("coefficient hors limites : {c}").into()))?)),
        };
        Ok(Tariff {
            id: r.id,
            establishment_id: r.establishment_id,
            version: r.version,
            line: TariffLine {
                id: r.id,
                code: r.code,
                label: r.label,
                category: decode(r.category)?,
                unit: decode(r.unit)?,
                price: Money::new(r.price_minor, currency),
                coefficient,
                site_id: r.site_id,
                service: r.service,
                period: decode_period(&r.valid_from, r.valid_to.as_deref())?,
                source: r.source,
            },
        })
    }
}

const SELECT: &str = "SELECT t.id, t.establishment_id, t.site_id, t.service, t.code, t.label, t.category, t.unit, t.price_minor, \
    t.coefficient_centi, t.valid_from, t.valid_to, t.source, e.currency, t.version FROM tariffs t JOIN establishments e ON e.id = t.establishment_id";

/// Which lines a list shows.
#[derive(Debug, Clone, Default)]
pub struct TariffFilter {
    pub category: Option<TariffCategory>,
    /// Only the lines valid on that day.
    pub on: Option<Date>,
    /// Code starting with (case-insensitive).
    pub code: Option<String>,
}

/// The establishment's tariff lines (every version), by category, code, scope and date.
pub async fn list(db: &Db, actor: &Actor, establishment_id: i64, filter: &TariffFilter) -> Result<Vec<Tariff>, Error> {
    require_read(db, actor, establishment_id, "tariff").await?;
    let mut tx = db.read().await?;
    let all = all_in(&mut tx, establishment_id).await?;
    tx.rollback().await?;
    Ok(all
        .into_iter()
        .filter(|t| filter.category.is_none_or(|c| t.line.category == c))
        .filter(|t| filter.on.is_none_or(|d| t.line.period.contains(d)))
        .filter(|t| filter.code.as_deref().is_none_or(|c| t.line.code.starts_with(&c.trim().to_uppercase())))
        .collect())
}

/// Every line of an establishment, in the caller's transaction (valuation reads them so).
pub async fn all_in(tx: &mut Tx, establishment_id: i64) -> Result<Vec<Tariff>, Error> {
    tx.all(
        &format!("{SELECT} WHERE t.establishment_id = $1 ORDER BY t.category, t.code, t.site_id, t.service, t.valid_from"),
        &args![establishment_id],
    )
    .await
}

/// One line.
pub async fn get(db: &Db, actor: &Actor, establishment_id: i64, id: i64) -> Result<Tariff, Error> {
    require_read(db, actor, establishment_id, "tariff").await?;
    let mut tx = db.read().await?;
    let t: Option<Tariff> = tx.opt(&format!("{SELECT} WHERE t.id = $1 AND t.establishment_id = $2"), &args![id, establishment_id]).await?;
    tx.rollback().await?;
    t.ok_or(Error::NotFound("Tarif"))
}

/// Parses a line typed for an establishment (amounts in its currency).
pub async fn parse_for(db: &Db, establishment_id: i64, input: &TariffInput) -> Result<ParsedTariff, Error> {
    let mut tx = db.read().await?;
    let currency = super::currency_of(&mut tx, establishment_id).await;
    tx.rollback().await?;
    parse_tariff(input, currency?).map_err(Error::Invalid)
}

fn audit_text(t: &ParsedTariff) -> String {
    let scope = match (t.site_id, t.service.as_str()) {
        (None, "") => String::new(),
        (Some(s), "") => format!(", site {s}"),
        (None, v) => format!(", service {v}"),
        (Some(s), v) => format!(", site {s}, service {v}"),
    };
    let until = t.period.to.map(|d| format!(" au {}", format_date_fr(d))).unwrap_or_default();
    format!("{} {} {}{scope}, du {}{until}", t.code, t.price.format_fr_plain(), t.unit.label(), format_date_fr(t.period.from))
}

/// Adds a version of a tariff (the write path: permission → transaction → the establishment
/// locked → its versions of the same code and scope read → `plan_version` → the open version
/// closed the day before, touching exactly that row at the version read → insert → audit).
pub async fn add(db: &Db, actor: &Actor, establishment_id: i64, input: &ParsedTariff) -> Result<Tariff, Error> {
    require_manage(db, actor, establishment_id, "tariff", "add").await?;
    let mut tx = db.begin().await?;
    let id = add_in(&mut tx, actor, establishment_id, input).await?;
    let t: Tariff = tx.one(&format!("{SELECT} WHERE t.id = $1"), &args![id]).await?;
    tx.commit().await?;
    Ok(t)
}

async fn add_in(tx: &mut Tx, actor: &Actor, establishment_id: i64, input: &ParsedTariff) -> Result<i64, Error> {
    let currency = lock_establishment(tx, establishment_id).await?;
    if input.price.currency != currency {
        return Err(Error::invalid("price", format!("Les prix de cet établissement sont en {}.", currency.code())));
    }
    if let Some(site) = input.site_id {
        let n = tx.int("SELECT COUNT(*) FROM sites WHERE id = $1 AND establishment_id = $2", &args![site, establishment_id]).await?;
        if n == 0 {
            return Err(Error::invalid("site_id", "Ce site n'appartient pas à l'établissement."));
        }
    }
    let same: Vec<Tariff> = tx
        .all(
            &format!("{SELECT} WHERE t.establishment_id = $1 AND t.code = $2 AND t.service = $3 AND COALESCE(t.site_id, 0) = $4"),
            &args![establishment_id, input.code.clone(), input.service.clone(), input.site_id.unwrap_or(0)],
        )
        .await?;
    if let Some(other) = same.iter().find(|t| t.line.category != input.category) {
        return Err(Error::invalid("category", format!("Le code {} est déjà un tarif « {} ».", input.code, other.line.category.label())));
    }
    let versions: Vec<(i64, Period)> = same.iter().map(|t| (t.id, t.line.period)).collect();
    let plan = plan_version(&versions, input.period).map_err(|e| Error::invalid("valid_from", e.message_fr()))?;
    let now = now_text();
    if let Some((closed, last)) = plan.close {
        let version = same.iter().find(|t| t.id == closed).map_or(0, |t| t.version);
        tx.exec_one(
            "UPDATE tariffs SET valid_to = $1, version = version + 1 WHERE id = $2 AND version = $3 AND valid_to IS NULL",
            &args![last.to_string(), closed, version],
            &Error::stale("Ce tarif").to_string(),
        )
        .await?;
    }
    let id = tx
        .int(
            "INSERT INTO tariffs (establishment_id, site_id, service, code, label, category, unit, price_minor, coefficient_centi, valid_from, valid_to, source, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            &args![
                establishment_id,
                input.site_id,
                input.service.clone(),
                input.code.clone(),
                input.label.clone(),
                input.category.code(),
                input.unit.code(),
                input.price.minor,
                input.coefficient.map(|c| i64::from(c.0)),
                input.period.from.to_string(),
                input.period.to.map(|d| d.to_string()),
                input.source.clone(),
                now
            ],
        )
        .await
        .map_err(unique_field)?;
    let mut changes = serde_json::json!({ "tarif": [null, audit_text(input)] });
    if let Some((closed, last)) = plan.close {
        changes["version_close"] = serde_json::json!([closed, format!("jusqu'au {}", format_date_fr(last))]);
    }
    tx.audit(actor, AuditEvent::new("tariff", "add").id(id).at(Some(establishment_id), input.site_id).changes(changes));
    crate::establishments::bump_config(tx, establishment_id).await?;
    Ok(id)
}

fn unique_field(e: Error) -> Error {
    match e.constraint().as_deref() {
        Some("tariffs_establishment_id_code_site_id_service_valid_from_key" | "tariffs_establishment_id_code_service_valid_from_key") => {
            Error::invalid("valid_from", "Une version de ce tarif commence déjà ce jour-là.")
        }
        _ => e,
    }
}

/// Ends the open version of a tariff on `last_day` (no version after it: the code is no longer
/// priced from the next day). `version` is the one read: a stale one is a conflict.
pub async fn close(db: &Db, actor: &Actor, establishment_id: i64, id: i64, version: i64, last_day: Date) -> Result<Tariff, Error> {
    require_manage(db, actor, establishment_id, "tariff", "close").await?;
    let mut tx = db.begin().await?;
    lock_establishment(&mut tx, establishment_id).await?;
    let t: Tariff =
        tx.opt(&format!("{SELECT} WHERE t.id = $1 AND t.establishment_id = $2"), &args![id, establishment_id]).await?.ok_or(Error::NotFound("Tarif"))?;
    if t.version != version {
        return Err(Error::stale("Ce tarif"));
    }
    if t.line.period.to.is_some() {
        return Err(Error::invalid("valid_to", "Cette version est déjà close."));
    }
    if last_day < t.line.period.from {
        return Err(Error::invalid("valid_to", format!("La version commence le {} : elle ne peut pas finir avant.", format_date_fr(t.line.period.from))));
    }
    tx.exec_one(
        "UPDATE tariffs SET valid_to = $1, version = version + 1 WHERE id = $2 AND version = $3 AND valid_to IS NULL",
        &args![last_day.to_string(), id, version],
        &Error::stale("Ce tarif").to_string(),
    )
    .await?;
    tx.audit(
        actor,
        AuditEvent::new("tariff", "close")
            .id(id)
            .at(Some(establishment_id), t.line.site_id)
            .changes(serde_json::json!({ "valid_to": [null, last_day.to_string()] })),
    );
    crate::establishments::bump_config(&mut tx, establishment_id).await?;
    let t: Tariff = tx.one(&format!("{SELECT} WHERE t.id = $1"), &args![id]).await?;
    tx.commit().await?;
    Ok(t)
}

// ---------------------------------------------------------------- import

/// A tariff row of a CSV file (`quittance import tariffs`, the territory sets): as
/// [`TariffInput`], with the site named by its code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TariffCsvRow {
    pub code: String,
    pub label: String,
    pub category: String,
    pub unit: String,
    pub price: String,
    pub coefficient: String,
    /// A site code of the establishment; empty: every site.
    pub site: String,
    pub service: String,
    pub valid_from: String,
    pub valid_to: String,
    pub source: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    /// (line, field, message).
    pub errors: Vec<(usize, String, String)>,
    pub skipped: usize,
}

/// Parses CSV rows for an establishment: site codes resolved, amounts in its currency.
pub async fn parse_rows(db: &Db, establishment_id: i64, rows: Vec<(usize, TariffCsvRow)>) -> Result<Vec<(usize, Result<ParsedTariff, FieldErrors>)>, Error> {
    let mut tx = db.read().await?;
    let currency = super::currency_of(&mut tx, establishment_id).await;
    let sites: Vec<(i64, String)> = tx.all("SELECT id, code FROM sites WHERE establishment_id = $1", &args![establishment_id]).await?;
    tx.rollback().await?;
    let currency = currency?;
    Ok(rows.into_iter().map(|(line, r)| (line, parse_row(&r, currency, &sites))).collect())
}

pub(crate) fn parse_row(r: &TariffCsvRow, currency: Currency, sites: &[(i64, String)]) -> Result<ParsedTariff, FieldErrors> {
    let site_id = match r.site.trim() {
        "" => Ok(String::new()),
        code => sites.iter().find(|(_, c)| c.eq_ignore_ascii_case(code)).map(|(id, _)| id.to_string()).ok_or(code.to_string()),
    };
    let input = TariffInput {
        code: r.code.clone(),
        label: r.label.clone(),
        category: r.category.clone(),
        unit: r.unit.clone(),
        price: r.price.clone(),
        coefficient: r.coefficient.clone(),
        site_id: site_id.clone().unwrap_or_default(),
        service: r.service.clone(),
        valid_from: r.valid_from.clone(),
        valid_to: r.valid_to.clone(),
        source: r.source.clone(),
    };
    let parsed = parse_tariff(&input, currency);
    match (site_id, parsed) {
        (Ok(_), p) => p,
        (Err(code), p) => {
            let mut e = p.err().unwrap_or_default();
            e.add("site", format!("Site inconnu dans l'établissement : « {code} »."));
            Err(e)
        }
    }
}

/// Imports tariff rows in batches (see [`crate::shared::imports`]): each valid row is added as
/// [`add`] does (a later version closes the earlier one), each refused row reported with its
/// line; `opts.dry_run` writes nothing.
pub async fn import_in_batches(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    rows: Vec<(usize, Result<ParsedTariff, FieldErrors>)>,
    opts: &Batches,
    on_batch: &mut dyn FnMut(&BatchDone),
) -> Result<ImportReport, Error> {
    require_manage(db, actor, establishment_id, "tariff", "import").await?;
    let out = imports::run(db, establishment_id, "tariffs", rows, opts, on_batch, async |tx: &mut Tx, row: &Result<ParsedTariff, FieldErrors>| {
        match row {
            Ok(t) => match add_in(tx, actor, establishment_id, t).await {
                Ok(_) => Ok(None),
                Err(Error::Invalid(e)) => Ok(Some(e)),
                Err(e) => Err(e),
            },
            Err(e) => Ok(Some(e.clone())),
        }
    })
    .await?;
    Ok(ImportReport { imported: out.imported, errors: out.errors, skipped: out.skipped })
}

/// Adds rows in the caller's transaction (the territory set of a new establishment); the
/// first refused row stops everything.
pub(crate) async fn add_all_in(tx: &mut Tx, actor: &Actor, establishment_id: i64, rows: &[ParsedTariff]) -> Result<(), Error> {
    for r in rows {
        add_in(tx, actor, establishment_id, r).await?;
    }
    Ok(())
}

/// The unit label shown beside a price (`23,00 € par jour`).
pub fn price_text(t: &TariffLine) -> String {
    match t.unit {
        Unit::Forfait => format!("{} (forfait)", t.price.format_fr()),
        u => format!("{} {}", t.price.format_fr(), u.label()),
    }
}
