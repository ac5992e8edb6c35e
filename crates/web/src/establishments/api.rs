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
use quittance_store::establishments::{self as est, Establishment, EstablishmentInput, Site, SiteInput};

/// Establishments the key's roles reach.
#[utoipa::path(get, path = "/establishments", responses((status = 200, body = Vec<Establishment>), (status = 401, body = Problem)))]
pub async fn list_establishments(State(s): State<AppState>, Extension(a): Extension<Actor>) -> Response {
    reply(StatusCode::OK, est::list(&s.db, &a).await)
}

/// Creates an establishment.
#[utoipa::path(post, path = "/establishments", request_body = EstablishmentInput,
    responses((status = 201, body = Establishment), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_establishment(State(s): State<AppState>, Extension(a): Extension<Actor>, Json(body): Json<EstablishmentInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, est::create(&s.db, &a, &i).await)
}

/// One establishment.
#[utoipa::path(get, path = "/establishments/{id}", params(("id" = i64, Path)), responses((status = 200, body = Establishment), (status = 404, body = Problem)))]
pub async fn get_establishment(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, est::get(&s.db, &a, id).await)
}

/// Changes an establishment (its currency never changes); `version` is the one read
/// (a concurrent change answers 409).
#[utoipa::path(put, path = "/establishments/{id}", params(("id" = i64, Path), VersionParam), request_body = EstablishmentInput,
    responses((status = 200, body = Establishment), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_establishment(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path(id): Path<i64>,
    Query(v): Query<VersionParam>,
    Json(body): Json<EstablishmentInput>,
) -> Response {
    reply(StatusCode::OK, est::update(&s.db, &a, id, v.version, &body).await)
}

/// Sites of an establishment.
#[utoipa::path(get, path = "/establishments/{id}/sites", params(("id" = i64, Path)), responses((status = 200, body = Vec<Site>)))]
pub async fn list_sites(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, est::list_sites(&s.db, &a, id).await)
}

/// Creates a site.
#[utoipa::path(post, path = "/establishments/{id}/sites", params(("id" = i64, Path)), request_body = SiteInput,
    responses((status = 201, body = Site), (status = 422, body = Problem)))]
pub async fn create_site(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<SiteInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, est::create_site(&s.db, &a, id, &i).await)
}

/// Changes a site; `version` is the one read (a concurrent change answers 409).
#[utoipa::path(put, path = "/establishments/{id}/sites/{site_id}", params(("id" = i64, Path), ("site_id" = i64, Path), VersionParam),
    request_body = SiteInput, responses((status = 200, body = Site), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_site(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, site_id)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<SiteInput>,
) -> Response {
    reply(StatusCode::OK, est::update_site(&s.db, &a, id, site_id, v.version, &body).await)
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_establishments, create_establishment))
        .routes(routes!(get_establishment, update_establishment))
        .routes(routes!(list_sites, create_site))
        .routes(routes!(update_site))
}
