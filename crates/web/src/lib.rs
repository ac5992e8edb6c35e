//! The web service: French pages, the JSON API under `/api/v1`, health and metrics.

pub mod access;
pub mod activity;
pub mod audit;
pub mod billing;
pub mod care;
pub mod documents;
pub mod establishments;
pub mod home;
pub mod patients;
pub mod pec;
pub mod readiness;
pub mod shared;

pub use shared::{api, export, extract, form, metrics, render, session};

/// The navigation, in menu order; each capability declares its entries (shown when `visible`).
pub const NAV: &[&[render::NavEntry]] = &[
    home::NAV,
    patients::NAV,
    readiness::NAV,
    documents::NAV,
    care::NAV,
    billing::NAV,
    activity::NAV,
    pec::NAV,
    establishments::NAV,
    access::NAV,
    audit::NAV,
];

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use quittance_store::Db;

/// Web settings.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Secure cookies with the `__Host-` prefix (on by default; only turned off for
    /// plain-HTTP access from another host, which the README advises against).
    pub secure_cookies: bool,
    /// Where filed documents go, and the largest accepted upload.
    pub documents: quittance_store::documents::Storage,
    /// Reverse proxies whose `X-Forwarded-For` is believed (login throttling by client address);
    /// empty: the socket peer is the client.
    pub trusted_proxies: Vec<session::IpNet>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig { secure_cookies: true, documents: quittance_store::documents::Storage::default(), trusted_proxies: Vec::new() }
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

/// The whole application: each capability's page routes, the API (with its OpenAPI document), health,
/// metrics and static files.
pub fn router(state: AppState) -> Router {
    let (api, _) = api::routes(&state);
    Router::new()
        .merge(home::routes())
        .merge(access::routes())
        .merge(establishments::routes())
        .merge(patients::routes())
        .merge(care::routes())
        .merge(billing::routes())
        .merge(activity::routes())
        .merge(readiness::routes())
        .merge(pec::routes())
        .merge(documents::routes(&state))
        .merge(audit::routes())
        .merge(api)
        .route("/static/app.css", get(static_css))
        .route("/static/app.js", get(static_js))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .fallback(home::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), envelope))
        .with_state(state)
}

/// The OpenAPI document of the API, as served at `/api/v1/openapi.json`.
pub fn openapi(state: &AppState) -> utoipa::openapi::OpenApi {
    api::routes(state).1
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
