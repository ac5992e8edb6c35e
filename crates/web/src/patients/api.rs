//! API: patient files, debtors, identifiers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::{Actor, Error};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Json, Path, Query};
use crate::api::{EstablishmentParam, Problem, VersionParam, problem_from, reply};
use quittance_store::patients;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientSearchParams {
    /// Establishment searched.
    establishment_id: i64,
    /// Free text: name prefixes, birth date `JJ/MM/AAAA`, IPP, NIR or CAFAT number.
    q: Option<String>,
    /// Birth date, `JJ/MM/AAAA` (00 for unknown parts) or `AAAA-MM-JJ`.
    birth_date: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// Searches patient files (only those the key's roles and sites reach).
#[utoipa::path(get, path = "/patients", params(PatientSearchParams), responses((status = 200, body = patients::SearchPage), (status = 422, body = Problem)))]
pub async fn search_patients(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(p): Query<PatientSearchParams>) -> Response {
    let mut errs = quittance_domain::validation::FieldErrors::new();
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        errs.add("limit", "Entre 1 et 500.");
    }
    let offset = crate::extract::api_offset(p.offset, &mut errs);
    let c = match quittance_domain::patients::search::parse(p.q.as_deref().unwrap_or(""), p.birth_date.as_deref().unwrap_or("")) {
        Ok(c) if c.is_empty() => {
            errs.add("q", "Donnez au moins un critère (nom, date de naissance, IPP, NIR ou n° CAFAT).");
            c
        }
        Ok(c) => c,
        Err(m) => {
            errs.add("birth_date", m);
            Default::default()
        }
    };
    if !errs.is_empty() {
        return problem_from(Error::Invalid(errs));
    }
    reply(StatusCode::OK, patients::search(&s.db, &a, p.establishment_id, &c, limit, offset).await)
}

/// Opens a patient file; the IPP is allocated.
#[utoipa::path(post, path = "/patients", params(EstablishmentParam), request_body = patients::PatientInput,
    responses((status = 201, body = patients::Patient), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, Json(body): Json<patients::PatientInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, patients::create(&s.db, &a, q.establishment_id, &i).await)
}

/// One patient file with identifiers and debtors (the view is audited).
#[utoipa::path(get, path = "/patients/{id}", params(("id" = i64, Path)), responses((status = 200, body = patients::PatientFile), (status = 404, body = Problem)))]
pub async fn get_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, patients::get(&s.db, &a, id).await)
}

/// Replaces a file's content. A change of identity status or strict trait needs `reason`.
#[utoipa::path(put, path = "/patients/{id}", params(("id" = i64, Path), VersionParam), request_body = patients::PatientInput,
    responses((status = 200, body = patients::Patient), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, Json(body): Json<patients::PatientInput>) -> Response {
    let i = body;
    reply(StatusCode::OK, patients::update(&s.db, &a, id, v.version, &i).await)
}

/// Adds a debtor.
#[utoipa::path(post, path = "/patients/{id}/debtors", params(("id" = i64, Path)), request_body = patients::DebtorInput,
    responses((status = 201, body = patients::Debtor), (status = 422, body = Problem)))]
pub async fn add_debtor(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<patients::DebtorInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, patients::save_debtor(&s.db, &a, id, None, &i).await)
}

/// Changes a debtor; `version` is the debtor's version read (a concurrent change answers 409).
#[utoipa::path(put, path = "/patients/{id}/debtors/{debtor_id}", params(("id" = i64, Path), ("debtor_id" = i64, Path), VersionParam),
    request_body = patients::DebtorInput,
    responses((status = 200, body = patients::Debtor), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_debtor(
    State(s): State<AppState>,
    Extension(a): Extension<Actor>,
    Path((id, debtor_id)): Path<(i64, i64)>,
    Query(v): Query<VersionParam>,
    Json(body): Json<patients::DebtorInput>,
) -> Response {
    let edit = patients::DebtorEdit { id: debtor_id, version: v.version };
    reply(StatusCode::OK, patients::save_debtor(&s.db, &a, id, Some(edit), &body).await)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct IdentifierInput {
    pub issuer: String,
    pub value: String,
}

/// Adds an external identifier with its issuer.
#[utoipa::path(post, path = "/patients/{id}/identifiers", params(("id" = i64, Path)), request_body = IdentifierInput,
    responses((status = 201, body = patients::Identifier), (status = 422, body = Problem)))]
pub async fn add_identifier(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Json(body): Json<IdentifierInput>) -> Response {
    let i = body;
    reply(StatusCode::CREATED, patients::add_identifier(&s.db, &a, id, &i.issuer, &i.value).await)
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_patients, create_patient))
        .routes(routes!(get_patient, update_patient))
        .routes(routes!(add_debtor))
        .routes(routes!(update_debtor))
        .routes(routes!(add_identifier))
}
