//! Annexed services (TV, telephone): a site's offer, a patient's subscriptions (opened and
//! closed with dates, line or device number, debtor) and their call units.

use jiff::civil::Date;
use quittance_domain::access::{Permission, Scope};
use quittance_domain::activity::{Debtor, ServiceKind, Subscription, Units};
use quittance_domain::billing::tariffs::{TariffCategory, TariffLine};
use quittance_domain::fr::format_date_fr;
use quittance_domain::validation::FieldErrors;
use serde::Serialize;

use super::{ParsedOffer, ParsedSubscription, ParsedUnits, decode_opt_date, external_taken, site_errors};
use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, now_text};
use crate::error::Error;
use crate::patients;
use crate::shared::rows::{decode, decode_date};

// ---------------------------------------------------------------- offers

/// What a site proposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Offer {
    pub id: i64,
    pub establishment_id: i64,
    pub site_id: i64,
    /// Tariff codes; empty: not proposed.
    pub tv_code: String,
    pub phone_activation_code: String,
    pub phone_unit_code: String,
    pub active: bool,
    pub version: i64,
}

impl Offer {
    /// Whether the offer proposes `kind`.
    pub fn proposes(&self, kind: ServiceKind) -> bool {
        self.active && (!kind.has_tv() || !self.tv_code.is_empty()) && (!kind.has_phone() || !self.phone_unit_code.is_empty())
    }
}

const OFFER_COLS: &str = "id, establishment_id, site_id, tv_code, phone_activation_code, phone_unit_code, active, version";

/// The establishment's offers, by site (every role of it reads them).
pub async fn list_offers(db: &Db, actor: &Actor, establishment_id: i64) -> Result<Vec<Offer>, Error> {
    actor.require(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), "service_offer", "list").await?;
    let mut tx = db.read().await?;
    let v = tx.all(&format!("SELECT {OFFER_COLS} FROM service_offers WHERE establishment_id = $1 ORDER BY site_id"), &args![establishment_id]).await?;
    tx.rollback().await?;
    Ok(v)
}

/// One offer of the establishment.
pub async fn get_offer(db: &Db, actor: &Actor, establishment_id: i64, id: i64) -> Result<Offer, Error> {
    actor.require(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), "service_offer", "read").await?;
    let mut tx = db.read().await?;
    let o: Option<Offer> = tx.opt(&format!("SELECT {OFFER_COLS} FROM service_offers WHERE id = $1 AND establishment_id = $2"), &args![id, establishment_id]).await?;
    tx.rollback().await?;
    o.ok_or(Error::NotFound("Offre"))
}

fn code_check(lines: &[TariffLine], field: &str, code: &str, category: TariffCategory, e: &mut FieldErrors) {
    if code.is_empty() {
        return;
    }
    match lines.iter().find(|l| l.code == code) {
        None => e.add(field, format!("Aucun tarif « {code} » dans l'établissement.")),
        Some(l) if l.category != category => e.add(field, format!("Le tarif « {code} » est un tarif « {} », pas « {} ».", l.category.label(), category.label())),
        Some(_) => {}
    }
}

fn offer_json(o: &ParsedOffer) -> serde_json::Value {
    serde_json::json!({ "site_id": o.site_id, "tv_code": o.tv_code, "phone_activation_code": o.phone_activation_code, "phone_unit_code": o.phone_unit_code, "active": o.active })
}

/// Creates (`edit = None`) or changes (`edit`: id and the version read) a site's offer. Each
/// code must be a tariff of the establishment of the right category; one offer per site.
pub async fn save_offer(db: &Db, actor: &Actor, establishment_id: i64, edit: Option<(i64, i64)>, input: &ParsedOffer) -> Result<Offer, Error> {
    crate::billing::require_manage(db, actor, establishment_id, "service_offer", if edit.is_some() { "update" } else { "add" }).await?;
    let mut tx = db.begin().await?;
    crate::billing::lock_establishment(&mut tx, establishment_id).await?;
    let before: Option<Offer> = match edit {
        None => None,
        Some((id, version)) => {
            let o: Offer = tx
                .lock(&format!("SELECT {OFFER_COLS} FROM service_offers WHERE id = $1 AND establishment_id = $2"), &args![id, establishment_id])
                .await?
                .ok_or(Error::NotFound("Offre"))?;
            if o.version != version {
                return Err(Error::stale("Cette offre"));
            }
            Some(o)
        }
    };
    let mut e = FieldErrors::new();
    if tx.int("SELECT COUNT(*) FROM sites WHERE id = $1 AND establishment_id = $2", &args![input.site_id, establishment_id]).await? == 0 {
        e.add("site_id", "Ce site n'appartient pas à l'établissement.");
    }
    if before.as_ref().is_some_and(|b| b.site_id != input.site_id) {
        e.add("site_id", "Une offre reste celle de son site.");
    }
    let lines: Vec<TariffLine> = crate::billing::tariffs::all_in(&mut tx, establishment_id).await?.into_iter().map(|t| t.line).collect();
    code_check(&lines, "tv_code", &input.tv_code, TariffCategory::Television, &mut e);
    code_check(&lines, "phone_activation_code", &input.phone_activation_code, TariffCategory::TelephoneActivation, &mut e);
    code_check(&lines, "phone_unit_code", &input.phone_unit_code, TariffCategory::TelephoneUnite, &mut e);
    e.into_result()?;
    let now = now_text();
    let (id, action, old) = match &before {
        None => {
            let id = tx
                .int(
                    "INSERT INTO service_offers (establishment_id, site_id, tv_code, phone_activation_code, phone_unit_code, active, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                    &args![establishment_id, input.site_id, input.tv_code.clone(), input.phone_activation_code.clone(), input.phone_unit_code.clone(), input.active, now],
                )
                .await
                .map_err(|e| match e.constraint().as_deref() {
                    Some("service_offers_site_id_key") => Error::invalid("site_id", "Ce site a déjà une offre : modifiez-la."),
                    _ => e,
                })?;
            (id, "add", serde_json::json!({}))
        }
        Some(b) => {
            tx.exec_one(
                "UPDATE service_offers SET tv_code = $1, phone_activation_code = $2, phone_unit_code = $3, active = $4, updated_at = $5, version = version + 1 \
                 WHERE id = $6 AND version = $7",
                &args![input.tv_code.clone(), input.phone_activation_code.clone(), input.phone_unit_code.clone(), input.active, now, b.id, b.version],
                &Error::stale("Cette offre").to_string(),
            )
            .await?;
            let old = serde_json::json!({ "site_id": b.site_id, "tv_code": b.tv_code, "phone_activation_code": b.phone_activation_code, "phone_unit_code": b.phone_unit_code, "active": b.active });
            (b.id, "update", old)
        }
    };
    tx.audit(actor, AuditEvent::new("service_offer", action).id(id).at(Some(establishment_id), Some(input.site_id)).changes(diff(&old, &offer_json(input))));
    let o: Offer = tx.one(&format!("SELECT {OFFER_COLS} FROM service_offers WHERE id = $1"), &args![id]).await?;
    tx.commit().await?;
    Ok(o)
}

// ---------------------------------------------------------------- subscriptions

/// A subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubscription {
    pub id: i64,
    pub establishment_id: i64,
    pub patient_id: i64,
    pub stay_id: Option<i64>,
    pub line_number: String,
    pub debtor: Debtor,
    /// What valuation reads: site, kind, the offer's codes, the dates.
    pub sub: Subscription,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: i64,
    establishment_id: i64,
    site_id: i64,
    patient_id: i64,
    stay_id: Option<i64>,
    kind: String,
    tv_code: String,
    phone_activation_code: String,
    phone_unit_code: String,
    line_number: String,
    debtor_id: Option<i64>,
    debtor_name: String,
    opened_on: String,
    closed_on: Option<String>,
    version: i64,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for StoredSubscription
where
    SubscriptionRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = SubscriptionRow::from_row(row)?;
        let debtor = match (r.debtor_id, r.debtor_name.is_empty()) {
            (Some(id), _) => Debtor::File(id),
            (None, false) => Debtor::Person(r.debtor_name),
            (None, true) => Debtor::Patient,
        };
        Ok(StoredSubscription {
            id: r.id,
            establishment_id: r.establishment_id,
            patient_id: r.patient_id,
            stay_id: r.stay_id,
            line_number: r.line_number,
            debtor,
            sub: Subscription {
                id: r.id,
                site_id: r.site_id,
                kind: decode(r.kind)?,
                tv_code: r.tv_code,
                phone_activation_code: r.phone_activation_code,
                phone_unit_code: r.phone_unit_code,
                opened_on: decode_date(&r.opened_on)?,
                closed_on: decode_opt_date(r.closed_on.as_deref())?,
            },
            version: r.version,
        })
    }
}

pub(crate) const SUB_COLS: &str = "id, establishment_id, site_id, patient_id, stay_id, kind, tv_code, phone_activation_code, phone_unit_code, line_number, \
    debtor_id, debtor_name, opened_on, closed_on, version";

/// Call units as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUnits {
    pub id: i64,
    pub subscription_id: i64,
    pub units: Units,
    pub external_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct UnitsRow {
    id: i64,
    subscription_id: i64,
    used_on: String,
    units: i64,
    external_id: Option<String>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for StoredUnits
where
    UnitsRow: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = UnitsRow::from_row(row)?;
        let units = u32::try_from(r.units).map_err(|_| sqlx::Error::Decode(format!("unités hors limites : {}", r.units).into()))?;
        Ok(StoredUnits { id: r.id, subscription_id: r.subscription_id, units: Units { date: decode_date(&r.used_on)?, units }, external_id: r.external_id })
    }
}

const UNITS_COLS: &str = "id, subscription_id, used_on, units, external_id";

/// A subscription with its call units, as a patient's file lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionWithUnits {
    pub subscription: StoredSubscription,
    pub units: Vec<StoredUnits>,
}

fn what(s: &Subscription) -> String {
    s.kind.label().to_lowercase()
}

/// Opens a subscription of the patient at a site, with the site's offer's codes (which must
/// propose the kind asked). The stay, when given, must be the patient's; a debtor of the file
/// must be one of its active debtors.
pub async fn open(db: &Db, actor: &Actor, patient_id: i64, input: &ParsedSubscription) -> Result<StoredSubscription, Error> {
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let est = patient.establishment_id;
    let mut tx = db.begin().await?;
    let mut e = FieldErrors::new();
    site_errors(&mut tx, actor, est, input.site_id, &mut e).await?;
    let offer: Option<Offer> = tx.opt(&format!("SELECT {OFFER_COLS} FROM service_offers WHERE site_id = $1 AND establishment_id = $2"), &args![input.site_id, est]).await?;
    match &offer {
        None if e.get("site_id").is_none() => e.add("site_id", "Ce site ne propose ni télévision ni téléphone (aucune offre)."),
        Some(o) if !o.proposes(input.kind) => e.add("kind", format!("L'offre de ce site ne propose pas : {}.", input.kind.label().to_lowercase())),
        _ => {}
    }
    if let Some(stay) = input.stay_id {
        let ok: Option<(Option<String>,)> = tx.opt("SELECT discharge_at FROM stays WHERE id = $1 AND patient_id = $2", &args![stay, patient_id]).await?;
        match ok {
            None => e.add("stay_id", "Ce séjour n'est pas celui du patient."),
            Some((Some(d),)) if d.get(..10).is_some_and(|d| d < input.opened_on.to_string().as_str()) => {
                e.add("opened_on", format!("Le séjour s'est terminé le {} : l'abonnement ne peut pas ouvrir après.", crate::shared::rows::decode_date(&d[..10]).map(format_date_fr).unwrap_or_default()))
            }
            Some(_) => {}
        }
    }
    if let Debtor::File(d) = &input.debtor {
        let n = tx.int("SELECT COUNT(*) FROM debtors WHERE id = $1 AND patient_id = $2 AND active = $3", &args![*d, patient_id, true]).await?;
        if n == 0 {
            e.add("debtor", "Ce débiteur n'est pas un débiteur actif du dossier.");
        }
    }
    e.into_result()?;
    let offer = offer.ok_or_else(|| Error::invalid("site_id", "Ce site n'a pas d'offre."))?;
    let (tv, act, unit) = (
        if input.kind.has_tv() { offer.tv_code.clone() } else { String::new() },
        if input.kind.has_phone() { offer.phone_activation_code.clone() } else { String::new() },
        if input.kind.has_phone() { offer.phone_unit_code.clone() } else { String::new() },
    );
    let (debtor_id, debtor_name) = match &input.debtor {
        Debtor::Patient => (None, String::new()),
        Debtor::File(id) => (Some(*id), String::new()),
        Debtor::Person(n) => (None, n.clone()),
    };
    let now = now_text();
    let id = tx
        .int(
            "INSERT INTO service_subscriptions (establishment_id, site_id, patient_id, stay_id, kind, tv_code, phone_activation_code, phone_unit_code, line_number, \
             debtor_id, debtor_name, opened_on, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
            &args![est, input.site_id, patient_id, input.stay_id, input.kind.code(), tv, act, unit, input.line_number.clone(), debtor_id, debtor_name, input.opened_on.to_string(), now],
        )
        .await?;
    tx.audit(
        actor,
        AuditEvent::new("patient", "open_subscription").id(patient_id).at(Some(est), Some(input.site_id)).changes(serde_json::json!({
            "abonnement_id": [null, id],
            "prestation": [null, input.kind.code()],
            "sejour": [null, input.stay_id],
            "ligne": [null, input.line_number],
            "debiteur": [null, input.debtor.label_fr()],
            "ouvert_le": [null, input.opened_on.to_string()],
        })),
    );
    let s: StoredSubscription = tx.one(&format!("SELECT {SUB_COLS} FROM service_subscriptions WHERE id = $1"), &args![id]).await?;
    tx.commit().await?;
    Ok(s)
}

/// Why a subscription cannot close on `day` (before its opening; units entered after it).
async fn closing_error(tx: &mut Tx, s: &StoredSubscription, day: Date) -> Result<Option<String>, Error> {
    if day < s.sub.opened_on {
        return Ok(Some(format!("L'abonnement a ouvert le {} : il ne peut pas se clore avant.", format_date_fr(s.sub.opened_on))));
    }
    let last: Option<(Option<String>,)> = tx.opt("SELECT MAX(used_on) FROM service_units WHERE subscription_id = $1", &args![s.id]).await?;
    if let Some((Some(last),)) = last
        && last.as_str() > day.to_string().as_str()
    {
        let l = decode_date(&last).map(format_date_fr).unwrap_or(last);
        return Ok(Some(format!("Des unités sont saisies le {l}, après ce jour : l'abonnement ne peut pas se clore avant.")));
    }
    Ok(None)
}

/// Closes an open subscription on `day` (its last day of service, counted); `version` is the
/// one read (a stale one is a conflict).
pub async fn close(db: &Db, actor: &Actor, patient_id: i64, subscription_id: i64, version: i64, day: Date) -> Result<StoredSubscription, Error> {
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let s: StoredSubscription = tx
        .lock(&format!("SELECT {SUB_COLS} FROM service_subscriptions WHERE id = $1 AND patient_id = $2"), &args![subscription_id, patient_id])
        .await?
        .ok_or(Error::NotFound("Abonnement"))?;
    if s.version != version {
        return Err(Error::stale("Cet abonnement"));
    }
    if let Some(c) = s.sub.closed_on {
        return Err(Error::invalid("closed_on", format!("Cet abonnement est déjà clos depuis le {}.", format_date_fr(c))));
    }
    if let Some(m) = closing_error(&mut tx, &s, day).await? {
        return Err(Error::invalid("closed_on", m));
    }
    close_row(&mut tx, actor, patient.establishment_id, &s, day, "close_subscription").await?;
    let s: StoredSubscription = tx.one(&format!("SELECT {SUB_COLS} FROM service_subscriptions WHERE id = $1"), &args![subscription_id]).await?;
    tx.commit().await?;
    Ok(s)
}

async fn close_row(tx: &mut Tx, actor: &Actor, est: i64, s: &StoredSubscription, day: Date, action: &str) -> Result<(), Error> {
    tx.exec_one(
        "UPDATE service_subscriptions SET closed_on = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4 AND closed_on IS NULL",
        &args![day.to_string(), now_text(), s.id, s.version],
        &Error::stale("Cet abonnement").to_string(),
    )
    .await?;
    tx.audit(
        actor,
        AuditEvent::new("patient", action)
            .id(s.patient_id)
            .at(Some(est), Some(s.sub.site_id))
            .changes(serde_json::json!({ "abonnement_id": [null, s.id], "clos_le": [null, day.to_string()] })),
    );
    Ok(())
}

/// Closes the stay's open subscriptions on `at` (the discharge day, counted), in the caller's
/// transaction (the stay's discharge), each locked and written at its version with its audit
/// row; returns one French sentence per subscription met: closed, or left open and why (one
/// opened after the discharge day, or with units entered after it, stays open for a person to
/// look at). `actor` is the one discharging (the audit rows name it).
pub async fn close_open_for_stay(tx: &mut Tx, actor: &Actor, stay_id: i64, at: Date) -> Result<Vec<String>, Error> {
    let sql = format!("SELECT {SUB_COLS} FROM service_subscriptions WHERE stay_id = $1 AND closed_on IS NULL ORDER BY id");
    let open: Vec<StoredSubscription> = match tx.backend() {
        crate::db::Backend::Postgres => tx.all(&format!("{sql} FOR UPDATE"), &args![stay_id]).await?,
        crate::db::Backend::Sqlite => tx.all(&sql, &args![stay_id]).await?,
    };
    let mut warnings = Vec::new();
    for s in &open {
        let line = if s.line_number.is_empty() { String::new() } else { format!(", ligne {}", s.line_number) };
        match closing_error(tx, s, at).await? {
            Some(why) => warnings.push(format!("Abonnement n° {} ({}{line}) laissé ouvert à la sortie du {} : {why} Closez-le à la main.", s.id, what(&s.sub), format_date_fr(at))),
            None => {
                close_row(tx, actor, s.establishment_id, s, at, "close_subscription_discharge").await?;
                warnings.push(format!("Abonnement n° {} ({}{line}) clos le {} avec la sortie du séjour.", s.id, what(&s.sub), format_date_fr(at)));
            }
        }
    }
    Ok(warnings)
}

/// Adds call units to a telephone subscription, on a day it was open. Units whose external id
/// the establishment already has are the same units: nothing is written, `false` returned.
pub async fn add_units(db: &Db, actor: &Actor, patient_id: i64, subscription_id: i64, input: &ParsedUnits) -> Result<(StoredUnits, bool), Error> {
    let (patient, _) = patients::write_access(db, actor, patient_id).await?;
    let mut tx = db.begin().await?;
    let (id, created) = add_units_in(&mut tx, actor, (patient.id, patient.establishment_id), subscription_id, input).await?;
    let u: StoredUnits = tx.one(&format!("SELECT {UNITS_COLS} FROM service_units WHERE id = $1"), &args![id]).await?;
    tx.commit().await?;
    Ok((u, created))
}

pub(crate) async fn add_units_in(tx: &mut Tx, actor: &Actor, (patient_id, est): (i64, i64), subscription_id: i64, input: &ParsedUnits) -> Result<(i64, bool), Error> {
    // The subscription locked: a closing waits for the units, or the units see it closed.
    let s: StoredSubscription = tx
        .lock(&format!("SELECT {SUB_COLS} FROM service_subscriptions WHERE id = $1 AND patient_id = $2"), &args![subscription_id, patient_id])
        .await?
        .ok_or(Error::NotFound("Abonnement"))?;
    if let Some(x) = &input.external_id {
        let same: Option<(i64, i64)> = tx.opt("SELECT id, subscription_id FROM service_units WHERE establishment_id = $1 AND external_id = $2", &args![est, x.clone()]).await?;
        match same {
            Some((id, sid)) if sid == s.id => return Ok((id, false)),
            Some(_) => return Err(Error::invalid("external_id", "Cet identifiant externe est celui d'unités d'un autre abonnement.")),
            None => {}
        }
    }
    let mut e = FieldErrors::new();
    if !actor.allows(Permission::WritePatients, Scope::Site { establishment_id: est, site_id: s.sub.site_id }) {
        e.add("units", "Vous ne pouvez pas saisir d'activité sur ce site.");
    }
    if !s.sub.kind.has_phone() {
        e.add("units", "Cet abonnement n'a pas de téléphone.");
    }
    if input.used_on < s.sub.opened_on || s.sub.closed_on.is_some_and(|c| input.used_on > c) {
        let until = s.sub.closed_on.map(|c| format!(" au {}", format_date_fr(c))).unwrap_or_else(|| " (toujours ouvert)".into());
        e.add("used_on", format!("L'abonnement est ouvert du {}{until} : ce jour n'en fait pas partie.", format_date_fr(s.sub.opened_on)));
    }
    e.into_result()?;
    let id = tx
        .int(
            "INSERT INTO service_units (establishment_id, subscription_id, used_on, units, external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &args![est, s.id, input.used_on.to_string(), i64::from(input.units), input.external_id.clone(), now_text()],
        )
        .await
        .map_err(|e| external_taken(e, "saisie d'unités"))?;
    tx.audit(
        actor,
        AuditEvent::new("patient", "add_units").id(patient_id).at(Some(est), Some(s.sub.site_id)).changes(serde_json::json!({
            "abonnement_id": [null, s.id], "le": [null, input.used_on.to_string()], "unites": [null, input.units], "identifiant_externe": [null, input.external_id],
        })),
    );
    Ok((id, true))
}

/// The patient's subscriptions (newest first) with their units. The view is audited (`view_services`).
pub async fn list(db: &Db, actor: &Actor, patient_id: i64) -> Result<Vec<SubscriptionWithUnits>, Error> {
    let file = patients::checked(db, actor, patient_id, "view_services").await?;
    let mut tx = db.read().await?;
    let v = list_checked(&mut tx, &file).await?;
    tx.rollback().await?;
    patients::audit_view(db, actor, &file, "view_services", serde_json::json!({})).await?;
    Ok(v)
}

/// [`list`] for a file already checked and viewed in this request.
pub async fn list_checked(tx: &mut Tx, file: &patients::Checked) -> Result<Vec<SubscriptionWithUnits>, Error> {
    of_patient(tx, file.id()).await
}

pub(crate) async fn of_patient(tx: &mut Tx, patient_id: i64) -> Result<Vec<SubscriptionWithUnits>, Error> {
    let subs: Vec<StoredSubscription> = tx.all(&format!("SELECT {SUB_COLS} FROM service_subscriptions WHERE patient_id = $1 ORDER BY opened_on DESC, id DESC"), &args![patient_id]).await?;
    let units: Vec<StoredUnits> = tx
        .all(
            "SELECT u.id, u.subscription_id, u.used_on, u.units, u.external_id FROM service_units u \
             JOIN service_subscriptions s ON s.id = u.subscription_id WHERE s.patient_id = $1 ORDER BY u.used_on, u.id",
            &args![patient_id],
        )
        .await?;
    Ok(subs
        .into_iter()
        .map(|s| {
            let u = units.iter().filter(|u| u.subscription_id == s.id).cloned().collect();
            SubscriptionWithUnits { subscription: s, units: u }
        })
        .collect())
}
