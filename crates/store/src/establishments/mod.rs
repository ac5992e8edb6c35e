//! Establishments, sites and numbering series.

use quittance_domain::access::{Permission, Scope};
use quittance_domain::legal_ids;
use quittance_domain::money::Currency;
use quittance_domain::numbering::SeriesMask;
use quittance_domain::validation::FieldErrors;
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;

pub use quittance_domain::establishments::{KINDS, SITE_KINDS};

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub struct Establishment {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub siret: Option<String>,
    pub finess: Option<String>,
    pub ridet: Option<String>,
    pub currency: String,
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
}

/// What a form or an API call sends; every field is text, parsed here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EstablishmentInput {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub siret: String,
    pub finess: String,
    pub ridet: String,
    pub currency: String,
    pub timezone: String,
    pub address_line1: String,
    pub address_line2: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    pub email: String,
}

impl EstablishmentInput {
    pub fn from_establishment(e: &Establishment) -> Self {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        EstablishmentInput {
            code: e.code.clone(),
            name: e.name.clone(),
            kind: e.kind.clone(),
            siret: s(&e.siret),
            finess: s(&e.finess),
            ridet: s(&e.ridet),
            currency: e.currency.clone(),
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

    /// Parses into a valid establishment (id 0), or the list of field errors.
    pub fn parse(&self) -> Result<Establishment, FieldErrors> {
        let mut e = FieldErrors::new();
        let code = e.required("code", &self.code, 20).to_uppercase();
        if !code.is_empty() && !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            e.add("code", "Lettres, chiffres, « - » et « _ » uniquement.");
        }
        let name = e.required("name", &self.name, 200);
        let kind = self.kind.trim().to_string();
        if !KINDS.iter().any(|(k, _)| *k == kind) {
            e.add("kind", "Type d'établissement inconnu.");
        }
        let currency = match Currency::from_code(self.currency.trim()) {
            Some(c) => c.code().to_string(),
            None => {
                e.add("currency", "Devise attendue : EUR ou XPF.");
                String::new()
            }
        };
        let timezone = self.timezone.trim().to_string();
        if jiff::tz::TimeZone::get(&timezone).is_err() {
            e.add("timezone", "Fuseau horaire inconnu (ex. Europe/Paris, Pacific/Noumea).");
        }
        let mut legal = |field: &str, v: &str, f: fn(&str) -> Result<String, String>| -> Option<String> {
            if v.trim().is_empty() {
                return None;
            }
            match f(v) {
                Ok(n) => Some(n),
                Err(m) => {
                    e.add(field, m);
                    None
                }
            }
        };
        let siret = legal("siret", &self.siret, legal_ids::validate_siret);
        let finess = legal("finess", &self.finess, legal_ids::validate_finess);
        let ridet = legal("ridet", &self.ridet, legal_ids::validate_ridet);
        if currency == "EUR" && ridet.is_some() {
            e.add("ridet", "Le RIDET est un identifiant néo-calédonien (établissement en XPF).");
        }
        if currency == "XPF" && (siret.is_some() || finess.is_some()) && ridet.is_none() {
            e.add("ridet", "Un établissement en XPF (Nouvelle-Calédonie) s'identifie par son RIDET.");
        }
        let address_line1 = e.optional("address_line1", &self.address_line1, 200);
        let address_line2 = e.optional("address_line2", &self.address_line2, 200);
        let postcode = e.optional("postcode", &self.postcode, 10);
        if let Some(p) = &postcode {
            if p.len() != 5 || !p.chars().all(|c| c.is_ascii_digit()) {
                e.add("postcode", "Code postal : 5 chiffres.");
            } else if currency == "XPF" && !p.starts_with("988") {
                e.add("postcode", "Les codes postaux de Nouvelle-Calédonie commencent par 988.");
            }
        }
        let city = e.optional("city", &self.city, 100);
        let country = {
            let c = self.country.trim();
            if c.is_empty() { "France".to_string() } else { c.to_string() }
        };
        let phone = e.optional("phone", &self.phone, 30);
        let email = e.optional("email", &self.email, 200);
        if let Some(m) = &email
            && (!m.contains('@') || m.starts_with('@') || m.ends_with('@')) {
                e.add("email", "Adresse électronique invalide.");
            }
        e.into_result()?;
        Ok(Establishment {
            id: 0,
            code,
            name,
            kind,
            siret,
            finess,
            ridet,
            currency,
            timezone,
            address_line1,
            address_line2,
            postcode,
            city,
            country,
            phone,
            email,
            active: true,
            version: 0,
        })
    }
}

const EST_COLS: &str =
    "id, code, name, kind, siret, finess, ridet, currency, timezone, address_line1, address_line2, postcode, city, country, phone, email, active, version";

fn est_json(e: &Establishment) -> serde_json::Value {
    without(serde_json::to_value(e).unwrap_or_default(), &["id", "version"])
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
pub async fn create(db: &Db, actor: &Actor, input: &EstablishmentInput) -> Result<Establishment, Error> {
    actor.require(db, Permission::ManageEstablishments, Scope::Global, "establishment", "create").await?;
    let mut e = input.parse()?;
    let mut tx = db.begin().await?;
    let now = now_text();
    e.version = 1;
    e.id = tx
        .int(
            "INSERT INTO establishments (code, name, kind, siret, finess, ridet, currency, timezone, address_line1, address_line2, postcode, city, country, phone, email, active, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, 1) RETURNING id",
            &args![
                e.code.clone(), e.name.clone(), e.kind.clone(), e.siret.clone(), e.finess.clone(), e.ridet.clone(),
                e.currency.clone(), e.timezone.clone(), e.address_line1.clone(), e.address_line2.clone(),
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
pub async fn update(db: &Db, actor: &Actor, id: i64, version: i64, input: &EstablishmentInput) -> Result<Establishment, Error> {
    actor.require(db, Permission::ManageEstablishments, Scope::Establishment(id), "establishment", "update").await?;
    let mut e = input.parse()?;
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
            e.code.clone(), e.name.clone(), e.kind.clone(), e.siret.clone(), e.finess.clone(), e.ridet.clone(),
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

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub struct Site {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub address_line1: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub active: bool,
    /// Changes with every write; an edit sends the version it read.
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteInput {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub address_line1: String,
    pub postcode: String,
    pub city: String,
    pub active: Option<bool>,
}

impl SiteInput {
    pub fn from_site(s: &Site) -> Self {
        SiteInput {
            code: s.code.clone(),
            name: s.name.clone(),
            kind: s.kind.clone(),
            address_line1: s.address_line1.clone().unwrap_or_default(),
            postcode: s.postcode.clone().unwrap_or_default(),
            city: s.city.clone().unwrap_or_default(),
            active: Some(s.active),
        }
    }

    pub fn parse(&self, establishment_id: i64) -> Result<Site, FieldErrors> {
        let mut e = FieldErrors::new();
        let code = e.required("code", &self.code, 20).to_uppercase();
        if !code.is_empty() && !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            e.add("code", "Lettres, chiffres, « - » et « _ » uniquement.");
        }
        let name = e.required("name", &self.name, 200);
        let kind = self.kind.trim().to_string();
        if !SITE_KINDS.iter().any(|(k, _)| *k == kind) {
            e.add("kind", "Type de site inconnu.");
        }
        let address_line1 = e.optional("address_line1", &self.address_line1, 200);
        let postcode = e.optional("postcode", &self.postcode, 10);
        if let Some(p) = &postcode
            && (p.len() != 5 || !p.chars().all(|c| c.is_ascii_digit())) {
                e.add("postcode", "Code postal : 5 chiffres.");
            }
        let city = e.optional("city", &self.city, 100);
        e.into_result()?;
        Ok(Site {
            id: 0,
            establishment_id,
            code,
            name,
            kind,
            address_line1,
            postcode,
            city,
            active: self.active.unwrap_or(true),
            version: 0,
        })
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

pub async fn create_site(db: &Db, actor: &Actor, establishment_id: i64, input: &SiteInput) -> Result<Site, Error> {
    actor
        .require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "site", "create")
        .await?;
    let mut s = input.parse(establishment_id)?;
    let mut tx = db.begin().await?;
    load(&mut tx, establishment_id).await?;
    let now = now_text();
    s.version = 1;
    s.id = tx
        .int(
            "INSERT INTO sites (establishment_id, code, name, kind, address_line1, postcode, city, active, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1) RETURNING id",
            &args![establishment_id, s.code.clone(), s.name.clone(), s.kind.clone(), s.address_line1.clone(), s.postcode.clone(), s.city.clone(), s.active, now],
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
    input: &SiteInput,
) -> Result<Site, Error> {
    actor
        .require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "site", "update")
        .await?;
    let mut s = input.parse(establishment_id)?;
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
        &args![s.code.clone(), s.name.clone(), s.kind.clone(), s.address_line1.clone(), s.postcode.clone(), s.city.clone(), s.active, now_text(), site_id, version],
        &Error::stale("Ce site").to_string(),
    )
    .await
    .map_err(unique_field)?;
    tx.audit(
        actor,
        AuditEvent::new("site", "update").id(site_id).at(Some(establishment_id), Some(site_id)).changes(diff(&site_json(&before), &site_json(&s))),
    );
    tx.commit().await?;
    Ok(s)
}

// ---------------------------------------------------------------- numbering series

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
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

/// Creates (`version = None`) or changes (`Some(version read)`) the series `code` (label, mask).
/// A new series whose code exists is a field error on `code`; a change whose version is no
/// longer current is a 409. Changing a mask only affects numbers allocated afterwards; the
/// counter goes on.
pub async fn save_series(
    db: &Db,
    actor: &Actor,
    establishment_id: i64,
    version: Option<i64>,
    code: &str,
    label: &str,
    mask: &str,
) -> Result<Series, Error> {
    actor
        .require(db, Permission::ManageEstablishments, Scope::Establishment(establishment_id), "series", "save")
        .await?;
    let mut e = FieldErrors::new();
    let code = e.required("code", code, 10).to_uppercase();
    if !code.is_empty() && !code.chars().all(|c| c.is_ascii_uppercase()) {
        e.add("code", "Lettres majuscules uniquement (ex. FAC, AV, REC).");
    }
    let label = e.required("label", label, 100);
    let mask = e.required("mask", mask, 60);
    if !mask.is_empty()
        && let Err(m) = SeriesMask::parse(&mask) {
            e.add("mask", m.to_string());
        }
    e.into_result()?;
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
