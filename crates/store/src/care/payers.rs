//! Payers (organismes payeurs) of an establishment and their dated default rates.

use quittance_domain::access::{Permission, Scope};
use quittance_domain::care::coverage::{Category, Channel, PayerKind, StatementPeriod};
use quittance_domain::money::BasisPoints;
use quittance_domain::validation::FieldErrors;
use serde::Serialize;

pub use quittance_domain::care::input::{ParsedPayer, ParsedRate, PayerInput, RateInput, parse_payer, parse_rate};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::care::{decode, decode_bp};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::shared::imports::{self, BatchDone, Batches};

/// A payer as stored: kind, statement period and channel decoded as their enums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payer {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub kind: PayerKind,
    pub name: String,
    pub identifier: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub contact_name: Option<String>,
    pub payment_terms_days: i64,
    pub statement_period: StatementPeriod,
    pub statement_deadline_days: i64,
    pub channel: Channel,
    pub accounting_account: Option<String>,
    pub active: bool,
    /// Bumped by every change of the payer and by every dated rate added (the rates are
    /// append-only rows versioned through their payer); a write names the version it read.
    pub version: i64,
}

/// The columns as the database holds them.
#[derive(sqlx::FromRow)]
struct PayerRow {
    id: i64,
    establishment_id: i64,
    code: String,
    kind: String,
    name: String,
    identifier: Option<String>,
    address_line1: Option<String>,
    address_line2: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    contact_name: Option<String>,
    payment_terms_days: i64,
    statement_period: String,
    statement_deadline_days: i64,
    channel: String,
    accounting_account: Option<String>,
    active: bool,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Payer
where
    PayerRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = PayerRow::from_row(row)?;
        Ok(Payer {
            id: r.id,
            establishment_id: r.establishment_id,
            code: r.code,
            kind: decode(r.kind)?,
            name: r.name,
            identifier: r.identifier,
            address_line1: r.address_line1,
            address_line2: r.address_line2,
            postcode: r.postcode,
            city: r.city,
            country: r.country,
            phone: r.phone,
            email: r.email,
            contact_name: r.contact_name,
            payment_terms_days: r.payment_terms_days,
            statement_period: decode(r.statement_period)?,
            statement_deadline_days: r.statement_deadline_days,
            channel: decode(r.channel)?,
            accounting_account: r.accounting_account,
            active: r.active,
            version: r.version,
        })
    }
}

const COLS: &str = "id, establishment_id, code, kind, name, identifier, address_line1, address_line2, postcode, city, country, phone, email, \
    contact_name, payment_terms_days, statement_period, statement_deadline_days, channel, accounting_account, active, version";

/// The unique constraint on `payers (establishment_id, code)`, by its PostgreSQL name
/// (SQLite's is derived to the same name by [`Error::constraint`]).
const CODE_KEY: &str = "payers_establishment_id_code_key";
const CODE_TAKEN: &str = "Ce code d'organisme existe déjà.";

/// A duplicate code as the field error of `code`; other errors unchanged.
fn code_taken(e: Error) -> Error {
    if e.constraint().as_deref() == Some(CODE_KEY) { Error::invalid("code", CODE_TAKEN) } else { e }
}

/// A payer of the establishment from its parsed form (id 0, version 1).
fn new_payer(establishment_id: i64, p: &ParsedPayer) -> Payer {
    Payer {
        id: 0,
        establishment_id,
        code: p.code.clone(),
        kind: p.kind,
        name: p.name.clone(),
        identifier: p.identifier.clone(),
        address_line1: p.address_line1.clone(),
        address_line2: p.address_line2.clone(),
        postcode: p.postcode.clone(),
        city: p.city.clone(),
        country: p.country.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        contact_name: p.contact_name.clone(),
        payment_terms_days: p.payment_terms_days,
        statement_period: p.statement_period,
        statement_deadline_days: p.statement_deadline_days,
        channel: p.channel,
        accounting_account: p.accounting_account.clone(),
        active: p.active,
        version: 1,
    }
}

/// The form of a payer as stored (to edit it).
pub fn as_input(p: &Payer) -> PayerInput {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    PayerInput {
        code: p.code.clone(),
        kind: p.kind.code().to_string(),
        name: p.name.clone(),
        identifier: s(&p.identifier),
        address_line1: s(&p.address_line1),
        address_line2: s(&p.address_line2),
        postcode: s(&p.postcode),
        city: s(&p.city),
        country: s(&p.country),
        phone: s(&p.phone),
        email: s(&p.email),
        contact_name: s(&p.contact_name),
        payment_terms_days: p.payment_terms_days.to_string(),
        statement_period: p.statement_period.code().to_string(),
        statement_deadline_days: p.statement_deadline_days.to_string(),
        channel: p.channel.code().to_string(),
        accounting_account: s(&p.accounting_account),
        active: p.active.to_string(),
    }
}

fn json(p: &Payer) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("establishment_id");
        o.remove("version");
    }
    v
}

pub async fn list(db: &Db, actor: &Actor, establishment_id: i64) -> Result<Vec<Payer>, Error> {
    actor.require(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), "payer", "list").await?;
    let mut tx = db.read().await?;
    let v = tx.all(&format!("SELECT {COLS} FROM payers WHERE establishment_id = $1 ORDER BY kind, name"), &args![establishment_id]).await?;
    tx.rollback().await?;
    Ok(v)
}

pub(crate) async fn load(tx: &mut Tx, id: i64) -> Result<Payer, Error> {
    tx.opt(&format!("SELECT {COLS} FROM payers WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Organisme"))
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Payer, Error> {
    let mut tx = db.read().await?;
    let p = load(&mut tx, id).await;
    tx.rollback().await?;
    let p = p?;
    actor.require(db, Permission::ReadEstablishments, Scope::Establishment(p.establishment_id), "payer", "read").await?;
    Ok(p)
}

/// Inserts a payer; a duplicate code is the field error of `code`, refused by the unique
/// constraint (no COUNT beforehand) inside a savepoint, so that an import's transaction
/// goes on with the next row (PostgreSQL aborts a transaction on the first error otherwise).
async fn insert(tx: &mut Tx, actor: &Actor, mut p: Payer) -> Result<Payer, Error> {
    let now = now_text();
    tx.exec("SAVEPOINT payer_insert", &[]).await?;
    let id = tx
        .int(
            "INSERT INTO payers (establishment_id, code, kind, name, identifier, address_line1, address_line2, postcode, city, country, phone, email, \
             contact_name, payment_terms_days, statement_period, statement_deadline_days, channel, accounting_account, active, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, 1) RETURNING id",
            &args![
                p.establishment_id, p.code.clone(), p.kind.code(), p.name.clone(), p.identifier.clone(), p.address_line1.clone(),
                p.address_line2.clone(), p.postcode.clone(), p.city.clone(), p.country.clone(), p.phone.clone(), p.email.clone(),
                p.contact_name.clone(), p.payment_terms_days, p.statement_period.code(), p.statement_deadline_days, p.channel.code(),
                p.accounting_account.clone(), p.active, now
            ],
        )
        .await;
    p.id = match id {
        Ok(id) => {
            tx.exec("RELEASE SAVEPOINT payer_insert", &[]).await?;
            id
        }
        Err(e) => {
            tx.exec("ROLLBACK TO SAVEPOINT payer_insert", &[]).await?;
            tx.exec("RELEASE SAVEPOINT payer_insert", &[]).await?;
            return Err(code_taken(e));
        }
    };
    p.version = 1;
    tx.audit(actor, AuditEvent::new("payer", "create").id(p.id).at(Some(p.establishment_id), None).changes(diff(&serde_json::json!({}), &json(&p))));
    Ok(p)
}

/// Creates a payer (administrators and billing technicians), parsed with [`parse_payer`].
pub async fn create(db: &Db, actor: &Actor, establishment_id: i64, input: &ParsedPayer) -> Result<Payer, Error> {
    require_manage(db, actor, establishment_id, "create").await?;
    let p = new_payer(establishment_id, input);
    let mut tx = db.begin().await?;
    let p = insert(&mut tx, actor, p).await?;
    tx.commit().await?;
    Ok(p)
}

async fn require_manage(db: &Db, actor: &Actor, establishment_id: i64, action: &str) -> Result<(), Error> {
    let scope = Scope::Establishment(establishment_id);
    if actor.allows(Permission::ManageEstablishments, scope) || actor.allows(Permission::Bill, scope) {
        return Ok(());
    }
    Err(actor.deny(db, Permission::Bill, scope, "payer", action).await)
}

/// Changes a payer. `version` is the one the client read: the row is locked and checked in
/// the write transaction, a stale version is a [`Error::Conflict`] (nothing written).
pub async fn update(db: &Db, actor: &Actor, id: i64, version: i64, input: &ParsedPayer) -> Result<Payer, Error> {
    // Permission: decided on the payer's establishment (read access first: unknown = 404).
    let current = get(db, actor, id).await?;
    require_manage(db, actor, current.establishment_id, "update").await?;
    let mut p = new_payer(current.establishment_id, input);
    p.id = id;
    let mut tx = db.begin().await?;
    let before: Payer = tx.lock(&format!("SELECT {COLS} FROM payers WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Organisme"))?;
    if before.version != version || before.establishment_id != current.establishment_id {
        return Err(crate::care::stale("Cet organisme"));
    }
    tx.exec_one(
        "UPDATE payers SET code = $1, kind = $2, name = $3, identifier = $4, address_line1 = $5, address_line2 = $6, postcode = $7, city = $8, \
         country = $9, phone = $10, email = $11, contact_name = $12, payment_terms_days = $13, statement_period = $14, statement_deadline_days = $15, \
         channel = $16, accounting_account = $17, active = $18, updated_at = $19, version = version + 1 WHERE id = $20 AND version = $21",
        &args![
            p.code.clone(), p.kind.code(), p.name.clone(), p.identifier.clone(), p.address_line1.clone(), p.address_line2.clone(),
            p.postcode.clone(), p.city.clone(), p.country.clone(), p.phone.clone(), p.email.clone(), p.contact_name.clone(),
            p.payment_terms_days, p.statement_period.code(), p.statement_deadline_days, p.channel.code(), p.accounting_account.clone(),
            p.active, now_text(), id, version
        ],
        &crate::care::stale("Cet organisme").to_string(),
    )
    .await
    .map_err(code_taken)?;
    p.version = version + 1;
    tx.audit(actor, AuditEvent::new("payer", "update").id(id).at(Some(p.establishment_id), None).changes(diff(&json(&before), &json(&p))));
    tx.commit().await?;
    Ok(p)
}

// ---------------------------------------------------------------- dated rates

/// A dated default rate as stored: category decoded as [`Category`], rate as [`BasisPoints`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayerRate {
    pub id: i64,
    pub payer_id: i64,
    pub category: Category,
    pub rate_bp: BasisPoints,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

/// The columns as the database holds them.
#[derive(sqlx::FromRow)]
struct PayerRateRow {
    id: i64,
    payer_id: i64,
    category: String,
    rate_bp: i64,
    valid_from: String,
    valid_to: Option<String>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for PayerRate
where
    PayerRateRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = PayerRateRow::from_row(row)?;
        Ok(PayerRate { id: r.id, payer_id: r.payer_id, category: decode(r.category)?, rate_bp: decode_bp(r.rate_bp)?, valid_from: r.valid_from, valid_to: r.valid_to })
    }
}

/// Adds a dated default rate (parsed with [`parse_rate`]); the previous open rate of the
/// category is closed the day before. Rates are append-only dated rows, versioned through
/// their payer: `version` is the payer's version the client read (its page), and adding a
/// rate bumps it.
pub async fn add_rate(db: &Db, actor: &Actor, payer_id: i64, version: i64, input: &ParsedRate) -> Result<PayerRate, Error> {
    let p = get(db, actor, payer_id).await?;
    require_manage(db, actor, p.establishment_id, "add_rate").await?;
    let (category, rate, from) = (input.category.code(), input.rate, input.valid_from);
    let mut tx = db.begin().await?;
    let locked: Payer = tx.lock(&format!("SELECT {COLS} FROM payers WHERE id = $1"), &args![payer_id]).await?.ok_or(Error::NotFound("Organisme"))?;
    if locked.version != version {
        return Err(crate::care::stale("Cet organisme"));
    }
    let later = tx
        .int("SELECT COUNT(*) FROM payer_rates WHERE payer_id = $1 AND category = $2 AND valid_from >= $3", &args![payer_id, category, from.to_string()])
        .await?;
    if later > 0 {
        return Err(Error::invalid("valid_from", "Un taux de cette catégorie commence déjà à cette date ou après."));
    }
    let eve = from.yesterday().map(|d| d.to_string()).map_err(|_| Error::invalid("valid_from", "Date hors limites."))?;
    tx.exec(
        "UPDATE payer_rates SET valid_to = $1 WHERE payer_id = $2 AND category = $3 AND valid_to IS NULL",
        &args![eve, payer_id, category],
    )
    .await?;
    let id = tx
        .int(
            "INSERT INTO payer_rates (payer_id, category, rate_bp, valid_from, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &args![payer_id, category, i64::from(rate.0), from.to_string(), now_text()],
        )
        .await?;
    tx.exec_one(
        "UPDATE payers SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3",
        &args![now_text(), payer_id, version],
        &crate::care::stale("Cet organisme").to_string(),
    )
    .await?;
    tx.audit(
        actor,
        AuditEvent::new("payer", "add_rate")
            .id(payer_id)
            .at(Some(p.establishment_id), None)
            .changes(serde_json::json!({ "taux": [null, format!("{category} {} au {}", rate.format_fr_plain(), quittance_domain::fr::format_date_fr(from))] })),
    );
    tx.commit().await?;
    Ok(PayerRate { id, payer_id, category: input.category, rate_bp: rate, valid_from: from.to_string(), valid_to: None })
}

pub async fn rates(db: &Db, actor: &Actor, payer_id: i64) -> Result<Vec<PayerRate>, Error> {
    get(db, actor, payer_id).await?;
    let mut tx = db.read().await?;
    let v = tx
        .all("SELECT id, payer_id, category, rate_bp, valid_from, valid_to FROM payer_rates WHERE payer_id = $1 ORDER BY category, valid_from", &args![payer_id])
        .await?;
    tx.rollback().await?;
    Ok(v)
}

/// The default rates of a payer valid on `day`, by category (missing categories are absent).
pub async fn rates_on(tx: &mut Tx, payer_id: i64, day: jiff::civil::Date) -> Result<Vec<(Category, BasisPoints)>, Error> {
    let d = day.to_string();
    let rows: Vec<(String, i64)> = tx
        .all(
            "SELECT category, rate_bp FROM payer_rates WHERE payer_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to >= $2)",
            &args![payer_id, d],
        )
        .await?;
    rows.into_iter()
        .map(|(c, bp)| {
            let c = Category::try_from(c).map_err(Error::Integrity)?;
            let bp = u32::try_from(bp).map(BasisPoints).map_err(|_| Error::Integrity(format!("taux hors limites : {bp}")))?;
            Ok((c, bp))
        })
        .collect()
}

// ---------------------------------------------------------------- import

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    pub errors: Vec<(usize, String, String)>,
    /// Leading rows skipped because an earlier run of the same file committed them.
    pub skipped: usize,
}

/// A CSV row of payers, parsed with [`parse_payer`] (its field errors are reported by line).
pub type ImportRow = (usize, Result<ParsedPayer, FieldErrors>);

/// Parses payer rows `(line, input)` for [`import`].
pub fn parse_rows(rows: Vec<(usize, PayerInput)>) -> Vec<ImportRow> {
    rows.into_iter().map(|(line, input)| (line, parse_payer(&input))).collect()
}

/// Imports payer rows `(line, parsed row)` in one transaction: valid rows created, invalid
/// ones (and duplicate codes) reported; `dry_run` writes nothing.
pub async fn import(db: &Db, actor: &Actor, establishment_id: i64, rows: Vec<ImportRow>, dry_run: bool) -> Result<ImportReport, Error> {
    import_in_batches(db, actor, establishment_id, rows, &Batches::single(dry_run), &mut |_| {}).await
}

/// [`import`] in batches of `opts.size` rows, each its own transaction (see
/// [`crate::shared::imports`]): `on_batch` is called after each; rows an earlier run of the
/// same file (`opts.source_sha256`) committed are skipped.
pub async fn import_in_batches(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    rows: Vec<ImportRow>,
    opts: &Batches,
    on_batch: &mut dyn FnMut(&BatchDone),
) -> Result<ImportReport, Error> {
    require_manage(db, actor, establishment_id, "import").await?;
    let out = imports::run(db, establishment_id, "payers", rows, opts, on_batch, async |tx: &mut Tx, row: &Result<ParsedPayer, FieldErrors>| {
        match row {
            Ok(p) => match insert(tx, actor, new_payer(establishment_id, p)).await {
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
