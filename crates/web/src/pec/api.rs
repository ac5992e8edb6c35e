//! API: prises en charge.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::{Actor, Error};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Json, Path, Query};
use crate::api::{Problem, VersionParam, problem_from, reply};
use quittance_store::pec;

/// The patient's PEC requests.
#[utoipa::path(get, path = "/patients/{id}/pec", params(("id" = i64, Path)), responses((status = 200, body = Vec<pec::Pec>)))]
pub async fn list_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, pec::list(&s.db, &a, id).await)
}

/// Creates a PEC request (brouillon).
#[utoipa::path(post, path = "/patients/{id}/pec", params(("id" = i64, Path)), request_body = pec::PecInput,
    responses((status = 201, body = pec::Pec), (status = 422, body = Problem)))]
pub async fn create_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<pec::PecInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, pec::create(&s.db, &a, id, &i).await)
}

/// One PEC request.
#[utoipa::path(get, path = "/pec/{id}", params(("id" = i64, Path)), responses((status = 200, body = pec::Pec), (status = 404, body = Problem)))]
pub async fn get_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, pec::get(&s.db, &a, id).await)
}

/// Marks a draft as sent.
#[utoipa::path(post, path = "/pec/{id}/send", params(("id" = i64, Path), VersionParam), responses((status = 200, body = pec::Pec), (status = 422, body = Problem), (status = 409, body = Problem)))]
pub async fn send_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>) -> Response {
    let sent = match pec::send(&s.db, &a, id, v.version).await {
        Ok(p) => p,
        Err(e) => return problem_from(e),
    };
    crate::pec::pages::file_sent_letter(&s.db, &a, &s.config.documents, &sent).await;
    reply(StatusCode::OK, Ok::<_, Error>(sent))
}

/// Records the payer's answer.
#[utoipa::path(post, path = "/pec/{id}/answer", params(("id" = i64, Path), VersionParam), request_body = pec::AnswerInput,
    responses((status = 200, body = pec::Pec), (status = 422, body = Problem), (status = 409, body = Problem)))]
pub async fn answer_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, Json(body): Json<pec::AnswerInput>) -> Response {
    let i = body;
    reply(StatusCode::OK, pec::answer(&s.db, &a, id, v.version, &i).await)
}

/// Declares an agreement expired.
#[utoipa::path(post, path = "/pec/{id}/expire", params(("id" = i64, Path), VersionParam), responses((status = 200, body = pec::Pec), (status = 422, body = Problem)))]
pub async fn expire_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>) -> Response {
    reply(StatusCode::OK, pec::expire(&s.db, &a, id, v.version).await)
}

/// The request letter of a prise en charge, as PDF.
#[utoipa::path(get, path = "/pec/{id}/letter", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn pec_letter(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    match crate::pec::pages::letter_pdf(&s.db, &a, id).await {
        Ok(bytes) => crate::pec::pages::pdf_response(&format!("pec-{id}"), bytes),
        Err(e) => problem_from(e),
    }
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pec, create_pec))
        .routes(routes!(get_pec))
        .routes(routes!(send_pec))
        .routes(routes!(answer_pec))
        .routes(routes!(expire_pec))
        .routes(routes!(pec_letter))
}
