//! Establishments, sites and numbering series.

use quittance_domain::access::{Permission, Scope};
use quittance_domain::establishments::{EstablishmentKind, SiteKind};
use quittance_domain::money::Currency;
use serde::Serialize;

pub use quittance_domain::establishments::input::{
    EstablishmentInput, ParsedEstablishment, ParsedSeries, ParsedSite, SeriesInput, SiteInput, parse_establishment, parse_series, parse_site,
};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;

pub use quittance_domain::establishments::{KINDS, SITE_KINDS};

use crate::shared::rows::decode;

/// An establishment as stored: kind decoded as [`EstablishmentKind`], currency as [`Currency`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Establishment {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: EstablishmentKind,
    pub siret: Option<String>,
    pub finess: Option<String>,
    pub ridet: Option<String>,
    pub currency: Currency,
    pub timezone: String,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    /// Changes with every write; an edit sends the version it read.
    pub version: i64,
    /// Changes with every change of the configuration pages read (sites, readiness rules,
    /// document classes, tariffs, parameters): see [`config_in`].
    pub config_version: i64,
}

/// The columns as the database holds them.
#[derive(sqlx::FromRow)]
struct EstablishmentRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    siret: Option<String>,
    finess: Option<String>,
    ridet: Option<String>,
    currency: String,
    timezone: String,
    address_line1: Option<String>,
    address_line2: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    country: String,
    phone: Option<String>,
    email: Option<String>,
    active: bool,
    version: i64,
    config_version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Establishment
where
    EstablishmentRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = EstablishmentRow::from_row(row)?;
        let currency = Currency::from_code(&r.currency).ok_or_else(|| sqlx::Error::Decode(format!("devise inconnue « {} »", r.currency).into()))?;
        Ok(Establishment {
            id: r.id,
            code: r.code,
            name: r.name,
            kind: decode(r.kind)?,
            siret: r.siret,
            finess: r.finess,
            ridet: r.ridet,
            currency,
            timezone: r.timezone,
            address_line1: r.address_line1,
            address_line2: r.address_line2,
            postcode: r.postcode,
            city: r.city,
            country: r.country,
            phone: r.phone,
            email: r.email,
            active: r.active,
            version: r.version,
            config_version: r.config_version,
        })
    }
}

/// The form of an establishment as stored (to edit it).
pub fn as_input(e: &Establishment) -> EstablishmentInput {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    EstablishmentInput {
        code: e.code.clone(),
        name: e.name.clone(),
        kind: e.kind.code().to_string(),
        siret: s(&e.siret),
        finess: s(&e.finess),
        ridet: s(&e.ridet),
        currency: e.currency.code().to_string(),
        timezone: e.timezone.clone(),
        address_line1: s(&e.address_line1),
        address_line2: s(&e.address_line2),
        postcode: s(&e.postcode),
        city: s(&e.city),
        country: e.country.clone(),
        phone: s(&e.phone),
        email: s(&e.email),
    }
}

/// An establishment from its parsed form (id 0, version 0, active).
fn new_establishment(p: &ParsedEstablishment) -> Establishment {
    Establishment {
        id: 0,
        code: p.code.clone(),
        name: p.name.clone(),
        kind: p.kind,
        siret: p.siret.clone(),
        finess: p.finess.clone(),
        ridet: p.ridet.clone(),
        currency: p.currency,
        timezone: p.timezone.clone(),
        address_line1: p.address_line1.clone(),
        address_line2: p.address_line2.clone(),
        postcode: p.postcode.clone(),
        city: p.city.clone(),
        country: p.country.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        active: true,
        version: 0,
        config_version: 1,
    }
}

// ---------------------------------------------------------------- configuration read by every page

/// The configuration of an establishment that every patient page reads: its sites, its
/// readiness rules and the document classes it requires.
#[derive(Debug, Clone)]
pub struct EstablishmentConfig {
    pub config_version: i64,
    pub sites: Vec<Site>,
    pub rules: quittance_domain::readiness::Rules,
    pub requirements: Vec<quittance_domain::documents::Requirement>,
}

/// Each establishment's [`EstablishmentConfig`] at the last configuration version a request
/// read, shared by the requests of one pool.
#[derive(Clone, Debug, Default)]
pub struct ConfigCache(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<EstablishmentConfig>>>>);

/// Every change of what [`EstablishmentConfig`] holds (and of tariffs and parameters) calls
/// this in its transaction: the next page that reads the establishment reads it again.
pub(crate) async fn bump_config(tx: &mut Tx, establishment_id: i64) -> Result<(), Error> {
    tx.exec("UPDATE establishments SET config_version = config_version + 1 WHERE id = $1", &args![establishment_id]).await?;
    Ok(())
}

/// The configuration of `e` as of the caller's snapshot: from memory when the version `e` was
/// read with (in the same transaction) is the one kept, else read in that transaction (three
/// statements) and kept. A change committed after the snapshot has a higher version, so a
/// request never mixes configurations; several processes each keep their own.
pub async fn config_in(db: &Db, tx: &mut Tx, e: &Establishment) -> Result<std::sync::Arc<EstablishmentConfig>, Error> {
    let cache = &db.shared().config.0;
    let kept = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&e.id).cloned();
    if let Some(c) = kept
        && c.config_version == e.config_version
    {
        return Ok(c);
    }
    let sites = sites_in(tx, e.id).await?;
    let rules = crate::readiness::rules(tx, e.id).await?;
    let requirements = crate::documents::requirements(tx, e.id).await?;
    let c = std::sync::Arc::new(EstablishmentConfig { config_version: e.config_version, sites, rules, requirements });
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    // A slower request that read an older snapshot does not replace a newer entry.
    if map.get(&e.id).is_none_or(|old| old.config_version <= c.config_version) {
        map.insert(e.id, c.clone());
    }
    Ok(c)
}

const EST_COLS: &str =
    "id, code, name, kind, siret, finess, ridet, currency, timezone, address_line1, address_line2, postcode, city, country, phone, email, active, version, config_version";

/// What the audit trail records of an establishment (the stored names, codes as text).
fn est_json(e: &Establishment) -> serde_json::Value {
    serde_json::json!({
        "code": e.code,
        "name": e.name,
        "kind": e.kind.code(),
        "siret": e.siret,
        "finess": e.finess,
        "ridet": e.ridet,
        "currency": e.currency.code(),
        "timezone": e.timezone,
        "address_line1": e.address_line1,
        "address_line2": e.address_line2,
        "postcode": e.postcode,
        "city": e.city,
        "country": e.country,
        "phone": e.phone,
        "email": e.email,
        "active": e.active,
    })
}

/// A JSON object without the keys the audit trail does not compare.
fn without(mut v: serde_json::Value, keys: &[&str]) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

/// A unique constraint the database refused, as the field error of the form field it is
/// about (by constraint name, the same on both backends: no COUNT beforehand, which races).
fn unique_field(e: Error) -> Error {
    match e.constraint().as_deref() {
        Some("establishments_code_key") => Error::invalid("code", "Ce code est déjà utilisé."),
        Some("sites_establishment_id_code_key") => Error::invalid("code", "Ce code de site existe déjà dans l'établissement."),
        Some("numbering_series_establishment_id_code_key") => {
            Error::invalid("code", "Cette série existe déjà : choisissez « Modifier » sur sa ligne pour la changer.")
        }
        _ => e,
    }
}

/// Establishments the actor holds any role in (all of them for the CLI).
pub async fn list(db: &Db, actor: &Actor) -> Result<Vec<Establishment>, Error> {
    let mut tx = db.read().await?;
    let all = list_in(&mut tx, actor).await;
    tx.rollback().await?;
    all
}

/// [`list`] inside the caller's read transaction (a page that reads several sections in one).
pub async fn list_in(tx: &mut Tx, actor: &Actor) -> Result<Vec<Establishment>, Error> {
    let all: Vec<Establishment> = tx.all(&format!("SELECT {EST_COLS} FROM establishments ORDER BY name"), &[]).await?;
    let mine = actor.grants.establishments();
    Ok(all.into_iter().filter(|e| actor.system || mine.contains(&e.id)).collect())
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Establishment, Error> {
    actor.require(db, Permission::ReadEstablishments, Scope::Establishment(id), "establishment", "read").await?;
    let mut tx = db.read().await?;
    let e = load(&mut tx, id).await;
    tx.rollback().await?;
    e
}

/// One establishment inside the caller's read transaction; the caller has decided the access.
pub async fn get_in(tx: &mut Tx, id: i64) -> Result<Establishment, Error> {
    load(tx, id).await
}

async fn load(tx: &mut Tx, id: i64) -> Result<Establishment, Error> {
    tx.opt(&format!("SELECT {EST_COLS} FROM establishments WHERE id = $1"), &args![id])
        .await?
        .ok_or(Error::NotFound("Établissement"))
}

/// Creates an establishment. Only the local operator or an administrator of some
/// establishment may (a new legal entity is an installation decision).
/// The input is parsed with [`parse_establishment`].
pub async fn create(db: &Db, actor: &Actor, input: &ParsedEstablishment) -> Result<Establishment, Error> {
    actor.require(db, Permission::ManageEstablishments, Scope::Global, "establishment", "create").await?;
    let mut e = new_establishment(input);
    let mut tx = db.begin().await?;
    let now = now_text();
    e.version = 1;
    e.id = tx
        .int(
            "INSERT INTO establishments (code, name, kind, siret, finess, ridet, currency, timezone, address_line1, address_line2, postcode, city, country, phone, email, active, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, 1) RETURNING id",
            &args![
                e.code.clone(), e.name.clone(), e.kind.code(), e.siret.clone(), e.finess.clone(), e.ridet.clone(),
                e.currency.code(), e.timezone.clone(), e.address_line1.clone(), e.address_line2.clone(),
                e.postcode.clone(), e.city.clone(), e.country.clone(), e.phone.clone(), e.email.clone(), true, now
            ],
        )
        .await
        .map_err(unique_field)?;
    tx.audit(
        actor,
        AuditEvent::new("establishment", "create")
            .id(e.id)
            .at(Some(e.id), None)
            .changes(diff(&serde_json::json!({}), &est_json(&e))),
    );
    // A classification plan to start from (editable on the plan page).
    crate::documents::seed_default_plan(&mut tx, e.id).await?;
    // The dated tariffs and billing parameters of its territory (editable on the tariffs pages).
    crate::billing::territory::seed(&mut tx, actor, e.id, e.currency).await?;
    // The administrator who creates an establishment administers it; otherwise
    // nobody but the command line could reach it.
    if let (Some(user_id), false) = (actor.user_id, actor.system) {
        let g = quittance_domain::access::Grant {
            role: quittance_domain::access::Role::Administrateur,
            establishment_id: e.id,
            site_id: None,
        };
        crate::access::insert_grant(&mut tx, user_id, &g).await?;
        tx.audit(
            actor,
            AuditEvent::new("user", "grant_role")
                .id(user_id)
                .at(Some(e.id), None)
                .changes(serde_json::json!({ "role": [null, format!("administrateur@{}", e.id)] })),
        );
    }
    tx.commit().await?;
    Ok(e)
}

/// Changes an establishment. `version` must be the one read (a concurrent change is a 409).
pub async fn update(db: &Db, actor: &Actor, id: i64, version: i64, input: &ParsedEstablishment) -> Result<Establishment, Error> {
    actor.require(db, Permission::ManageEstablishments, Scope::Establishment(id), "establishment", "update").await?;
    let mut e = new_establishment(input);
    let mut tx = db.begin().await?;
    let before: Establishment = tx
        .lock(&format!("SELECT {EST_COLS} FROM establishments WHERE id = $1"), &args![id])
        .await?
        .ok_or(Error::NotFound("Établissement"))?;
    if before.version != version {
        return Err(Error::stale("Cet établissement"));
    }
    if before.currency != e.currency {
        return Err(Error::invalid("currency", "La devise d'un établissement ne change pas."));
    }
    e.id = id;
    e.active = before.active;
    e.version = version + 1;
    tx.exec_one(
        "UPDATE establishments SET code = $1, name = $2, kind = $3, siret = $4, finess = $5, ridet = $6, timezone = $7, \
         address_line1 = $8, address_line2 = $9, postcode = $10, city = $11, country = $12, phone = $13, email = $14, updated_at = $15, \
         version = version + 1 WHERE id = $16 AND version = $17",
        &args![
            e.code.clone(), e.name.clone(), e.kind.code(), e.siret.clone(), e.finess.clone(), e.ridet.clone(),
            e.timezone.clone(), e.address_line1.clone(), e.address_line2.clone(), e.postcode.clone(), e.city.clone(),
            e.country.clone(), e.phone.clone(), e.email.clone(), now_text(), id, version
        ],
        &Error::stale("Cet établissement").to_string(),
    )
    .await
    .map_err(unique_field)?;
    tx.audit(
        actor,
        AuditEvent::new("establishment", "update").id(id).at(Some(id), None).changes(diff(&est_json(&before), &est_json(&e))),
    );
    tx.commit().await?;
    Ok(e)
}

// ---------------------------------------------------------------- sites

/// A site as stored: kind decoded as [`SiteKind`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub name: String,
    pub kind: SiteKind,
    pub address_line1: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub active: bool,
    /// Changes with every write; an edit sends the version it read.
    pub version: i64,
}

/// The columns as the database holds them.
#[derive(sqlx::FromRow)]
struct SiteRow {
    id: i64,
    establishment_id: i64,
    code: String,
    name: String,
    kind: String,
    address_line1: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    active: bool,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Site
where
    SiteRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = SiteRow::from_row(row)?;
        Ok(Site {
            id: r.id,
            establishment_id: r.establishment_id,
            code: r.code,
            name: r.name,
            kind: decode(r.kind)?,
            address_line1: r.address_line1,
            postcode: r.postcode,
            city: r.city,
            active: r.active,
            version: r.version,
        })
    }
}

/// The form of a site as stored (to edit it).
pub fn site_as_input(s: &Site) -> SiteInput {
    SiteInput {
        code: s.code.clone(),
        name: s.name.clone(),
        kind: s.kind.code().to_string(),
        address_line1: s.address_line1.clone().unwrap_or_default(),
        postcode: s.postcode.clone().unwrap_or_default(),
        city: s.city.clone().unwrap_or_default(),
        active: Some(s.active),
    }
}

/// A site of the establishment from its parsed form (id 0, version 0).
fn new_site(establishment_id: i64, p: &ParsedSite) -> Site {
    Site {
        id: 0,
        establishment_id,
        code: p.code.clone(),
        name: p.name.clone(),
        kind: p.kind,
        address_line1: p.address_line1.clone(),
        postcode: p.postcode.clone(),
        city: p.city.clone(),
        active: p.active,
        version: 0,
    }
}

const SITE_COLS: &str = "id, establishment_id, code, name, kind, address_line1, postcode, city, active, version";

pub async fn list_sites(db: &Db, actor: &Actor, establishment_id: i64) -> Result<Vec<Site>, Error> {
    actor
        .require(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), "site", "list")
        .await?;
    let mut tx = db.read().await?;
    let s = sites_in(&mut tx, establishment_id).await;
    tx.rollback().await?;
    s
}

/// The sites of an establishment inside the caller's read transaction. The caller has decided
/// the access: the actor holds a role in the establishment (e.g. a patient file of it was opened).
pub async fn sites_in(tx: &mut Tx, establishment_id: i64) -> Result<Vec<Site>, Error> {
    tx.all(&format!("SELECT {SITE_COLS} FROM sites WHERE establishment_id = $1 ORDER BY name"), &args![establishment_id]).await
}

pub async fn get_site(db: &Db, actor: &Actor, establishment_id: i64, site_id: i64) -> Result<Site, Error> {
    actor
        .require(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), "site", "read")
        .await?;
    let mut tx = db.read().await?;
    let s = tx
        .opt(&format!("SELECT {SITE_COLS} FROM sites WHERE establishment_id = $1 AND id = $2"), &args![establishment_id, site_id])
        .await?;
    tx.rollback().await?;
    s.ok_or(Error::NotFound("Site"))
}

/// The input is parsed with [`parse_site`].
pub async fn create_site(db: &Db, actor: &Actor, establishment_id: i64, input: &ParsedSite) -> Result<Site, Error> {
    actor
        .require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "site", "create")
        .await?;
    let mut s = new_site(establishment_id, input);
    let mut tx = db.begin().await?;
    load(&mut tx, establishment_id).await?;
    let now = now_text();
    s.version = 1;
    s.id = tx
        .int(
            "INSERT INTO sites (establishment_id, code, name, kind, address_line1, postcode, city, active, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1) RETURNING id",
            &args![establishment_id, s.code.clone(), s.name.clone(), s.kind.code(), s.address_line1.clone(), s.postcode.clone(), s.city.clone(), s.active, now],
        )
        .await
        .map_err(unique_field)?;
    tx.audit(
        actor,
        AuditEvent::new("site", "create")
            .id(s.id)
            .at(Some(establishment_id), Some(s.id))
            .changes(diff(&serde_json::json!({}), &site_json(&s))),
    );
    bump_config(&mut tx, establishment_id).await?;
    tx.commit().await?;
    Ok(s)
}

fn site_json(s: &Site) -> serde_json::Value {
    without(serde_json::to_value(s).unwrap_or_default(), &["version"])
}

/// Changes a site. `version` must be the one read (a concurrent change is a 409).
pub async fn update_site(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    site_id: i64,
    version: i64,
    input: &ParsedSite,
) -> Result<Site, Error> {
    actor
        .require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "site", "update")
        .await?;
    let mut s = new_site(establishment_id, input);
    let mut tx = db.begin().await?;
    let before: Site = tx
        .lock(&format!("SELECT {SITE_COLS} FROM sites WHERE establishment_id = $1 AND id = $2"), &args![establishment_id, site_id])
        .await?
        .ok_or(Error::NotFound("Site"))?;
    if before.version != version {
        return Err(Error::stale("Ce site"));
    }
    s.id = site_id;
    s.version = version + 1;
    tx.exec_one(
        "UPDATE sites SET code = $1, name = $2, kind = $3, address_line1 = $4, postcode = $5, city = $6, active = $7, updated_at = $8, \
         version = version + 1 WHERE id = $9 AND version = $10",
        &args![s.code.clone(), s.name.clone(), s.kind.code(), s.address_line1.clone(), s.postcode.clone(), s.city.clone(), s.active, now_text(), site_id, version],
        &Error::stale("Ce site").to_string(),
    )
    .await
    .map_err(unique_field)?;
    tx.audit(
        actor,
        AuditEvent::new("site", "update").id(site_id).at(Some(establishment_id), Some(site_id)).changes(diff(&site_json(&before), &site_json(&s))),
    );
    bump_config(&mut tx, establishment_id).await?;
    tx.commit().await?;
    Ok(s)
}

// ---------------------------------------------------------------- numbering series

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct Series {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub label: String,
    pub mask: String,
    /// Changes with every write; an edit sends the version it read.
    pub version: i64,
}

const SERIES_COLS: &str = "id, establishment_id, code, label, mask, version";

fn series_json(s: &Series) -> serde_json::Value {
    without(serde_json::to_value(s).unwrap_or_default(), &["version"])
}

pub async fn list_series(db: &Db, actor: &Actor, establishment_id: i64) -> Result<Vec<Series>, Error> {
    actor
        .require(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), "series", "list")
        .await?;
    let mut tx = db.read().await?;
    let s = tx
        .all(
            &format!("SELECT {SERIES_COLS} FROM numbering_series WHERE establishment_id = $1 ORDER BY code"),
            &args![establishment_id],
        )
        .await?;
    tx.rollback().await?;
    Ok(s)
}

/// Creates (`version = None`) or changes (`Some(version read)`) the series `code` (label, mask),
/// parsed with [`parse_series`]. A new series whose code exists is a field error on `code`; a
/// change whose version is no longer current is a 409. Changing a mask only affects numbers
/// allocated afterwards; the counter goes on.
pub async fn save_series(db: &Db, actor: &Actor, establishment_id: i64, version: Option<i64>, input: &ParsedSeries) -> Result<Series, Error> {
    actor
        .require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "series", "save")
        .await?;
    let (code, label, mask) = (input.code.clone(), input.label.clone(), input.mask.as_str().to_string());
    let mut tx = db.begin().await?;
    load(&mut tx, establishment_id).await?;
    let now = now_text();
    let (before, s) = match version {
        Some(v) => {
            let b: Series = tx
                .lock(
                    &format!("SELECT {SERIES_COLS} FROM numbering_series WHERE establishment_id = $1 AND code = $2"),
                    &args![establishment_id, code.clone()],
                )
                .await?
                .ok_or(Error::NotFound("Série de numérotation"))?;
            if b.version != v {
                return Err(Error::stale("Cette série"));
            }
            tx.exec_one(
                "UPDATE numbering_series SET label = $1, mask = $2, updated_at = $3, version = version + 1 WHERE id = $4 AND version = $5",
                &args![label.clone(), mask.clone(), now, b.id, v],
                &Error::stale("Cette série").to_string(),
            )
            .await?;
            let s = Series { id: b.id, establishment_id, code, label, mask, version: v + 1 };
            (Some(b), s)
        }
        None => {
            let id = tx
                .int(
                    "INSERT INTO numbering_series (establishment_id, code, label, mask, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $5, 1) RETURNING id",
                    &args![establishment_id, code.clone(), label.clone(), mask.clone(), now],
                )
                .await
                .map_err(unique_field)?;
            (None, Series { id, establishment_id, code, label, mask, version: 1 })
        }
    };
    tx.audit(
        actor,
        AuditEvent::new("series", if before.is_some() { "update" } else { "create" })
            .id(s.id)
            .at(Some(establishment_id), None)
            .changes(diff(&before.as_ref().map(series_json).unwrap_or_default(), &series_json(&s))),
    );
    tx.commit().await?;
    Ok(s)
}
