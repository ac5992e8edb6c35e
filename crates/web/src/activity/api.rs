//! API: a patient's CMS acts, TV and telephone subscriptions and call units, each site's offer,
//! and the valuation of a patient's activity over a period. Bodies are text typed as in the
//! forms (French dates `JJ/MM/AAAA`, coefficients `1,5`); answers give codes, `AAAA-MM-JJ`
//! dates, amounts as French strings and as integer minor units. A stale `version` is a 409; an
//! input error a 422 naming its field.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use quittance_store::activity::{self, ActInput, OfferInput, SubscriptionInput, UnitsInput, acts, services, valuation};
use quittance_store::{Actor, Error};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{Problem, VersionParam, reply};
use crate::extract::{Json, Path, Query};

// ---------------------------------------------------------------- DTOs

/// A CMS act of a patient.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActDto {
    pub id: i64,
    pub patient_id: i64,
    pub site_id: i64,
    /// AAAA-MM-JJ
    pub date: String,
    pub practitioner: String,
    /// Nomenclature (tariff) code.
    pub code: String,
    pub quantity: u32,
    /// French decimal (`1,5`); absent: the tariff's (else 1).
    pub coefficient: Option<String>,
    pub external_id: Option<String>,
    pub cancelled: bool,
    pub cancel_reason: Option<String>,
    /// Send it back as `?version=` to cancel the act.
    pub version: i64,
}

impl From<&acts::StoredAct> for ActDto {
    fn from(a: &acts::StoredAct) -> Self {
        ActDto {
            id: a.id,
            patient_id: a.patient_id,
            site_id: a.site_id,
            date: a.date.to_string(),
            practitioner: a.practitioner.clone(),
            code: a.code.clone(),
            quantity: a.quantity,
            coefficient: a.coefficient.map(|c| c.format_fr()),
            external_id: a.external_id.clone(),
            cancelled: a.cancelled_at.is_some(),
            cancel_reason: a.cancel_reason.clone(),
            version: a.version,
        }
    }
}

/// An act as a client sends it (text, as in the form).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ActBody {
    /// The site (CMS) of the act.
    pub site_id: String,
    /// JJ/MM/AAAA
    pub act_date: String,
    /// Name or code of the practitioner.
    pub practitioner: String,
    /// A tariff code of category `acte_cms` valid on the act's day.
    pub code: String,
    /// Blank: 1.
    pub quantity: String,
    /// `2`, `1,5`; blank: the tariff's (else 1).
    pub coefficient: String,
    /// Unique per establishment: sending it again answers 200 with the act already recorded.
    pub external_id: String,
}

impl From<ActBody> for ActInput {
    fn from(b: ActBody) -> Self {
        ActInput { site_id: b.site_id, act_date: b.act_date, practitioner: b.practitioner, code: b.code, quantity: b.quantity, coefficient: b.coefficient, external_id: b.external_id }
    }
}

/// Why an act is cancelled.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CancelBody {
    pub reason: String,
}

/// What a site proposes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfferDto {
    pub id: i64,
    pub site_id: i64,
    /// Tariff codes (categories television, telephone_activation, telephone_unite); empty: not proposed.
    pub tv_code: String,
    pub phone_activation_code: String,
    pub phone_unit_code: String,
    pub active: bool,
    /// Send it back as `?version=` to change the offer.
    pub version: i64,
}

impl From<&services::Offer> for OfferDto {
    fn from(o: &services::Offer) -> Self {
        OfferDto {
            id: o.id,
            site_id: o.site_id,
            tv_code: o.tv_code.clone(),
            phone_activation_code: o.phone_activation_code.clone(),
            phone_unit_code: o.phone_unit_code.clone(),
            active: o.active,
            version: o.version,
        }
    }
}

/// An offer as a client sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OfferBody {
    pub site_id: String,
    pub tv_code: String,
    pub phone_activation_code: String,
    pub phone_unit_code: String,
    /// `true` (or `on`, `oui`): proposed.
    pub active: String,
}

impl From<OfferBody> for OfferInput {
    fn from(b: OfferBody) -> Self {
        OfferInput { site_id: b.site_id, tv_code: b.tv_code, phone_activation_code: b.phone_activation_code, phone_unit_code: b.phone_unit_code, active: b.active }
    }
}

/// Call units of a subscription.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitsDto {
    pub id: i64,
    pub subscription_id: i64,
    /// AAAA-MM-JJ
    pub used_on: String,
    pub units: u32,
    pub external_id: Option<String>,
}

impl From<&services::StoredUnits> for UnitsDto {
    fn from(u: &services::StoredUnits) -> Self {
        UnitsDto { id: u.id, subscription_id: u.subscription_id, used_on: u.units.date.to_string(), units: u.units.units, external_id: u.external_id.clone() }
    }
}

/// A TV and/or telephone subscription of a patient.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionDto {
    pub id: i64,
    pub patient_id: i64,
    pub site_id: i64,
    pub stay_id: Option<i64>,
    /// tv, telephone, tv_telephone
    pub kind: String,
    /// The offer's codes when it opened.
    pub tv_code: String,
    pub phone_activation_code: String,
    pub phone_unit_code: String,
    pub line_number: String,
    /// A debtor of the file (`debtors.id`), or absent.
    pub debtor_id: Option<i64>,
    /// For people: « Le patient », the named person, or the file's debtor.
    pub debtor: String,
    /// AAAA-MM-JJ
    pub opened_on: String,
    /// AAAA-MM-JJ, absent = open.
    pub closed_on: Option<String>,
    pub units: Vec<UnitsDto>,
    /// Send it back as `?version=` to close it.
    pub version: i64,
}

fn subscription_dto(s: &services::StoredSubscription, units: &[services::StoredUnits]) -> SubscriptionDto {
    SubscriptionDto {
        id: s.id,
        patient_id: s.patient_id,
        site_id: s.sub.site_id,
        stay_id: s.stay_id,
        kind: s.sub.kind.code().into(),
        tv_code: s.sub.tv_code.clone(),
        phone_activation_code: s.sub.phone_activation_code.clone(),
        phone_unit_code: s.sub.phone_unit_code.clone(),
        line_number: s.line_number.clone(),
        debtor_id: match s.debtor {
            quittance_domain::activity::Debtor::File(id) => Some(id),
            _ => None,
        },
        debtor: s.debtor.label_fr(),
        opened_on: s.sub.opened_on.to_string(),
        closed_on: s.sub.closed_on.map(|d| d.to_string()),
        units: units.iter().map(UnitsDto::from).collect(),
        version: s.version,
    }
}

/// A subscription as a client sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SubscriptionBody {
    pub site_id: String,
    /// Blank: no stay.
    pub stay_id: String,
    /// tv, telephone, tv_telephone
    pub kind: String,
    pub line_number: String,
    /// `patient` (or blank), `autre` (with `debtor_name`), or a debtor id of the file.
    pub debtor: String,
    pub debtor_name: String,
    /// JJ/MM/AAAA
    pub opened_on: String,
}

impl From<SubscriptionBody> for SubscriptionInput {
    fn from(b: SubscriptionBody) -> Self {
        SubscriptionInput { site_id: b.site_id, stay_id: b.stay_id, kind: b.kind, line_number: b.line_number, debtor: b.debtor, debtor_name: b.debtor_name, opened_on: b.opened_on }
    }
}

/// Closing a subscription: its last day of service (counted).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CloseSubscriptionBody {
    /// JJ/MM/AAAA
    pub closed_on: String,
}

/// Call units as a client sends them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct UnitsBody {
    /// JJ/MM/AAAA
    pub used_on: String,
    pub units: String,
    /// Unique per establishment: sending it again answers 200 with the units already recorded.
    pub external_id: String,
}

impl From<UnitsBody> for UnitsInput {
    fn from(b: UnitsBody) -> Self {
        UnitsInput { used_on: b.used_on, units: b.units, external_id: b.external_id }
    }
}

/// The period valued, both days included.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct PeriodParams {
    /// AAAA-MM-JJ
    pub from: Option<String>,
    /// AAAA-MM-JJ
    pub to: Option<String>,
}

/// One charge of a patient's activity (the split between payers is not applied here).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityChargeDto {
    pub tariff_id: i64,
    pub code: String,
    pub label: String,
    /// acte_cms, television, telephone_activation, telephone_unite.
    pub category: String,
    /// The days it covers (AAAA-MM-JJ), each once.
    pub days: Vec<String>,
    pub day_count: usize,
    /// Acts, TV days, 1 (activation) or call units.
    pub quantity: i64,
    /// The tariff's price (for an act with a coefficient: the price of coefficient 1), French.
    pub unit_price: String,
    pub unit_price_minor: i64,
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    /// acte_cms, television_par_jour, telephone_mise_en_service, telephone_unites.
    pub rule: String,
    /// For people: « Acte infirmier (par coefficient) AMI 2 × 380 XPF, le 12/11/2026 ».
    pub explanation: String,
    /// Who owes it: the payers of the patient's coverages on its day (CAFAT, mutuelle, aide
    /// médicale with its card's patient share) and the patient or designated debtor; they sum
    /// to the charge.
    pub shares: Vec<crate::care::api::ShareDto>,
}

/// What a patient's acts and annexed services bill over a period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityValuationDto {
    pub patient_id: i64,
    /// AAAA-MM-JJ
    pub from: String,
    /// AAAA-MM-JJ
    pub to: String,
    pub currency: String,
    /// Sum of the charges, French (`12 500 XPF`) and in minor units.
    pub total: String,
    pub total_minor: i64,
    pub charges: Vec<ActivityChargeDto>,
    /// One per party: the sum of its shares.
    pub totals: Vec<crate::care::api::ShareDto>,
    /// Cancelled acts, services still running, units without a tariff.
    pub notes: Vec<String>,
}

fn charge_dto(c: &quittance_domain::billing::valuation::Charge, shares: Vec<crate::care::api::ShareDto>) -> ActivityChargeDto {
    ActivityChargeDto {
        shares,
        tariff_id: c.tariff_id,
        code: c.code.clone(),
        label: c.label.clone(),
        category: c.category.code().into(),
        days: c.days.iter().map(|d| d.to_string()).collect(),
        day_count: c.days.len(),
        quantity: c.quantity,
        unit_price: c.unit_price.format_fr_plain(),
        unit_price_minor: c.unit_price.minor,
        amount: c.amount.format_fr_plain(),
        amount_minor: c.amount.minor,
        currency: c.amount.currency.code().into(),
        rule: c.rule.into(),
        explanation: c.explanation.clone(),
    }
}

fn created_or_ok(created: bool) -> StatusCode {
    if created { StatusCode::CREATED } else { StatusCode::OK }
}

fn iso(field: &str, raw: Option<&str>) -> Result<jiff::civil::Date, Error> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Err(Error::invalid(field, "Date attendue au format AAAA-MM-JJ.")),
        Some(s) => s.parse().map_err(|_| Error::invalid(field, format!("Date attendue au format AAAA-MM-JJ : « {s} »."))),
    }
}

// ---------------------------------------------------------------- handlers

/// The refusal of an offer's change, audited, before its body is read.
async fn may_manage(s: &AppState, a: &Actor, establishment_id: i64, action: &str) -> Result<(), Error> {
    let scope = quittance_domain::access::Scope::Establishment(establishment_id);
    if a.allows(quittance_domain::access::Permission::ManageTariffs, scope) {
        return Ok(());
    }
    Err(a.deny(&s.db, quittance_domain::access::Permission::ManageTariffs, scope, "service_offer", action).await)
}

/// The patient's CMS acts, newest first (cancelled ones too). Audited (`view_acts`).
#[utoipa::path(get, path = "/patients/{id}/acts", params(("id" = i64, Path)), responses((status = 200, body = Vec<ActDto>), (status = 404, body = Problem)))]
pub async fn list_acts(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, acts::list(&s.db, &a, id).await.map(|v| v.iter().map(ActDto::from).collect::<Vec<_>>()))
}

/// Records an act (201); an `external_id` already recorded for this patient answers 200 with that act.
#[utoipa::path(post, path = "/patients/{id}/acts", params(("id" = i64, Path)), request_body = ActBody,
    responses((status = 201, body = ActDto), (status = 200, body = ActDto), (status = 422, body = Problem)))]
pub async fn record_act(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<ActBody>) -> Response {
    // The right first (a refusal audited), then the input.
    let r = match (quittance_store::patients::check_write(&s.db, &a, id).await, activity::parse_act(&body.into())) {
        (Err(e), _) => Err(e),
        (Ok(()), Ok(p)) => acts::record(&s.db, &a, id, &p).await,
        (Ok(()), Err(e)) => Err(Error::Invalid(e)),
    };
    match r {
        Ok((act, created)) => reply(created_or_ok(created), Ok(ActDto::from(&act))),
        Err(e) => reply::<ActDto>(StatusCode::OK, Err(e)),
    }
}

/// Cancels an act (it stays, never valued); `version` is the one read.
#[utoipa::path(post, path = "/patients/{id}/acts/{aid}/cancel", params(("id" = i64, Path), ("aid" = i64, Path), VersionParam), request_body = CancelBody,
    responses((status = 200, body = ActDto), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel_act(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, aid)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<CancelBody>,
) -> Response {
    reply(StatusCode::OK, acts::cancel(&s.db, &a, id, aid, v.version, &body.reason).await.map(|x| ActDto::from(&x)))
}

/// The establishment's offers of TV and telephone, one per site.
#[utoipa::path(get, path = "/establishments/{id}/service-offers", params(("id" = i64, Path)), responses((status = 200, body = Vec<OfferDto>), (status = 404, body = Problem)))]
pub async fn list_offers(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, services::list_offers(&s.db, &a, id).await.map(|v| v.iter().map(OfferDto::from).collect::<Vec<_>>()))
}

/// Creates a site's offer (`manage_tariffs`); one per site.
#[utoipa::path(post, path = "/establishments/{id}/service-offers", params(("id" = i64, Path)), request_body = OfferBody,
    responses((status = 201, body = OfferDto), (status = 422, body = Problem)))]
pub async fn add_offer(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<OfferBody>) -> Response {
    let r = match (may_manage(&s, &a, id, "add").await, activity::parse_offer(&body.into())) {
        (Err(e), _) => Err(e),
        (Ok(()), Ok(o)) => services::save_offer(&s.db, &a, id, None, &o).await,
        (Ok(()), Err(e)) => Err(Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, r.map(|o| OfferDto::from(&o)))
}

/// Changes a site's offer; `version` is the one read.
#[utoipa::path(put, path = "/establishments/{id}/service-offers/{oid}", params(("id" = i64, Path), ("oid" = i64, Path), VersionParam), request_body = OfferBody,
    responses((status = 200, body = OfferDto), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_offer(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, oid)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<OfferBody>,
) -> Response {
    let r = match (may_manage(&s, &a, id, "update").await, activity::parse_offer(&body.into())) {
        (Err(e), _) => Err(e),
        (Ok(()), Ok(o)) => services::save_offer(&s.db, &a, id, Some((oid, v.version)), &o).await,
        (Ok(()), Err(e)) => Err(Error::Invalid(e)),
    };
    reply(StatusCode::OK, r.map(|o| OfferDto::from(&o)))
}

/// The patient's subscriptions with their call units, newest first. Audited (`view_services`).
#[utoipa::path(get, path = "/patients/{id}/subscriptions", params(("id" = i64, Path)), responses((status = 200, body = Vec<SubscriptionDto>), (status = 404, body = Problem)))]
pub async fn list_subscriptions(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, services::list(&s.db, &a, id).await.map(|v| v.iter().map(|x| subscription_dto(&x.subscription, &x.units)).collect::<Vec<_>>()))
}

/// Opens a subscription with the site's offer.
#[utoipa::path(post, path = "/patients/{id}/subscriptions", params(("id" = i64, Path)), request_body = SubscriptionBody,
    responses((status = 201, body = SubscriptionDto), (status = 422, body = Problem)))]
pub async fn open_subscription(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<SubscriptionBody>) -> Response {
    let r = match (quittance_store::patients::check_write(&s.db, &a, id).await, activity::parse_subscription(&body.into())) {
        (Err(e), _) => Err(e),
        (Ok(()), Ok(p)) => services::open(&s.db, &a, id, &p).await,
        (Ok(()), Err(e)) => Err(Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, r.map(|x| subscription_dto(&x, &[])))
}

/// Closes a subscription on `closed_on` (counted); `version` is the one read.
#[utoipa::path(post, path = "/patients/{id}/subscriptions/{sid}/close", params(("id" = i64, Path), ("sid" = i64, Path), VersionParam), request_body = CloseSubscriptionBody,
    responses((status = 200, body = SubscriptionDto), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn close_subscription(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, sid)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<CloseSubscriptionBody>,
) -> Response {
    let r = match (quittance_store::patients::check_write(&s.db, &a, id).await, activity::parse_closing(&body.closed_on)) {
        (Err(e), _) => Err(e),
        (Ok(()), Ok(d)) => services::close(&s.db, &a, id, sid, v.version, d).await,
        (Ok(()), Err(e)) => Err(Error::Invalid(e)),
    };
    reply(StatusCode::OK, r.map(|x| subscription_dto(&x, &[])))
}

/// Adds call units to a telephone subscription (201; an `external_id` already recorded: 200).
#[utoipa::path(post, path = "/patients/{id}/subscriptions/{sid}/units", params(("id" = i64, Path), ("sid" = i64, Path)), request_body = UnitsBody,
    responses((status = 201, body = UnitsDto), (status = 200, body = UnitsDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_units(State(s): State<AppState>, Extension(a): Extension<Actor>, Path((id, sid)): Path<(i64, i64)>, Json(body): Json<UnitsBody>) -> Response {
    let r = match (quittance_store::patients::check_write(&s.db, &a, id).await, activity::parse_units(&body.into())) {
        (Err(e), _) => Err(e),
        (Ok(()), Ok(u)) => services::add_units(&s.db, &a, id, sid, &u).await,
        (Ok(()), Err(e)) => Err(Error::Invalid(e)),
    };
    match r {
        Ok((u, created)) => reply(created_or_ok(created), Ok(UnitsDto::from(&u))),
        Err(e) => reply::<UnitsDto>(StatusCode::OK, Err(e)),
    }
}

/// The charges of the patient's acts and annexed services from `from` to `to` (both included),
/// each with its tariff, quantity, price, amount and French explanation, and the notes. A day
/// without a tariff is a 422 (`valuation`). Audited (`view_activity_valuation`).
#[utoipa::path(get, path = "/patients/{id}/valuation", params(("id" = i64, Path), PeriodParams),
    responses((status = 200, body = ActivityValuationDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn patient_valuation(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(q): Query<PeriodParams>) -> Response {
    let r = async {
        // Both dates checked, every error at once.
        let (from, to) = (iso("from", q.from.as_deref()), iso("to", q.to.as_deref()));
        let (from, to) = match (from, to) {
            (Ok(f), Ok(t)) => (f, t),
            (f, t) => {
                let mut e = quittance_domain::validation::FieldErrors::new();
                for x in [f.err(), t.err()].into_iter().flatten() {
                    if let Error::Invalid(x) = x {
                        e.0.extend(x.0);
                    }
                }
                return Err(Error::Invalid(e));
            }
        };
        valuation::patient(&s.db, &a, id, from, to).await
    }
    .await;
    reply(
        StatusCode::OK,
        r.map(|v| {
            let total = quittance_domain::money::Money::checked_sum(v.currency, v.charges.iter().map(|c| c.amount)).unwrap_or(quittance_domain::money::Money::zero(v.currency));
            ActivityValuationDto {
                patient_id: v.patient.id,
                from: v.from.to_string(),
                to: v.to.to_string(),
                currency: v.currency.code().into(),
                total: total.format_fr_plain(),
                total_minor: total.minor,
                charges: v
                    .split
                    .lines
                    .iter()
                    .map(|l| charge_dto(&l.charge, l.shares.iter().map(|x| crate::care::api::share_dto(&x.party, x.amount, x.explanation.clone(), &v.debtor)).collect()))
                    .collect(),
                totals: v.split.totals().into_iter().map(|(p, m)| crate::care::api::share_dto(&p, m, String::new(), &v.debtor)).collect(),
                notes: v.notes.clone(),
            }
        }),
    )
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_acts, record_act))
        .routes(routes!(cancel_act))
        .routes(routes!(list_offers, add_offer))
        .routes(routes!(update_offer))
        .routes(routes!(list_subscriptions, open_subscription))
        .routes(routes!(close_subscription))
        .routes(routes!(add_units))
        .routes(routes!(patient_valuation))
}
