//! Payers (organismes payeurs) of an establishment and their dated default rates.

use quittance_domain::access::{Permission, Scope};
use quittance_domain::care::coverage::{self, CATEGORIES, CHANNELS, PAYER_KINDS, STATEMENT_PERIODS};
use quittance_domain::money::BasisPoints;
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::shared::imports::{self, BatchDone, Batches};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub struct Payer {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub kind: String,
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
    pub statement_period: String,
    pub statement_deadline_days: i64,
    pub channel: String,
    pub accounting_account: Option<String>,
    pub active: bool,
    /// Bumped by every change of the payer and by every dated rate added (the rates are
    /// append-only rows versioned through their payer); a write names the version it read.
    pub version: i64,
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

/// What a form, the API or a CSV row sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PayerInput {
    pub code: String,
    /// obligatoire, complementaire, aide_medicale, public, autre.
    pub kind: String,
    pub name: String,
    /// Identifying code (organisme code, AMC number, RIDET…).
    pub identifier: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub contact_name: String,
    /// Days allowed to pay.
    pub payment_terms_days: String,
    /// aucun, hebdomadaire, mensuel, trimestriel.
    pub statement_period: String,
    /// Days after the period end to send the statement.
    pub statement_deadline_days: String,
    /// papier, courriel, portail, b2_noemie, edi.
    pub channel: String,
    pub accounting_account: String,
    /// `true`/`false` (default true).
    pub active: String,
}

fn days(e: &mut FieldErrors, field: &str, v: &str, default: i64) -> i64 {
    let v = v.trim();
    if v.is_empty() {
        return default;
    }
    match v.parse::<i64>() {
        Ok(n) if (0..=365).contains(&n) => n,
        _ => {
            e.add(field, "Nombre de jours entre 0 et 365.");
            default
        }
    }
}

impl PayerInput {
    pub fn parse(&self, establishment_id: i64) -> Result<Payer, FieldErrors> {
        let mut e = FieldErrors::new();
        let code = e.required("code", &self.code, 20).to_uppercase();
        if !code.is_empty() && !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            e.add("code", "Lettres, chiffres, « - » et « _ » uniquement.");
        }
        let kind = self.kind.trim().to_string();
        if !coverage::is_code(PAYER_KINDS, &kind) {
            e.add("kind", "Type d'organisme inconnu.");
        }
        let name = e.required("name", &self.name, 200);
        let identifier = e.optional("identifier", &self.identifier, 40);
        let address_line1 = e.optional("address_line1", &self.address_line1, 200);
        let address_line2 = e.optional("address_line2", &self.address_line2, 200);
        let country = e.optional("country", &self.country, 60);
        let postcode = if self.postcode.trim().is_empty() {
            None
        } else {
            match quittance_domain::identity::validate_postcode(&self.postcode, country.as_deref().unwrap_or("")) {
                Ok(p) => Some(p),
                Err(m) => {
                    e.add("postcode", m);
                    None
                }
            }
        };
        let city = e.optional("city", &self.city, 100);
        let phone = e.optional("phone", &self.phone, 30);
        let email = e.optional("email", &self.email, 200);
        if let Some(m) = &email
            && (!m.contains('@') || m.starts_with('@') || m.ends_with('@')) {
                e.add("email", "Adresse électronique invalide.");
            }
        let contact_name = e.optional("contact_name", &self.contact_name, 100);
        let payment_terms_days = days(&mut e, "payment_terms_days", &self.payment_terms_days, 30);
        let statement_period = if self.statement_period.trim().is_empty() { "mensuel".to_string() } else { self.statement_period.trim().to_string() };
        if !coverage::is_code(STATEMENT_PERIODS, &statement_period) {
            e.add("statement_period", "Périodicité inconnue.");
        }
        let statement_deadline_days = days(&mut e, "statement_deadline_days", &self.statement_deadline_days, 15);
        let channel = if self.channel.trim().is_empty() { "papier".to_string() } else { self.channel.trim().to_string() };
        if !coverage::is_code(CHANNELS, &channel) {
            e.add("channel", "Canal de transmission inconnu.");
        }
        let accounting_account = e.optional("accounting_account", &self.accounting_account, 20);
        if let Some(a) = &accounting_account
            && !a.chars().all(|c| c.is_ascii_digit()) {
                e.add("accounting_account", "Compte comptable : chiffres uniquement (ex. 4111).");
            }
        let active = !matches!(self.active.trim().to_lowercase().as_str(), "false" | "non" | "0");
        e.into_result()?;
        Ok(Payer {
            id: 0,
            establishment_id,
            code,
            kind,
            name,
            identifier,
            address_line1,
            address_line2,
            postcode,
            city,
            country,
            phone,
            email,
            contact_name,
            payment_terms_days,
            statement_period,
            statement_deadline_days,
            channel,
            accounting_account,
            active,
            version: 1,
        })
    }

    pub fn from_payer(p: &Payer) -> PayerInput {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        PayerInput {
            code: p.code.clone(),
            kind: p.kind.clone(),
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
            statement_period: p.statement_period.clone(),
            statement_deadline_days: p.statement_deadline_days.to_string(),
            channel: p.channel.clone(),
            accounting_account: s(&p.accounting_account),
            active: p.active.to_string(),
        }
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
                p.establishment_id, p.code.clone(), p.kind.clone(), p.name.clone(), p.identifier.clone(), p.address_line1.clone(),
                p.address_line2.clone(), p.postcode.clone(), p.city.clone(), p.country.clone(), p.phone.clone(), p.email.clone(),
                p.contact_name.clone(), p.payment_terms_days, p.statement_period.clone(), p.statement_deadline_days, p.channel.clone(),
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

/// Creates a payer (administrators and billing technicians).
pub async fn create(db: &Db, actor: &Actor, establishment_id: i64, input: &PayerInput) -> Result<Payer, Error> {
    require_manage(db, actor, establishment_id, "create").await?;
    let p = input.parse(establishment_id)?;
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
pub async fn update(db: &Db, actor: &Actor, id: i64, version: i64, input: &PayerInput) -> Result<Payer, Error> {
    // Permission: decided on the payer's establishment (read access first: unknown = 404).
    let current = get(db, actor, id).await?;
    require_manage(db, actor, current.establishment_id, "update").await?;
    let mut p = input.parse(current.establishment_id)?;
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
            p.code.clone(), p.kind.clone(), p.name.clone(), p.identifier.clone(), p.address_line1.clone(), p.address_line2.clone(),
            p.postcode.clone(), p.city.clone(), p.country.clone(), p.phone.clone(), p.email.clone(), p.contact_name.clone(),
            p.payment_terms_days, p.statement_period.clone(), p.statement_deadline_days, p.channel.clone(), p.accounting_account.clone(),
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

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub struct PayerRate {
    pub id: i64,
    pub payer_id: i64,
    pub category: String,
    pub rate_bp: i64,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

/// Adds a dated default rate; the previous open rate of the category is closed the day before.
/// Rates are append-only dated rows, versioned through their payer: `version` is the payer's
/// version the client read (its page), and adding a rate bumps it.
pub async fn add_rate(db: &Db, actor: &Actor, payer_id: i64, version: i64, category: &str, rate: &str, valid_from: &str) -> Result<PayerRate, Error> {
    let p = get(db, actor, payer_id).await?;
    require_manage(db, actor, p.establishment_id, "add_rate").await?;
    let mut e = FieldErrors::new();
    if !coverage::is_code(CATEGORIES, category) {
        e.add("category", "Catégorie de charge inconnue.");
    }
    let rate = match BasisPoints::parse_fr(rate) {
        Ok(r) => Some(r),
        Err(m) => {
            e.add("rate", m.to_string());
            None
        }
    };
    let from = match quittance_domain::fr::parse_date_fr(valid_from) {
        Ok(d) => Some(d),
        Err(m) => {
            e.add("valid_from", m);
            None
        }
    };
    let (rate, from) = match (e.into_result(), rate, from) {
        (Ok(()), Some(r), Some(f)) => (r, f),
        (Err(errs), _, _) => return Err(Error::Invalid(errs)),
        _ => return Err(Error::invalid("rate", "Taux vide")),
    };
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
    Ok(PayerRate { id, payer_id, category: category.into(), rate_bp: i64::from(rate.0), valid_from: from.to_string(), valid_to: None })
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
pub async fn rates_on(tx: &mut Tx, payer_id: i64, day: jiff::civil::Date) -> Result<Vec<(String, i64)>, Error> {
    let d = day.to_string();
    let rows: Vec<(String, i64)> = tx
        .all(
            "SELECT category, rate_bp FROM payer_rates WHERE payer_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to >= $2)",
            &args![payer_id, d],
        )
        .await?;
    Ok(rows)
}

// ---------------------------------------------------------------- import

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    pub errors: Vec<(usize, String, String)>,
    /// Leading rows skipped because an earlier run of the same file committed them.
    pub skipped: usize,
}

/// Imports payer rows `(line, input)` in one transaction: valid rows created, invalid ones reported; `dry_run` writes nothing.
pub async fn import(db: &Db, actor: &Actor, establishment_id: i64, rows: Vec<(usize, PayerInput)>, dry_run: bool) -> Result<ImportReport, Error> {
    import_in_batches(db, actor, establishment_id, rows, &Batches::single(dry_run), &mut |_| {}).await
}

/// [`import`] in batches of `opts.size` rows, each its own transaction (see
/// [`crate::shared::imports`]): `on_batch` is called after each; rows an earlier run of the
/// same file (`opts.source_sha256`) committed are skipped.
pub async fn import_in_batches(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    rows: Vec<(usize, PayerInput)>,
    opts: &Batches,
    on_batch: &mut dyn FnMut(&BatchDone),
) -> Result<ImportReport, Error> {
    require_manage(db, actor, establishment_id, "import").await?;
    let out = imports::run(db, establishment_id, "payers", rows, opts, on_batch, async |tx: &mut Tx, input: &PayerInput| {
        match input.parse(establishment_id) {
            Ok(p) => match insert(tx, actor, p).await {
                Ok(_) => Ok(None),
                Err(Error::Invalid(e)) => Ok(Some(e)),
                Err(e) => Err(e),
            },
            Err(e) => Ok(Some(e)),
        }
    })
    .await?;
    Ok(ImportReport { imported: out.imported, errors: out.errors, skipped: out.skipped })
}
