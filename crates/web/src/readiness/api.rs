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

/// A file or stay not ready to bill, with the reasons (API view of `readiness::Pending`).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PendingDto {
    pub patient_id: i64,
    pub ipp: String,
    pub name: String,
    pub stay_id: Option<i64>,
    pub site_id: Option<i64>,
    /// Admission time, RFC 3339 UTC.
    pub admission_at: Option<String>,
    /// Codes of the failing controls.
    pub reasons: Vec<String>,
    /// The French messages, in the same order.
    pub messages: Vec<String>,
}

impl From<readiness::Pending> for PendingDto {
    fn from(p: readiness::Pending) -> Self {
        PendingDto {
            patient_id: p.patient_id,
            ipp: p.ipp,
            name: p.name,
            stay_id: p.stay_id,
            site_id: p.site_id,
            admission_at: p.admission_at,
            reasons: p.reasons,
            messages: p.messages,
        }
    }
}

/// One failing control of a checklist.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FailureDto {
    pub code: String,
    pub message: String,
    /// Where to fix it: identity, debtors or coverage.
    pub fix: String,
}

/// The readiness checklist of a file (no stay) or of one stay.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ChecklistDto {
    pub stay_id: Option<i64>,
    pub admission_at: Option<String>,
    pub ready: bool,
    pub failures: Vec<FailureDto>,
}

impl From<readiness::Checklist> for ChecklistDto {
    fn from(c: readiness::Checklist) -> Self {
        ChecklistDto {
            stay_id: c.stay_id,
            admission_at: c.admission_at,
            ready: c.ready,
            failures: c.failures.into_iter().map(|(code, message, fix)| FailureDto { code, message, fix }).collect(),
        }
    }
}

/// Converts a list of store rows into their DTOs.
pub fn dtos<T, D: From<T>>(r: Result<Vec<T>, quittance_store::Error>) -> Result<Vec<D>, quittance_store::Error> {
    r.map(|v| v.into_iter().map(D::from).collect())
}

/// Open stays not ready to bill (« Dossiers en attente »).
#[utoipa::path(get, path = "/readiness", params(EstablishmentParam), responses((status = 200, body = Vec<PendingDto>)))]
pub async fn readiness_queue(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, dtos::<_, PendingDto>(readiness::queue(&s.db, &a, q.establishment_id, today).await))
}

/// The billing-readiness checklist of a patient's file and stays.
#[utoipa::path(get, path = "/patients/{id}/readiness", params(("id" = i64, Path)), responses((status = 200, body = Vec<ChecklistDto>)))]
pub async fn patient_readiness(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    let today = match patients::check_read(&s.db, &a, id).await {
        Ok(p) => today_of(&s, &a, p.establishment_id).await,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::OK, dtos::<_, ChecklistDto>(readiness::checklist(&s.db, &a, id, today).await))
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(readiness_queue))
        .routes(routes!(patient_readiness))
}
