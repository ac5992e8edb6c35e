//! Rule parameters: list, add a version, close.

use jiff::civil::Date;
use quittance_domain::billing::parameters::{Parameter, ParameterKey, Value};
use quittance_domain::billing::{Period, plan_version};
use quittance_domain::care::coverage::Exemption;
use quittance_domain::fr::format_date_fr;
use quittance_domain::money::Currency;
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

use super::{ParameterInput, ParsedParameter, lock_establishment, parse_parameter, require_manage, require_read};
use crate::actor::Actor;
use crate::args;
use crate::audit::AuditEvent;
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::shared::rows::{decode, decode_period};

/// A parameter row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredParameter {
    pub establishment_id: i64,
    pub parameter: Parameter,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct ParameterRow {
    id: i64,
    establishment_id: i64,
    key: String,
    subject: String,
    value: String,
    valid_from: String,
    valid_to: Option<String>,
    source: String,
    currency: String,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for StoredParameter
where
    ParameterRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = ParameterRow::from_row(row)?;
        let key: ParameterKey = decode(r.key)?;
        let currency: Currency = decode(r.currency)?;
        let subject: Option<Exemption> = if r.subject.is_empty() { None } else { Some(decode(r.subject)?) };
        let value = Value::from_storage(key.kind(), &r.value, currency).map_err(|m| sqlx::Error::Decode(m.into()))?;
        Ok(StoredParameter {
            establishment_id: r.establishment_id,
            version: r.version,
            parameter: Parameter {
                id: r.id,
                key,
                subject,
                value,
                period: decode_period(&r.valid_from, r.valid_to.as_deref())?,
                source: r.source,
            },
        })
    }
}

const SELECT: &str = "SELECT p.id, p.establishment_id, p.key, p.subject, p.value, p.valid_from, p.valid_to, p.source, e.currency, p.version \
    FROM billing_parameters p JOIN establishments e ON e.id = p.establishment_id";

/// The establishment's parameter rows (every version), by key, subject and date.
pub async fn list(db: &Db, actor: &Actor, establishment_id: i64, on: Option<Date>) -> Result<Vec<StoredParameter>, Error> {
    require_read(db, actor, establishment_id, "billing_parameter").await?;
    let mut tx = db.read().await?;
    let all = all_in(&mut tx, establishment_id).await?;
    tx.rollback().await?;
    Ok(all.into_iter().filter(|p| on.is_none_or(|d| p.parameter.period.contains(d))).collect())
}

/// Every row of an establishment in the caller's transaction, in the order of [`ParameterKey::ALL`].
pub async fn all_in(tx: &mut Tx, establishment_id: i64) -> Result<Vec<StoredParameter>, Error> {
    let mut v: Vec<StoredParameter> =
        tx.all(&format!("{SELECT} WHERE p.establishment_id = $1 ORDER BY p.key, p.subject, p.valid_from"), &args![establishment_id]).await?;
    let rank = |k: ParameterKey| ParameterKey::ALL.iter().position(|x| *x == k).unwrap_or(usize::MAX);
    v.sort_by_key(|p| (rank(p.parameter.key), p.parameter.subject, p.parameter.period.from));
    Ok(v)
}

/// One row.
pub async fn get(db: &Db, actor: &Actor, establishment_id: i64, id: i64) -> Result<StoredParameter, Error> {
    require_read(db, actor, establishment_id, "billing_parameter").await?;
    let mut tx = db.read().await?;
    let p: Option<StoredParameter> =
        tx.opt(&format!("{SELECT} WHERE p.id = $1 AND p.establishment_id = $2"), &args![id, establishment_id]).await?;
    tx.rollback().await?;
    p.ok_or(Error::NotFound("Paramètre de facturation"))
}

/// Parses a row typed for an establishment (amounts in its currency).
pub async fn parse_for(db: &Db, establishment_id: i64, input: &ParameterInput) -> Result<ParsedParameter, Error> {
    let mut tx = db.read().await?;
    let currency = super::currency_of(&mut tx, establishment_id).await;
    tx.rollback().await?;
    parse_parameter(input, currency?).map_err(Error::Invalid)
}

fn audit_text(p: &ParsedParameter) -> String {
    let about = p.subject.map(|s| format!(" ({})", s.code())).unwrap_or_default();
    let until = p.period.to.map(|d| format!(" au {}", format_date_fr(d))).unwrap_or_default();
    format!("{}{about} = {}, du {}{until}", p.key.code(), p.value.format_fr(), format_date_fr(p.period.from))
}

/// Adds a version of a parameter (same write path as a tariff's).
pub async fn add(db: &Db, actor: &Actor, establishment_id: i64, input: &ParsedParameter) -> Result<StoredParameter, Error> {
    require_manage(db, actor, establishment_id, "billing_parameter", "add").await?;
    let mut tx = db.begin().await?;
    let id = add_in(&mut tx, actor, establishment_id, input).await?;
    let p: StoredParameter = tx.one(&format!("{SELECT} WHERE p.id = $1"), &args![id]).await?;
    tx.commit().await?;
    Ok(p)
}

pub(crate) async fn add_in(tx: &mut Tx, actor: &Actor, establishment_id: i64, input: &ParsedParameter) -> Result<i64, Error> {
    let currency = lock_establishment(tx, establishment_id).await?;
    if let Value::Amount(m) = &input.value
        && m.currency != currency
    {
        return Err(Error::invalid("value", format!("Les montants de cet établissement sont en {}.", currency.code())));
    }
    let subject = input.subject.map(|s| s.code().to_string()).unwrap_or_default();
    let same: Vec<StoredParameter> = tx
        .all(&format!("{SELECT} WHERE p.establishment_id = $1 AND p.key = $2 AND p.subject = $3"), &args![establishment_id, input.key.code(), subject.clone()])
        .await?;
    let versions: Vec<(i64, Period)> = same.iter().map(|p| (p.parameter.id, p.parameter.period)).collect();
    let plan = plan_version(&versions, input.period).map_err(|e| Error::invalid("valid_from", e.message_fr()))?;
    if let Some((closed, last)) = plan.close {
        let version = same.iter().find(|p| p.parameter.id == closed).map_or(0, |p| p.version);
        tx.exec_one(
            "UPDATE billing_parameters SET valid_to = $1, version = version + 1 WHERE id = $2 AND version = $3 AND valid_to IS NULL",
            &args![last.to_string(), closed, version],
            &Error::stale("Ce paramètre").to_string(),
        )
        .await?;
    }
    let id = tx
        .int(
            "INSERT INTO billing_parameters (establishment_id, key, subject, value, valid_from, valid_to, source, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &args![
                establishment_id,
                input.key.code(),
                subject,
                input.value.to_storage(),
                input.period.from.to_string(),
                input.period.to.map(|d| d.to_string()),
                input.source.clone(),
                now_text()
            ],
        )
        .await
        .map_err(|e| match e.constraint().as_deref() {
            Some("billing_parameters_establishment_id_key_subject_valid_from_key") => {
                Error::invalid("valid_from", "Une version de ce paramètre commence déjà ce jour-là.")
            }
            _ => e,
        })?;
    let mut changes = serde_json::json!({ "parametre": [null, audit_text(input)] });
    if let Some((closed, last)) = plan.close {
        changes["version_close"] = serde_json::json!([closed, format!("jusqu'au {}", format_date_fr(last))]);
    }
    tx.audit(actor, AuditEvent::new("billing_parameter", "add").id(id).at(Some(establishment_id), None).changes(changes));
    crate::establishments::bump_config(tx, establishment_id).await?;
    Ok(id)
}

/// Ends the open version of a parameter on `last_day`. `version` is the one read.
pub async fn close(db: &Db, actor: &Actor, establishment_id: i64, id: i64, version: i64, last_day: Date) -> Result<StoredParameter, Error> {
    require_manage(db, actor, establishment_id, "billing_parameter", "close").await?;
    let mut tx = db.begin().await?;
    lock_establishment(&mut tx, establishment_id).await?;
    let p: StoredParameter = tx
        .opt(&format!("{SELECT} WHERE p.id = $1 AND p.establishment_id = $2"), &args![id, establishment_id])
        .await?
        .ok_or(Error::NotFound("Paramètre de facturation"))?;
    if p.version != version {
        return Err(Error::stale("Ce paramètre"));
    }
    if p.parameter.period.to.is_some() {
        return Err(Error::invalid("valid_to", "Cette version est déjà close."));
    }
    if last_day < p.parameter.period.from {
        return Err(Error::invalid("valid_to", format!("La version commence le {} : elle ne peut pas finir avant.", format_date_fr(p.parameter.period.from))));
    }
    tx.exec_one(
        "UPDATE billing_parameters SET valid_to = $1, version = version + 1 WHERE id = $2 AND version = $3 AND valid_to IS NULL",
        &args![last_day.to_string(), id, version],
        &Error::stale("Ce paramètre").to_string(),
    )
    .await?;
    tx.audit(
        actor,
        AuditEvent::new("billing_parameter", "close").id(id).at(Some(establishment_id), None).changes(serde_json::json!({ "valid_to": [null, last_day.to_string()] })),
    );
    crate::establishments::bump_config(&mut tx, establishment_id).await?;
    let p: StoredParameter = tx.one(&format!("{SELECT} WHERE p.id = $1"), &args![id]).await?;
    tx.commit().await?;
    Ok(p)
}

/// A parameter row of a CSV file (the territory sets): as [`ParameterInput`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ParameterCsvRow {
    pub key: String,
    pub subject: String,
    pub value: String,
    pub valid_from: String,
    pub valid_to: String,
    pub source: String,
}

pub(crate) fn parse_row(r: &ParameterCsvRow, currency: Currency) -> Result<ParsedParameter, FieldErrors> {
    parse_parameter(
        &ParameterInput {
            key: r.key.clone(),
            subject: r.subject.clone(),
            value: r.value.clone(),
            valid_from: r.valid_from.clone(),
            valid_to: r.valid_to.clone(),
            source: r.source.clone(),
        },
        currency,
    )
}
