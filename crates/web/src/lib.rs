//! The web service: French pages, the JSON API under `/api/v1`, health and metrics.

pub mod api;
pub mod audit_pages;
pub mod auth;
pub mod care_pages;
pub mod documents_pages;
pub mod metrics;
pub mod pages;
pub mod patients_pages;
pub mod payers_pages;
pub mod pec_pages;
pub mod pending_pages;
pub mod render;
pub mod rules_pages;
pub mod users_pages;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use quittance_store::Db;

/// Web settings.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Secure cookies with the `__Host-` prefix (on by default; only turned off for
    /// plain-HTTP access from another host, which the README advises against).
    pub secure_cookies: bool,
    /// Where filed documents go, and the largest accepted upload.
    pub documents: quittance_store::documents::Storage,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig { secure_cookies: true, documents: quittance_store::documents::Storage::default() }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<WebConfig>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(db: Db, config: WebConfig) -> AppState {
        AppState { db, config: Arc::new(config), metrics: Arc::new(metrics::Metrics::default()) }
    }
}

/// A request id, put in the extensions by the middleware and in every audit row.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(auth::login_page).post(auth::login_submit))
        .route("/logout", post(auth::logout))
        .route("/mot-de-passe", get(auth::password_page).post(auth::password_submit))
        .route("/contexte", post(auth::switch_context))
        .route("/admin/etablissements", get(pages::establishments))
        .route("/admin/etablissements/nouveau", get(pages::establishment_new).post(pages::establishment_create))
        .route("/admin/etablissements/{id}", get(pages::establishment_view))
        .route("/admin/etablissements/{id}/modifier", get(pages::establishment_edit).post(pages::establishment_update))
        .route("/admin/etablissements/{id}/sites/nouveau", get(pages::site_new).post(pages::site_create))
        .route("/admin/etablissements/{id}/sites/{sid}/modifier", get(pages::site_edit).post(pages::site_update))
        .route("/admin/etablissements/{id}/series", post(pages::series_save))
        .route("/admin/etablissements.csv", get(pages::establishments_csv))
        .route("/admin/utilisateurs", get(users_pages::users))
        .route("/admin/utilisateurs.csv", get(users_pages::users_csv))
        .route("/admin/utilisateurs/nouveau", get(users_pages::user_new).post(users_pages::user_create))
        .route("/admin/utilisateurs/{id}", get(users_pages::user_view))
        .route("/admin/utilisateurs/{id}/etat", post(users_pages::user_toggle))
        .route("/admin/utilisateurs/{id}/reinitialiser", post(users_pages::user_reset))
        .route("/admin/utilisateurs/{id}/roles", post(users_pages::role_add))
        .route("/admin/utilisateurs/{id}/roles/retirer", post(users_pages::role_remove))
        .route("/admin/utilisateurs/{id}/cles", post(users_pages::key_create))
        .route("/admin/utilisateurs/{id}/cles/{kid}/revoquer", post(users_pages::key_revoke))
        .route("/patients", get(patients_pages::search_page))
        .route("/patients/resultats", get(patients_pages::results_fragment))
        .route("/patients/export.csv", get(patients_pages::export_csv))
        .route("/patients/export.xlsx", get(patients_pages::export_xlsx))
        .route("/patients/nouveau", get(patients_pages::new_page).post(patients_pages::create))
        .route("/patients/{id}", get(patients_pages::view))
        .route("/patients/{id}/modifier", get(patients_pages::edit_page).post(patients_pages::update))
        .route("/patients/{id}/identifiants", post(patients_pages::add_identifier))
        .route("/patients/{id}/debiteurs/nouveau", get(patients_pages::debtor_new).post(patients_pages::debtor_create))
        .route("/patients/{id}/debiteurs/{did}/modifier", get(patients_pages::debtor_edit).post(patients_pages::debtor_update))
        .route("/patients/{id}/sejours/nouveau", get(care_pages::stay_new).post(care_pages::stay_create))
        .route("/patients/{id}/sejours/{sid}/modifier", get(care_pages::stay_edit).post(care_pages::stay_update))
        .route("/patients/{id}/droits/nouveau", get(care_pages::coverage_new).post(care_pages::coverage_create))
        .route("/patients/{id}/droits/{cid}/modifier", get(care_pages::coverage_edit).post(care_pages::coverage_update))
        .route("/dossiers-en-attente", get(pending_pages::page))
        .route("/dossiers-en-attente.csv", get(pending_pages::csv))
        .route("/dossiers-en-attente.xlsx", get(pending_pages::xlsx))
        .route("/patients/{id}/pec/nouvelle", get(pec_pages::new_page).post(pec_pages::create))
        .route("/patients/{id}/pec/{pid}", get(pec_pages::view))
        .route("/patients/{id}/pec/{pid}/lettre.pdf", get(pec_pages::letter))
        .route("/patients/{id}/pec/{pid}/envoyer", post(pec_pages::send))
        .route("/patients/{id}/pec/{pid}/reponse", post(pec_pages::answer))
        .route("/patients/{id}/pec/{pid}/expirer", post(pec_pages::expire))
        .route("/patients/{id}/documents/nouveau", get(documents_pages::upload_page))
        .route(
            "/patients/{id}/documents",
            post(documents_pages::upload).layer(axum::extract::DefaultBodyLimit::max(state.config.documents.max_bytes + 256 * 1024)),
        )
        .route("/documents", get(documents_pages::report))
        .route("/documents/manquants.csv", get(documents_pages::missing_csv))
        .route("/documents/manquants.xlsx", get(documents_pages::missing_xlsx))
        .route("/documents/conservation-echue.csv", get(documents_pages::expired_csv))
        .route("/documents/conservation-echue.xlsx", get(documents_pages::expired_xlsx))
        .route("/documents/{id}", get(documents_pages::open))
        .route("/documents/{id}/retirer", post(documents_pages::withdraw))
        .route("/admin/etablissements/{id}/plan-de-classement", get(documents_pages::plan))
        .route("/admin/etablissements/{id}/plan-de-classement/defaut", post(documents_pages::plan_default))
        .route("/admin/etablissements/{id}/plan-de-classement/nouvelle", get(documents_pages::class_new).post(documents_pages::class_create))
        .route("/admin/etablissements/{id}/plan-de-classement/{cid}", get(documents_pages::class_edit).post(documents_pages::class_update))
        .route("/admin/etablissements/{id}/regles-facturation", get(rules_pages::page).post(rules_pages::save))
        .route("/organismes", get(payers_pages::list))
        .route("/organismes.csv", get(payers_pages::list_csv))
        .route("/organismes/nouveau", get(payers_pages::new_page).post(payers_pages::create))
        .route("/organismes/{id}", get(payers_pages::view))
        .route("/organismes/{id}/modifier", get(payers_pages::edit_page).post(payers_pages::update))
        .route("/organismes/{id}/taux", post(payers_pages::add_rate))
        .route("/admin/audit", get(audit_pages::audit))
        .route("/admin/audit.csv", get(audit_pages::audit_csv))
        .route("/admin/audit.xlsx", get(audit_pages::audit_xlsx))
        .route("/static/app.css", get(static_css))
        .route("/static/app.js", get(static_js))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .nest("/api/v1", api::router(state.clone()))
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), envelope))
        .with_state(state)
}

/// Request id, security headers and metrics around every response.
async fn envelope(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| quittance_store::access::random_hex(8));
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let route = log_route(req.uri().path());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    let micros = started.elapsed().as_micros() as u64;
    state.metrics.observe(res.status().as_u16(), micros);
    tracing::info!(request_id = %id, %method, route = %route, status = res.status().as_u16(), ms = micros / 1000, "requête");
    res
}

/// The path as logged: numeric segments become `:id`, the query string is never
/// logged, so no patient data (names, numbers searched for) reaches the logs.
fn log_route(path: &str) -> String {
    path.split('/')
        .map(|seg| if !seg.is_empty() && seg.chars().any(|c| c.is_ascii_digit()) { ":id" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

async fn static_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/app.css"),
    )
        .into_response()
}

async fn static_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/app.js"),
    )
        .into_response()
}

/// Liveness: the process answers. Reveals nothing.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "base de données injoignable").into_response()
    }
}

/// Prometheus metrics; needs an API key whose owner may read metrics (administrateur).
async fn metrics_endpoint(State(state): State<AppState>, req: Request<Body>) -> Response {
    let actor = match api::bearer_actor(&state, req.headers()).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Err(e) = actor
        .require_anywhere(&state.db, quittance_domain::access::Permission::ReadMetrics, "metrics", "read")
        .await
    {
        return api::problem_from(e);
    }
    let backend = match state.db.backend() {
        quittance_store::Backend::Sqlite => "sqlite",
        quittance_store::Backend::Postgres => "postgres",
    };
    let up = state.db.ping().await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render(up, backend)).into_response()
}
