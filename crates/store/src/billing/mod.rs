//! Billing: the establishment's dated tariffs and rule parameters (what activity is priced
//! with). Each is append-only dated rows: a change is a new version from a date, which closes
//! the open one the day before (`quittance_domain::billing::plan_version`); the database
//! refuses any other change (triggers of migration 12). A new establishment starts with the
//! set of its territory ([`territory`]), which it can then change.

pub mod parameters;
pub mod tariffs;
pub mod territory;
pub mod valuation;

pub use quittance_domain::billing::input::{ParameterInput, ParsedParameter, ParsedTariff, TariffInput, parse_parameter, parse_tariff};

use quittance_domain::access::{Permission, Scope};
use quittance_domain::money::Currency;

use crate::actor::Actor;
use crate::args;
use crate::db::{Backend, Db, Tx};
use crate::error::Error;

/// Checks that the actor may read the establishment's tariffs (every role of it may).
pub(crate) async fn require_read(db: &Db, actor: &Actor, establishment_id: i64, entity: &str) -> Result<(), Error> {
    actor.require(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), entity, "read").await
}

/// Checks that the actor may set tariffs and parameters (a refusal is audited).
pub(crate) async fn require_manage(db: &Db, actor: &Actor, establishment_id: i64, entity: &str, action: &str) -> Result<(), Error> {
    actor.require(db, Permission::ManageTariffs, Scope::Establishment(establishment_id), entity, action).await
}

/// Serialises the writers of one establishment's tariffs and parameters for the rest of the
/// transaction (PostgreSQL: a row lock on the establishment that does not block the rows
/// referring to it; SQLite: the write transaction already holds the database's write lock),
/// and returns the establishment's currency.
pub(crate) async fn lock_establishment(tx: &mut Tx, establishment_id: i64) -> Result<Currency, Error> {
    let sql = match tx.backend() {
        Backend::Postgres => "SELECT currency FROM establishments WHERE id = $1 FOR NO KEY UPDATE",
        Backend::Sqlite => "SELECT currency FROM establishments WHERE id = $1",
    };
    read_currency(tx, sql, establishment_id).await
}

/// The currency amounts of an establishment are in.
pub(crate) async fn currency_of(tx: &mut Tx, establishment_id: i64) -> Result<Currency, Error> {
    read_currency(tx, "SELECT currency FROM establishments WHERE id = $1", establishment_id).await
}

async fn read_currency(tx: &mut Tx, sql: &str, establishment_id: i64) -> Result<Currency, Error> {
    let row: Option<(String,)> = tx.opt(sql, &args![establishment_id]).await?;
    let code = row.ok_or(Error::NotFound("Établissement"))?.0;
    Currency::from_code(&code).ok_or_else(|| Error::Integrity(format!("devise inconnue : {code}")))
}
