//! API: billing readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::Actor;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Path, Query};
use crate::api::{EstablishmentParam, problem_from, reply, today_of};
use quittance_store::{patients, readiness};

/// Open stays not ready to bill (« Dossiers en attente »).
#[utoipa::path(get, path = "/readiness", params(EstablishmentParam), responses((status = 200, body = Vec<readiness::Pending>)))]
pub async fn readiness_queue(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, readiness::queue(&s.db, &a, q.establishment_id, today).await)
}

/// The billing-readiness checklist of a patient's file and stays.
#[utoipa::path(get, path = "/patients/{id}/readiness", params(("id" = i64, Path)), responses((status = 200, body = Vec<readiness::Checklist>)))]
pub async fn patient_readiness(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    let today = match patients::check_read(&s.db, &a, id).await {
        Ok(p) => today_of(&s, &a, p.establishment_id).await,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::OK, readiness::checklist(&s.db, &a, id, today).await)
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(readiness_queue))
        .routes(routes!(patient_readiness))
}
