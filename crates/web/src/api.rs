//! JSON API under `/api/v1`: bearer API keys only (never the session cookie),
//! errors as `application/problem+json`, OpenAPI 3.1 generated from this code.

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use quittance_store::audit::{self, AuditFilter};
use quittance_store::establishments::{self as est, Establishment, EstablishmentInput, Site, SiteInput};
use quittance_store::{Actor, Error, patients};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::{AppState, RequestId};

/// One field error in a problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

/// RFC 9457 problem details.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

pub fn problem(status: StatusCode, kind: &str, title: &str, detail: &str, errors: Vec<ProblemField>) -> Response {
    let body = Problem { kind: format!("https://quittance.invalid/problems/{kind}"), title: title.into(), status: status.as_u16(), detail: detail.into(), errors };
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"quittance\""));
    }
    res
}

/// Maps a use-case error to a problem document.
pub fn problem_from(e: Error) -> Response {
    match e {
        Error::Invalid(errs) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Saisie invalide",
            "Un ou plusieurs champs sont invalides.",
            errs.0.into_iter().map(|f| ProblemField { field: f.field, message: f.message }).collect(),
        ),
        Error::Forbidden => problem(StatusCode::FORBIDDEN, "forbidden", "Accès refusé", "Les rôles de cette clé ne permettent pas cette action.", vec![]),
        Error::NotFound(what) => problem(StatusCode::NOT_FOUND, "not-found", "Introuvable", &format!("{what} introuvable."), vec![]),
        Error::Unauthenticated | Error::PasswordChangeRequired => unauthorized(),
        Error::Conflict(m) => problem(StatusCode::CONFLICT, "conflict", "Conflit", &m, vec![]),
        Error::Throttled => problem(StatusCode::TOO_MANY_REQUESTS, "throttled", "Trop de requêtes", "Réessayez plus tard.", vec![]),
        e => {
            tracing::error!(error = %e, "api request failed");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Erreur interne", "Rien n'a été enregistré.", vec![])
        }
    }
}

fn unauthorized() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Authentification requise",
        "Fournissez une clé d'API valide dans l'en-tête « Authorization: Bearer <clé> ».",
        vec![],
    )
}

/// The actor behind `Authorization: Bearer …`, or a 401 problem.
pub async fn bearer_actor(state: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(unauthorized)?;
    match quittance_store::access::api_actor(&state.db, secret).await {
        Ok(a) => Ok(a),
        Err(Error::Unauthenticated) => Err(unauthorized()),
        Err(e) => Err(problem_from(e)),
    }
}

async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path().ends_with("/openapi.json") {
        return next.run(req).await;
    }
    let mut actor = match bearer_actor(&state, req.headers()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    actor.request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    req.extensions_mut().insert(actor);
    next.run(req).await
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/me", get(me))
        .route("/establishments", get(list_establishments).post(create_establishment))
        .route("/establishments/{id}", get(get_establishment).put(update_establishment))
        .route("/establishments/{id}/sites", get(list_sites).post(create_site))
        .route("/audit", get(audit_search))
        .route("/patients", get(search_patients).post(create_patient))
        .route("/patients/{id}", get(get_patient).put(update_patient))
        .route("/patients/{id}/debtors", axum::routing::post(add_debtor))
        .route("/patients/{id}/identifiers", axum::routing::post(add_identifier))
        .route("/patients/{id}/coverages", get(list_coverages).post(add_coverage))
        .route("/patients/{id}/stays", get(list_stays).post(add_stay))
        .route("/patients/{id}/pec", get(list_pec).post(create_pec))
        .route("/pec/{id}", get(get_pec))
        .route("/pec/{id}/send", axum::routing::post(send_pec))
        .route("/pec/{id}/answer", axum::routing::post(answer_pec))
        .route("/pec/{id}/expire", axum::routing::post(expire_pec))
        .route("/pec/{id}/letter", get(pec_letter))
        .route("/patients/{id}/documents", get(list_documents))
        .route(
            "/patients/{id}/documents",
            axum::routing::post(upload_document).layer(axum::extract::DefaultBodyLimit::max(state.config.documents.max_bytes + 256 * 1024)),
        )
        .route("/documents/{id}", get(get_document))
        .route("/documents/{id}/content", get(document_content))
        .route("/documents/{id}/withdraw", axum::routing::post(withdraw_document))
        .route("/documents/past-retention", get(documents_past_retention))
        .route("/documents/missing", get(documents_missing))
        .route("/document-classes", get(list_document_classes).post(create_document_class))
        .route("/document-classes/{id}", axum::routing::put(update_document_class))
        .route("/readiness", get(readiness_queue))
        .route("/patients/{id}/readiness", get(patient_readiness))
        .route("/payers", get(list_payers).post(create_payer))
        .route("/payers/{id}", get(get_payer).put(update_payer))
        .fallback(api_not_found)
        .layer(middleware::from_fn_with_state(state, require_key))
}

async fn api_not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "not-found", "Introuvable", "Cette ressource de l'API n'existe pas.", vec![])
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Quittance API", version = "1", description = "Facturation et recettes des établissements de santé. Authentification : clé d'API en « Authorization: Bearer »."),
    paths(me, list_establishments, create_establishment, get_establishment, update_establishment, list_sites, create_site, audit_search,
        search_patients, create_patient, get_patient, update_patient, add_debtor, add_identifier,
        list_coverages, add_coverage, list_stays, add_stay, list_payers, create_payer, get_payer, update_payer,
        list_pec, create_pec, get_pec, send_pec, answer_pec, expire_pec, pec_letter, readiness_queue, patient_readiness,
        list_documents, upload_document, get_document, document_content, withdraw_document, documents_past_retention, documents_missing,
        list_document_classes, create_document_class, update_document_class),
    components(schemas(Problem, ProblemField, Me, MeRole, Establishment, EstablishmentInput, Site, SiteInput, AuditEntry, AuditPage,
        patients::Patient, patients::PatientInput, patients::PatientFile, patients::PatientSummary, patients::SearchPage,
        patients::Debtor, patients::DebtorInput, patients::Identifier, IdentifierInput,
        quittance_store::care::coverages::Coverage, quittance_store::care::coverages::CoverageInput, quittance_store::care::coverages::CoverageLine,
        quittance_store::care::coverages::CoverageSummary, quittance_store::care::stays::Stay, quittance_store::care::stays::StayInput,
        quittance_store::care::payers::Payer, quittance_store::care::payers::PayerInput,
        quittance_store::pec::Pec, quittance_store::pec::PecInput, quittance_store::pec::AnswerInput,
        quittance_store::readiness::Pending, quittance_store::readiness::Checklist,
        documents::Document, documents::DocClass, documents::ClassInput, documents::Expired, UploadForm, WithdrawBody)),
    modifiers(&BearerAuth),
    security(("cle_api" = []))
)]
pub struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme("cle_api", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeRole {
    pub role: String,
    pub establishment_id: i64,
    pub site_id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user_id: Option<i64>,
    pub username: String,
    pub roles: Vec<MeRole>,
}

/// Who this API key acts as.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn me(Extension(actor): Extension<Actor>) -> Response {
    Json(Me {
        user_id: actor.user_id,
        username: actor.username.clone(),
        roles: actor.grants.0.iter().map(|g| MeRole { role: g.role.code().into(), establishment_id: g.establishment_id, site_id: g.site_id }).collect(),
    })
    .into_response()
}

fn reply<T: Serialize>(status: StatusCode, r: Result<T, Error>) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => problem_from(e),
    }
}

/// Establishments the key's roles reach.
#[utoipa::path(get, path = "/api/v1/establishments", responses((status = 200, body = Vec<Establishment>), (status = 401, body = Problem)))]
async fn list_establishments(State(s): State<AppState>, Extension(a): Extension<Actor>) -> Response {
    reply(StatusCode::OK, est::list(&s.db, &a).await)
}

/// Creates an establishment.
#[utoipa::path(post, path = "/api/v1/establishments", request_body = EstablishmentInput,
    responses((status = 201, body = Establishment), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_establishment(State(s): State<AppState>, Extension(a): Extension<Actor>, body: Result<Json<EstablishmentInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, est::create(&s.db, &a, &i).await),
        Err(e) => bad_json(e),
    }
}

fn bad_json(e: axum::extract::rejection::JsonRejection) -> Response {
    problem(StatusCode::BAD_REQUEST, "bad-json", "JSON invalide", &e.body_text(), vec![])
}

/// One establishment.
#[utoipa::path(get, path = "/api/v1/establishments/{id}", params(("id" = i64, Path)), responses((status = 200, body = Establishment), (status = 404, body = Problem)))]
async fn get_establishment(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, est::get(&s.db, &a, id).await)
}

/// Changes an establishment (its currency never changes).
#[utoipa::path(put, path = "/api/v1/establishments/{id}", params(("id" = i64, Path)), request_body = EstablishmentInput,
    responses((status = 200, body = Establishment), (status = 422, body = Problem)))]
async fn update_establishment(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, body: Result<Json<EstablishmentInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::OK, est::update(&s.db, &a, id, &i).await),
        Err(e) => bad_json(e),
    }
}

/// Sites of an establishment.
#[utoipa::path(get, path = "/api/v1/establishments/{id}/sites", params(("id" = i64, Path)), responses((status = 200, body = Vec<Site>)))]
async fn list_sites(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, est::list_sites(&s.db, &a, id).await)
}

/// Creates a site.
#[utoipa::path(post, path = "/api/v1/establishments/{id}/sites", params(("id" = i64, Path)), request_body = SiteInput,
    responses((status = 201, body = Site), (status = 422, body = Problem)))]
async fn create_site(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, body: Result<Json<SiteInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, est::create_site(&s.db, &a, id, &i).await),
        Err(e) => bad_json(e),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub establishment_id: Option<i64>,
    pub site_id: Option<i64>,
    pub entity: String,
    pub entity_id: Option<String>,
    pub action: String,
    pub outcome: String,
    /// Changed fields: `{ "field": [before, after] }`.
    pub changes: serde_json::Value,
    pub request_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub total: i64,
    pub items: Vec<AuditEntry>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditParams {
    actor: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    /// `YYYY-MM-DD`
    from: Option<String>,
    /// `YYYY-MM-DD`
    to: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// Reads the audit trail (newest first).
#[utoipa::path(get, path = "/api/v1/audit", params(AuditParams), responses((status = 200, body = AuditPage), (status = 403, body = Problem)))]
async fn audit_search(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(p): Query<AuditParams>) -> Response {
    let mut errs = quittance_domain::validation::FieldErrors::new();
    for (field, v) in [("from", &p.from), ("to", &p.to)] {
        if let Some(v) = v
            && v.parse::<jiff::civil::Date>().is_err() {
                errs.add(field, "Date attendue au format AAAA-MM-JJ.");
            }
    }
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        errs.add("limit", "Entre 1 et 1000.");
    }
    if !errs.is_empty() {
        return problem_from(Error::Invalid(errs));
    }
    let f = AuditFilter { actor: p.actor, entity: p.entity, entity_id: p.entity_id, action: p.action, outcome: p.outcome, from: p.from, to: p.to, ..Default::default() };
    let r = audit::search(&s.db, &a, &f, limit, p.offset.unwrap_or(0).max(0)).await.map(|(rows, total)| AuditPage {
        total,
        items: rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.seq,
                at: r.at,
                actor: r.actor,
                establishment_id: r.establishment_id,
                site_id: r.site_id,
                entity: r.entity,
                entity_id: r.entity_id,
                action: r.action,
                outcome: r.outcome,
                changes: serde_json::from_str(&r.changes).unwrap_or_default(),
                request_id: r.request_id,
            })
            .collect(),
    });
    reply(StatusCode::OK, r)
}

// ---------------------------------------------------------------- patients

#[derive(Deserialize, utoipa::IntoParams)]
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
#[utoipa::path(get, path = "/api/v1/patients", params(PatientSearchParams), responses((status = 200, body = patients::SearchPage), (status = 422, body = Problem)))]
async fn search_patients(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(p): Query<PatientSearchParams>) -> Response {
    let mut errs = quittance_domain::validation::FieldErrors::new();
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        errs.add("limit", "Entre 1 et 500.");
    }
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
    reply(StatusCode::OK, patients::search(&s.db, &a, p.establishment_id, &c, limit, p.offset.unwrap_or(0).max(0)).await)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EstablishmentParam {
    establishment_id: i64,
}

/// Opens a patient file; the IPP is allocated.
#[utoipa::path(post, path = "/api/v1/patients", params(EstablishmentParam), request_body = patients::PatientInput,
    responses((status = 201, body = patients::Patient), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, body: Result<Json<patients::PatientInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, patients::create(&s.db, &a, q.establishment_id, &i).await),
        Err(e) => bad_json(e),
    }
}

/// One patient file with identifiers and debtors (the view is audited).
#[utoipa::path(get, path = "/api/v1/patients/{id}", params(("id" = i64, Path)), responses((status = 200, body = patients::PatientFile), (status = 404, body = Problem)))]
async fn get_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, patients::get(&s.db, &a, id).await)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct VersionParam {
    /// The `version` read; a concurrent change answers 409.
    version: i64,
}

/// Replaces a file's content. A change of identity status or strict trait needs `reason`.
#[utoipa::path(put, path = "/api/v1/patients/{id}", params(("id" = i64, Path), VersionParam), request_body = patients::PatientInput,
    responses((status = 200, body = patients::Patient), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_patient(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, body: Result<Json<patients::PatientInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::OK, patients::update(&s.db, &a, id, v.version, &i).await),
        Err(e) => bad_json(e),
    }
}

/// Adds a debtor.
#[utoipa::path(post, path = "/api/v1/patients/{id}/debtors", params(("id" = i64, Path)), request_body = patients::DebtorInput,
    responses((status = 201, body = patients::Debtor), (status = 422, body = Problem)))]
async fn add_debtor(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, body: Result<Json<patients::DebtorInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, patients::save_debtor(&s.db, &a, id, None, &i).await),
        Err(e) => bad_json(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct IdentifierInput {
    pub issuer: String,
    pub value: String,
}

/// Adds an external identifier with its issuer.
#[utoipa::path(post, path = "/api/v1/patients/{id}/identifiers", params(("id" = i64, Path)), request_body = IdentifierInput,
    responses((status = 201, body = patients::Identifier), (status = 422, body = Problem)))]
async fn add_identifier(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, body: Result<Json<IdentifierInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, patients::add_identifier(&s.db, &a, id, &i.issuer, &i.value).await),
        Err(e) => bad_json(e),
    }
}

// ---------------------------------------------------------------- coverages, stays, payers

use quittance_store::{care::coverages, care::payers, care::stays};

/// The patient's coverage rights with their flags (overlaps, gaps, expiries).
#[utoipa::path(get, path = "/api/v1/patients/{id}/coverages", params(("id" = i64, Path)), responses((status = 200, body = coverages::CoverageSummary)))]
async fn list_coverages(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    let today = match patients::check_read(&s.db, &a, id).await {
        Ok(p) => today_of(&s, &a, p.establishment_id).await,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::OK, coverages::list(&s.db, &a, id, today).await)
}

/// Adds a coverage right (blank rates take the payer's dated defaults).
#[utoipa::path(post, path = "/api/v1/patients/{id}/coverages", params(("id" = i64, Path)), request_body = coverages::CoverageInput,
    responses((status = 201, body = coverages::Coverage), (status = 422, body = Problem)))]
async fn add_coverage(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, body: Result<Json<coverages::CoverageInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, coverages::save(&s.db, &a, id, None, &i).await),
        Err(e) => bad_json(e),
    }
}

/// The patient's stays, newest first.
#[utoipa::path(get, path = "/api/v1/patients/{id}/stays", params(("id" = i64, Path)), responses((status = 200, body = Vec<stays::Stay>)))]
async fn list_stays(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, stays::list(&s.db, &a, id).await)
}

/// Opens a stay.
#[utoipa::path(post, path = "/api/v1/patients/{id}/stays", params(("id" = i64, Path)), request_body = stays::StayInput,
    responses((status = 201, body = stays::Stay), (status = 422, body = Problem)))]
async fn add_stay(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, body: Result<Json<stays::StayInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, stays::save(&s.db, &a, id, None, 0, &i).await),
        Err(e) => bad_json(e),
    }
}

/// Payers of an establishment.
#[utoipa::path(get, path = "/api/v1/payers", params(EstablishmentParam), responses((status = 200, body = Vec<payers::Payer>)))]
async fn list_payers(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    reply(StatusCode::OK, payers::list(&s.db, &a, q.establishment_id).await)
}

/// Creates a payer.
#[utoipa::path(post, path = "/api/v1/payers", params(EstablishmentParam), request_body = payers::PayerInput,
    responses((status = 201, body = payers::Payer), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_payer(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, body: Result<Json<payers::PayerInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, payers::create(&s.db, &a, q.establishment_id, &i).await),
        Err(e) => bad_json(e),
    }
}

/// One payer.
#[utoipa::path(get, path = "/api/v1/payers/{id}", params(("id" = i64, Path)), responses((status = 200, body = payers::Payer), (status = 404, body = Problem)))]
async fn get_payer(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, payers::get(&s.db, &a, id).await)
}

/// Changes a payer.
#[utoipa::path(put, path = "/api/v1/payers/{id}", params(("id" = i64, Path)), request_body = payers::PayerInput,
    responses((status = 200, body = payers::Payer), (status = 422, body = Problem)))]
async fn update_payer(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, body: Result<Json<payers::PayerInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::OK, payers::update(&s.db, &a, id, &i).await),
        Err(e) => bad_json(e),
    }
}

// ---------------------------------------------------------------- prises en charge, readiness

use quittance_store::{pec, readiness};

/// The patient's PEC requests.
#[utoipa::path(get, path = "/api/v1/patients/{id}/pec", params(("id" = i64, Path)), responses((status = 200, body = Vec<pec::Pec>)))]
async fn list_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, pec::list(&s.db, &a, id).await)
}

/// Creates a PEC request (brouillon).
#[utoipa::path(post, path = "/api/v1/patients/{id}/pec", params(("id" = i64, Path)), request_body = pec::PecInput,
    responses((status = 201, body = pec::Pec), (status = 422, body = Problem)))]
async fn create_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, body: Result<Json<pec::PecInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, pec::create(&s.db, &a, id, &i).await),
        Err(e) => bad_json(e),
    }
}

/// One PEC request.
#[utoipa::path(get, path = "/api/v1/pec/{id}", params(("id" = i64, Path)), responses((status = 200, body = pec::Pec), (status = 404, body = Problem)))]
async fn get_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, pec::get(&s.db, &a, id).await)
}

/// Marks a draft as sent.
#[utoipa::path(post, path = "/api/v1/pec/{id}/send", params(("id" = i64, Path), VersionParam), responses((status = 200, body = pec::Pec), (status = 422, body = Problem), (status = 409, body = Problem)))]
async fn send_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>) -> Response {
    let sent = match pec::send(&s.db, &a, id, v.version).await {
        Ok(p) => p,
        Err(e) => return problem_from(e),
    };
    crate::pec_pages::file_sent_letter(&s.db, &a, &s.config.documents, &sent).await;
    reply(StatusCode::OK, Ok::<_, Error>(sent))
}

/// Records the payer's answer.
#[utoipa::path(post, path = "/api/v1/pec/{id}/answer", params(("id" = i64, Path), VersionParam), request_body = pec::AnswerInput,
    responses((status = 200, body = pec::Pec), (status = 422, body = Problem), (status = 409, body = Problem)))]
async fn answer_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, body: Result<Json<pec::AnswerInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::OK, pec::answer(&s.db, &a, id, v.version, &i).await),
        Err(e) => bad_json(e),
    }
}

/// Declares an agreement expired.
#[utoipa::path(post, path = "/api/v1/pec/{id}/expire", params(("id" = i64, Path), VersionParam), responses((status = 200, body = pec::Pec), (status = 422, body = Problem)))]
async fn expire_pec(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>) -> Response {
    reply(StatusCode::OK, pec::expire(&s.db, &a, id, v.version).await)
}

/// Open stays not ready to bill (« Dossiers en attente »).
#[utoipa::path(get, path = "/api/v1/readiness", params(EstablishmentParam), responses((status = 200, body = Vec<readiness::Pending>)))]
async fn readiness_queue(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, readiness::queue(&s.db, &a, q.establishment_id, today).await)
}

/// The billing-readiness checklist of a patient's file and stays.
#[utoipa::path(get, path = "/api/v1/patients/{id}/readiness", params(("id" = i64, Path)), responses((status = 200, body = Vec<readiness::Checklist>)))]
async fn patient_readiness(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    let today = match patients::check_read(&s.db, &a, id).await {
        Ok(p) => today_of(&s, &a, p.establishment_id).await,
        Err(e) => return problem_from(e),
    };
    reply(StatusCode::OK, readiness::checklist(&s.db, &a, id, today).await)
}

/// Today in the establishment's time zone (Nouméa is eleven hours ahead of UTC).
async fn today_of(s: &AppState, a: &Actor, establishment_id: i64) -> jiff::civil::Date {
    let tz = quittance_store::establishments::get(&s.db, a, establishment_id).await.map(|e| e.timezone).unwrap_or_else(|_| "Europe/Paris".into());
    patients::today_in(&tz)
}

/// The request letter of a prise en charge, as PDF.
#[utoipa::path(get, path = "/api/v1/pec/{id}/letter", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
async fn pec_letter(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    match crate::pec_pages::letter_pdf(&s.db, &a, id).await {
        Ok(bytes) => crate::pec_pages::pdf_response(&format!("pec-{id}"), bytes),
        Err(e) => problem_from(e),
    }
}

// ------------------------------------------------------------------ documents

use quittance_store::documents;

/// A multipart upload: the file and the fields of `UploadInput`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    /// PDF, JPEG or PNG (recognised from the content), within the size limit.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
    /// `patient`, `droit:<id>`, `pec:<id>` or `sejour:<id>`.
    target: String,
    class_id: i64,
    /// normal or confidentiel; blank: the class's level.
    confidentiality: Option<String>,
    title: Option<String>,
    /// JJ/MM/AAAA; blank: today.
    document_date: Option<String>,
}

/// The documents of a patient's file (titles of confidential ones masked without the permission).
#[utoipa::path(get, path = "/api/v1/patients/{id}/documents", params(("id" = i64, Path)), responses((status = 200, body = Vec<documents::Document>)))]
async fn list_documents(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, documents::list(&s.db, &a, id).await)
}

/// Files a document (multipart/form-data). 413 over the size limit, 415 when the content is not PDF/JPEG/PNG.
#[utoipa::path(post, path = "/api/v1/patients/{id}/documents", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", content = UploadForm),
    responses((status = 201, body = documents::Document), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn upload_document(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, mp: axum::extract::Multipart) -> Response {
    let storage = s.config.documents.clone();
    let u = match crate::documents_pages::read_upload(mp, storage.max_bytes).await {
        Ok(u) => u,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "multipart", "Envoi illisible", &m, vec![]),
    };
    if u.too_large {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Fichier trop volumineux",
            &format!("Le fichier dépasse la taille maximale ({}).", storage.max_label()),
            vec![ProblemField { field: "file".into(), message: format!("{} au plus.", storage.max_label()) }],
        );
    }
    let today = match patients::check_read(&s.db, &a, id).await {
        Ok(p) => today_of(&s, &a, p.establishment_id).await,
        Err(e) => return problem_from(e),
    };
    match documents::upload(&s.db, &a, &storage, id, &u.input, &u.file_name, &u.bytes, today).await {
        Err(Error::Invalid(errs)) if errs.get("file").is_some_and(|m| m.starts_with("Type")) => problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-type",
            "Type de fichier refusé",
            quittance_domain::documents::WRONG_TYPE,
            vec![ProblemField { field: "file".into(), message: quittance_domain::documents::WRONG_TYPE.into() }],
        ),
        r => reply(StatusCode::CREATED, r),
    }
}

/// One document's metadata.
#[utoipa::path(get, path = "/api/v1/documents/{id}", params(("id" = i64, Path)), responses((status = 200, body = documents::Document), (status = 404, body = Problem)))]
async fn get_document(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    reply(StatusCode::OK, documents::get(&s.db, &a, id).await)
}

/// The content, checked against its SHA-256 (also sent in `X-Content-Sha256`). Audited.
#[utoipa::path(get, path = "/api/v1/documents/{id}/content", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn document_content(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>) -> Response {
    match documents::content(&s.db, &a, &s.config.documents, id).await {
        Ok((d, bytes)) => crate::documents_pages::content_response(&d, bytes),
        Err(e) => problem_from(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct WithdrawBody {
    /// Why the document is withdrawn (required).
    reason: String,
}

/// Withdraws a document filed by mistake (kept, no longer counted).
#[utoipa::path(post, path = "/api/v1/documents/{id}/withdraw", params(("id" = i64, Path), VersionParam), request_body = WithdrawBody,
    responses((status = 200, body = documents::Document), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn withdraw_document(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(v): Query<VersionParam>, body: Result<Json<WithdrawBody>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(b)) => reply(StatusCode::OK, documents::withdraw(&s.db, &a, id, v.version, &b.reason).await),
        Err(e) => bad_json(e),
    }
}

/// Documents whose retention period is over.
#[utoipa::path(get, path = "/api/v1/documents/past-retention", params(EstablishmentParam), responses((status = 200, body = Vec<documents::Expired>)))]
async fn documents_past_retention(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, documents::past_retention(&s.db, &a, q.establishment_id, today).await)
}

/// Open stays missing a document the classification plan requires.
#[utoipa::path(get, path = "/api/v1/documents/missing", params(EstablishmentParam), responses((status = 200, body = Vec<readiness::Pending>)))]
async fn documents_missing(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    let today = today_of(&s, &a, q.establishment_id).await;
    reply(StatusCode::OK, readiness::missing_documents_report(&s.db, &a, q.establishment_id, today).await)
}

/// The classification plan of an establishment.
#[utoipa::path(get, path = "/api/v1/document-classes", params(EstablishmentParam), responses((status = 200, body = Vec<documents::DocClass>)))]
async fn list_document_classes(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>) -> Response {
    reply(StatusCode::OK, documents::classes(&s.db, &a, q.establishment_id).await)
}

/// Adds a class to the plan (administrators).
#[utoipa::path(post, path = "/api/v1/document-classes", params(EstablishmentParam), request_body = documents::ClassInput,
    responses((status = 201, body = documents::DocClass), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_document_class(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(q): Query<EstablishmentParam>, body: Result<Json<documents::ClassInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::CREATED, documents::save_class(&s.db, &a, q.establishment_id, None, &i).await),
        Err(e) => bad_json(e),
    }
}

/// Changes a class of the plan (administrators).
#[utoipa::path(put, path = "/api/v1/document-classes/{id}", params(("id" = i64, Path), EstablishmentParam), request_body = documents::ClassInput,
    responses((status = 200, body = documents::DocClass), (status = 422, body = Problem), (status = 404, body = Problem)))]
async fn update_document_class(State(s): State<AppState>, Extension(a): Extension<Actor>, Path(id): Path<i64>, Query(q): Query<EstablishmentParam>, body: Result<Json<documents::ClassInput>, axum::extract::rejection::JsonRejection>) -> Response {
    match body {
        Ok(Json(i)) => reply(StatusCode::OK, documents::save_class(&s.db, &a, q.establishment_id, Some(id), &i).await),
        Err(e) => bad_json(e),
    }
}
