//! API: establishments and sites.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::Actor;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Json, Path};
use crate::api::{Problem, VersionParam, reply};
use crate::extract::Query;
use quittance_store::establishments::{self as est, EstablishmentInput, SiteInput};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- DTOs (the API's types, not the store's rows)

/// An establishment as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Establishment)]
pub struct EstablishmentDto {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// hopital, clinique, centre_sante, …
    pub kind: String,
    pub siret: Option<String>,
    pub finess: Option<String>,
    pub ridet: Option<String>,
    /// EUR or XPF.
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
    /// Send it back as `?version=` to change the establishment.
    pub version: i64,
}

impl From<&est::Establishment> for EstablishmentDto {
    fn from(e: &est::Establishment) -> Self {
        EstablishmentDto {
            id: e.id,
            code: e.code.clone(),
            name: e.name.clone(),
            kind: e.kind.code().to_string(),
            siret: e.siret.clone(),
            finess: e.finess.clone(),
            ridet: e.ridet.clone(),
            currency: e.currency.code().to_string(),
            timezone: e.timezone.clone(),
            address_line1: e.address_line1.clone(),
            address_line2: e.address_line2.clone(),
            postcode: e.postcode.clone(),
            city: e.city.clone(),
            country: e.country.clone(),
            phone: e.phone.clone(),
            email: e.email.clone(),
            active: e.active,
            version: e.version,
        }
    }
}

/// A site as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Site)]
pub struct SiteDto {
    pub id: i64,
    pub establishment_id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub address_line1: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub active: bool,
    /// Send it back as `?version=` to change the site.
    pub version: i64,
}

impl From<&est::Site> for SiteDto {
    fn from(s: &est::Site) -> Self {
        SiteDto {
            id: s.id,
            establishment_id: s.establishment_id,
            code: s.code.clone(),
            name: s.name.clone(),
            kind: s.kind.code().to_string(),
            address_line1: s.address_line1.clone(),
            postcode: s.postcode.clone(),
            city: s.city.clone(),
            active: s.active,
            version: s.version,
        }
    }
}

/// What a client sends to create or change an establishment (every field is text, parsed by the server).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = EstablishmentInput)]
pub struct EstablishmentBody {
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

impl From<EstablishmentBody> for EstablishmentInput {
    fn from(b: EstablishmentBody) -> Self {
        EstablishmentInput {
            code: b.code,
            name: b.name,
            kind: b.kind,
            siret: b.siret,
            finess: b.finess,
            ridet: b.ridet,
            currency: b.currency,
            timezone: b.timezone,
            address_line1: b.address_line1,
            address_line2: b.address_line2,
            postcode: b.postcode,
            city: b.city,
            country: b.country,
            phone: b.phone,
            email: b.email,
        }
    }
}

/// What a client sends to create or change a site.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = SiteInput)]
pub struct SiteBody {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub address_line1: String,
    pub postcode: String,
    pub city: String,
    pub active: Option<bool>,
}

impl From<SiteBody> for SiteInput {
    fn from(b: SiteBody) -> Self {
        SiteInput { code: b.code, name: b.name, kind: b.kind, address_line1: b.address_line1, postcode: b.postcode, city: b.city, active: b.active }
    }
}

fn dto<T, D: for<'a> From<&'a T>>(r: Result<T, quittance_store::Error>) -> Result<D, quittance_store::Error> {
    r.map(|v| D::from(&v))
}

fn dtos<T, D: for<'a> From<&'a T>>(r: Result<Vec<T>, quittance_store::Error>) -> Result<Vec<D>, quittance_store::Error> {
    r.map(|v| v.iter().map(D::from).collect())
}

/// Establishments the key's roles reach.
#[utoipa::path(get, path = "/establishments", responses((status = 200, body = Vec<EstablishmentDto>), (status = 401, body = Problem)))]
pub async fn list_establishments(State(s): State<AppState>, Extension(a): Extension<Actor>) -> Response {
    reply(StatusCode::OK, dtos::<_, EstablishmentDto>(est::list(&s.db, &a).await))
}

/// Creates an establishment.
#[utoipa::path(post, path = "/establishments", request_body = EstablishmentBody,
    responses((status = 201, body = EstablishmentDto), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_establishment(State(s): State<AppState>, Extension(a): Extension<Actor>, Json(body): Json<EstablishmentBody>) -> Response {
    let created = match est::parse_establishment(&body.into()) {
        Ok(p) => est::create(&s.db, &a, &p).await,
        Err(e) => Err(quittance_store::Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, dto::<_, EstablishmentDto>(created))
}

/// One establishment.
#[utoipa::path(get, path = "/establishments/{id}", params(("id" = i64, Path)), responses((status = 200, body = EstablishmentDto), (status = 404, body = Problem)))]
pub async fn get_establishment(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, dto::<_, EstablishmentDto>(est::get(&s.db, &a, id).await))
}

/// Changes an establishment (its currency never changes); `version` is the one read
/// (a concurrent change answers 409).
#[utoipa::path(put, path = "/establishments/{id}", params(("id" = i64, Path), VersionParam), request_body = EstablishmentBody,
    responses((status = 200, body = EstablishmentDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_establishment(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path(id): Path<i64>,
    Query(v): Query<VersionParam>,
    Json(body): Json<EstablishmentBody>,
) -> Response {
    let updated = match est::parse_establishment(&body.into()) {
        Ok(p) => est::update(&s.db, &a, id, v.version, &p).await,
        Err(e) => Err(quittance_store::Error::Invalid(e)),
    };
    reply(StatusCode::OK, dto::<_, EstablishmentDto>(updated))
}

/// Sites of an establishment.
#[utoipa::path(get, path = "/establishments/{id}/sites", params(("id" = i64, Path)), responses((status = 200, body = Vec<SiteDto>)))]
pub async fn list_sites(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, dtos::<_, SiteDto>(est::list_sites(&s.db, &a, id).await))
}

/// Creates a site.
#[utoipa::path(post, path = "/establishments/{id}/sites", params(("id" = i64, Path)), request_body = SiteBody,
    responses((status = 201, body = SiteDto), (status = 422, body = Problem)))]
pub async fn create_site(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<SiteBody>) -> Response {
    let created = match est::parse_site(&body.into()) {
        Ok(p) => est::create_site(&s.db, &a, id, &p).await,
        Err(e) => Err(quittance_store::Error::Invalid(e)),
    };
    reply(StatusCode::CREATED, dto::<_, SiteDto>(created))
}

/// Changes a site; `version` is the one read (a concurrent change answers 409).
#[utoipa::path(put, path = "/establishments/{id}/sites/{site_id}", params(("id" = i64, Path), ("site_id" = i64, Path), VersionParam),
    request_body = SiteBody, responses((status = 200, body = SiteDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_site(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, site_id)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<SiteBody>,
) -> Response {
    let updated = match est::parse_site(&body.into()) {
        Ok(p) => est::update_site(&s.db, &a, id, site_id, v.version, &p).await,
        Err(e) => Err(quittance_store::Error::Invalid(e)),
    };
    reply(StatusCode::OK, dto::<_, SiteDto>(updated))
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_establishments, create_establishment))
        .routes(routes!(get_establishment, update_establishment))
        .routes(routes!(list_sites, create_site))
        .routes(routes!(update_site))
}
