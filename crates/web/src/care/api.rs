//! API: coverage rights, stays, payers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::Actor;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Json, Path, Query};
use crate::api::{EstablishmentParam, Problem, problem_from, reply, today_of};
use quittance_store::patients;
use quittance_store::care::{coverages, payers, stays};

/// The patient's coverage rights with their flags (overlaps, gaps, expiries).
#[utoipa::path(get, path = "/patients/{id}/coverages", params(("id" = i64, Path)), responses((status = 200, body = coverages::CoverageSummary)))]
pub async fn list_coverages(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    let today = match patients::check_read(&s.db, &a, id).await {
        Ok(p) => today_of(&s, &a, p.establishment_id).await,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::OK, coverages::list(&s.db, &a, id, today).await)
}

/// Adds a coverage right (blank rates take the payer's dated defaults).
#[utoipa::path(post, path = "/patients/{id}/coverages", params(("id" = i64, Path)), request_body = coverages::CoverageInput,
    responses((status = 201, body = coverages::Coverage), (status = 422, body = Problem)))]
pub async fn add_coverage(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<coverages::CoverageInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, coverages::save(&s.db, &a, id, None, &i).await)
}

/// The patient's stays, newest first.
#[utoipa::path(get, path = "/patients/{id}/stays", params(("id" = i64, Path)), responses((status = 200, body = Vec<stays::Stay>)))]
pub async fn list_stays(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, stays::list(&s.db, &a, id).await)
}

/// Opens a stay.
#[utoipa::path(post, path = "/patients/{id}/stays", params(("id" = i64, Path)), request_body = stays::StayInput,
    responses((status = 201, body = stays::Stay), (status = 422, body = Problem)))]
pub async fn add_stay(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<stays::StayInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, stays::save(&s.db, &a, id, None, 0, &i).await)
}

/// Payers of an establishment.
#[utoipa::path(get, path = "/payers", params(EstablishmentParam), responses((status = 200, body = Vec<payers::Payer>)))]
pub async fn list_payers(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    reply(StatusCode::OK, payers::list(&s.db, &a, q.establishment_id).await)
}

/// Creates a payer.
#[utoipa::path(post, path = "/payers", params(EstablishmentParam), request_body = payers::PayerInput,
    responses((status = 201, body = payers::Payer), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_payer(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, Json(body): Json<payers::PayerInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, payers::create(&s.db, &a, q.establishment_id, &i).await)
}

/// One payer.
#[utoipa::path(get, path = "/payers/{id}", params(("id" = i64, Path)), responses((status = 200, body = payers::Payer), (status = 404, body = Problem)))]
pub async fn get_payer(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, payers::get(&s.db, &a, id).await)
}

/// Changes a payer.
#[utoipa::path(put, path = "/payers/{id}", params(("id" = i64, Path)), request_body = payers::PayerInput,
    responses((status = 200, body = payers::Payer), (status = 422, body = Problem)))]
pub async fn update_payer(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<payers::PayerInput>) -> Response {
    let i = body;
    reply(StatusCode::OK, payers::update(&s.db, &a, id, &i).await)
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_coverages, add_coverage))
        .routes(routes!(list_stays, add_stay))
        .routes(routes!(list_payers, create_payer))
        .routes(routes!(get_payer, update_payer))
}
