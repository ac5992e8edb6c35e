//! API: the establishment's dated tariffs and billing parameters. Responses and bodies are
//! this module's DTOs (not the store's rows); a version is closed with `?version=N` (409 when
//! stale). Bodies are text, typed as in the forms (French amounts and dates).

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use quittance_domain::billing::tariffs::TariffCategory;
use quittance_domain::fr::parse_date_fr;
use quittance_store::billing::parameters::{self, StoredParameter};
use quittance_store::billing::tariffs::{self, Tariff, TariffFilter};
use quittance_store::billing::{ParameterInput, TariffInput};
use quittance_store::{Actor, Error};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{Problem, VersionParam, reply};
use crate::extract::{Json, Path, Query};

// ---------------------------------------------------------------- DTOs

/// A dated tariff line of an establishment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TariffDto {
    pub id: i64,
    pub code: String,
    pub label: String,
    /// forfait_journalier, forfait_journalier_psy, chambre_particuliere, tjp, television,
    /// telephone_activation, telephone_unite, acte_cms, forfait_nc.
    pub category: String,
    /// jour, acte, unite, forfait.
    pub unit: String,
    /// For people: `23,00 €`, `1 800 XPF` (narrow no-break thousands separator).
    pub price: String,
    /// In minor units of the currency (cents for EUR, francs for XPF).
    pub price_minor: i64,
    /// EUR or XPF (the establishment's).
    pub currency: String,
    /// Acts only, French decimal (`1,5`).
    pub coefficient: Option<String>,
    /// Absent: every site.
    pub site_id: Option<i64>,
    /// Service code; empty: every service.
    pub service: String,
    /// YYYY-MM-DD
    pub valid_from: String,
    /// YYYY-MM-DD, absent = open-ended.
    pub valid_to: Option<String>,
    pub source: String,
    /// Send it back as `?version=` to close the line.
    pub version: i64,
}

impl From<&Tariff> for TariffDto {
    fn from(t: &Tariff) -> Self {
        let l = &t.line;
        TariffDto {
            id: t.id,
            code: l.code.clone(),
            label: l.label.clone(),
            category: l.category.code().to_string(),
            unit: l.unit.code().to_string(),
            price: l.price.format_fr(),
            price_minor: l.price.minor,
            currency: l.price.currency.code().to_string(),
            coefficient: l.coefficient.map(|c| c.format_fr()),
            site_id: l.site_id,
            service: l.service.clone(),
            valid_from: l.period.from.to_string(),
            valid_to: l.period.to.map(|d| d.to_string()),
            source: l.source.clone(),
            version: t.version,
        }
    }
}

/// A tariff version as a client sends it (all fields text, as in the form). A version of a
/// code already priced closes the open one the day before.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TariffBody {
    pub code: String,
    pub label: String,
    /// A category code (see `TariffDto.category`).
    pub category: String,
    /// jour, acte, unite, forfait; blank: the category's usual unit.
    pub unit: String,
    /// French amount in the establishment's currency: `23,00`, `1 800`.
    pub price: String,
    /// Acts only: `1` or `1,5`.
    pub coefficient: String,
    /// A site of the establishment; blank: every site.
    pub site_id: String,
    pub service: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
    /// JJ/MM/AAAA, blank = open-ended.
    pub valid_to: String,
    pub source: String,
}

impl From<TariffBody> for TariffInput {
    fn from(b: TariffBody) -> Self {
        TariffInput {
            code: b.code,
            label: b.label,
            category: b.category,
            unit: b.unit,
            price: b.price,
            coefficient: b.coefficient,
            site_id: b.site_id,
            service: b.service,
            valid_from: b.valid_from,
            valid_to: b.valid_to,
            source: b.source,
        }
    }
}

/// A dated billing parameter of an establishment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParameterDto {
    pub id: i64,
    /// taux_tm, fin_tm_jour, montant_pf, seuil_pf_montant, seuil_pf_coefficient, modes_fj,
    /// sortie_deces_facturee, sortie_transfert_facturee, fj_moins_24h, imputation_fj_tm,
    /// part_carte_a, part_carte_b, part_carte_m, exoneration.
    pub key: String,
    /// For `exoneration`: the exemption code it is about.
    pub subject: Option<String>,
    /// As stored: minor units, basis points, integers, `true`/`false`, sorted codes.
    pub value: String,
    /// For people: `20 %`, `24,00 €`, `oui`…
    pub value_fr: String,
    /// YYYY-MM-DD
    pub valid_from: String,
    /// YYYY-MM-DD, absent = open-ended.
    pub valid_to: Option<String>,
    pub source: String,
    /// Send it back as `?version=` to close the row.
    pub version: i64,
}

impl From<&StoredParameter> for ParameterDto {
    fn from(s: &StoredParameter) -> Self {
        let p = &s.parameter;
        ParameterDto {
            id: p.id,
            key: p.key.code().to_string(),
            subject: p.subject.map(|x| x.code().to_string()),
            value: p.value.to_storage(),
            value_fr: p.value.format_fr(),
            valid_from: p.period.from.to_string(),
            valid_to: p.period.to.map(|d| d.to_string()),
            source: p.source.clone(),
            version: s.version,
        }
    }
}

/// A parameter version as a client sends it (text, as in the form).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ParameterBody {
    /// A key code (see `ParameterDto.key`).
    pub key: String,
    /// For `exoneration` only: an exemption code (ald, maternite, at_mp, c2s, carte_a…).
    pub subject: String,
    /// As the key's kind is typed: `20 %`, `24,00`, `31`, `oui`, codes separated by commas.
    pub value: String,
    /// JJ/MM/AAAA
    pub valid_from: String,
    /// JJ/MM/AAAA, blank = open-ended.
    pub valid_to: String,
    /// Required: the text the value comes from.
    pub source: String,
}

impl From<ParameterBody> for ParameterInput {
    fn from(b: ParameterBody) -> Self {
        ParameterInput { key: b.key, subject: b.subject, value: b.value, valid_from: b.valid_from, valid_to: b.valid_to, source: b.source }
    }
}

/// Closing a version: its last day of validity.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CloseBody {
    /// JJ/MM/AAAA (the last day the version applies).
    pub valid_to: String,
}

/// Filters of the tariff list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct TariffListParams {
    /// A category code; absent: every category.
    pub category: Option<String>,
    /// YYYY-MM-DD: only the lines valid that day; absent: every version.
    pub on: Option<String>,
    /// Code starting with (case-insensitive).
    pub code: Option<String>,
}

/// Filter of the parameter list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ParameterListParams {
    /// YYYY-MM-DD: only the rows valid that day; absent: every version.
    pub on: Option<String>,
}

fn iso_day(field: &str, raw: Option<&str>) -> Result<Option<jiff::civil::Date>, Error> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| Error::invalid(field, format!("Date attendue au format AAAA-MM-JJ : « {s} »."))),
    }
}

fn last_day(b: &CloseBody) -> Result<jiff::civil::Date, Error> {
    if b.valid_to.trim().is_empty() {
        return Err(Error::invalid("valid_to", "Indiquez le dernier jour de validité (JJ/MM/AAAA)."));
    }
    parse_date_fr(&b.valid_to).map_err(|m| Error::invalid("valid_to", m))
}

// ---------------------------------------------------------------- handlers

/// The establishment's tariff lines (every version unless `on` is given).
#[utoipa::path(get, path = "/establishments/{id}/tariffs", params(("id" = i64, Path), TariffListParams),
    responses((status = 200, body = Vec<TariffDto>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_tariffs(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(q): Query<TariffListParams>) -> Response {
    let r = async {
        let category = match q.category.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(TariffCategory::from_code(c).ok_or_else(|| Error::invalid("category", format!("Catégorie de tarif inconnue : « {c} ».")))?),
        };
        let filter = TariffFilter { category, on: iso_day("on", q.on.as_deref())?, code: q.code.clone().filter(|c| !c.trim().is_empty()) };
        tariffs::list(&s.db, &a, id, &filter).await
    }
    .await;
    reply(StatusCode::OK, r.map(|v| v.iter().map(TariffDto::from).collect::<Vec<_>>()))
}

/// Adds a tariff version (a version of a code already priced closes the open one the day before).
#[utoipa::path(post, path = "/establishments/{id}/tariffs", params(("id" = i64, Path)), request_body = TariffBody,
    responses((status = 201, body = TariffDto), (status = 422, body = Problem)))]
pub async fn add_tariff(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<TariffBody>) -> Response {
    let added = match tariffs::parse_for(&s.db, id, &body.into()).await {
        Ok(p) => tariffs::add(&s.db, &a, id, &p).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::CREATED, added.map(|t| TariffDto::from(&t)))
}

/// Ends an open tariff version on `valid_to`; `version` is the one read (a concurrent change answers 409).
#[utoipa::path(post, path = "/establishments/{id}/tariffs/{tid}/close", params(("id" = i64, Path), ("tid" = i64, Path), VersionParam), request_body = CloseBody,
    responses((status = 200, body = TariffDto), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn close_tariff(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, tid)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<CloseBody>,
) -> Response {
    let closed = match last_day(&body) {
        Ok(d) => tariffs::close(&s.db, &a, id, tid, v.version, d).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::OK, closed.map(|t| TariffDto::from(&t)))
}

/// The establishment's billing parameters (every version unless `on` is given).
#[utoipa::path(get, path = "/establishments/{id}/billing-parameters", params(("id" = i64, Path), ParameterListParams),
    responses((status = 200, body = Vec<ParameterDto>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_parameters(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(q): Query<ParameterListParams>) -> Response {
    let r = match iso_day("on", q.on.as_deref()) {
        Ok(on) => parameters::list(&s.db, &a, id, on).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::OK, r.map(|v| v.iter().map(ParameterDto::from).collect::<Vec<_>>()))
}

/// Adds a parameter version (closes the open one of the same key and subject the day before).
#[utoipa::path(post, path = "/establishments/{id}/billing-parameters", params(("id" = i64, Path)), request_body = ParameterBody,
    responses((status = 201, body = ParameterDto), (status = 422, body = Problem)))]
pub async fn add_parameter(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<ParameterBody>) -> Response {
    let added = match parameters::parse_for(&s.db, id, &body.into()).await {
        Ok(p) => parameters::add(&s.db, &a, id, &p).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::CREATED, added.map(|p| ParameterDto::from(&p)))
}

/// Ends an open parameter version on `valid_to`; `version` is the one read (409 when stale).
#[utoipa::path(post, path = "/establishments/{id}/billing-parameters/{pid}/close", params(("id" = i64, Path), ("pid" = i64, Path), VersionParam), request_body = CloseBody,
    responses((status = 200, body = ParameterDto), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn close_parameter(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, pid)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<CloseBody>,
) -> Response {
    let closed = match last_day(&body) {
        Ok(d) => parameters::close(&s.db, &a, id, pid, v.version, d).await,
        Err(e) => Err(e),
    };
    reply(StatusCode::OK, closed.map(|p| ParameterDto::from(&p)))
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tariffs, add_tariff))
        .routes(routes!(close_tariff))
        .routes(routes!(list_parameters, add_parameter))
        .routes(routes!(close_parameter))
}
