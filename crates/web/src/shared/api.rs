//! The JSON API's plumbing under `/api/v1`: bearer API keys only (never the session cookie), errors as
//! `application/problem+json`, the OpenAPI 3.1 document built from the capabilities' routers (each
//! capability's `api()` registers its handlers with `routes!`, so no path is listed by hand).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use quittance_store::{Actor, Error, patients};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use crate::{AppState, RequestId};

/// The API's router (paths under `/api/v1`) and its OpenAPI document, from the capabilities' routers.
pub fn routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let caps = OpenApiRouter::new()
        .merge(crate::access::api::api())
        .merge(crate::establishments::api::api())
        .merge(crate::audit::api::api())
        .merge(crate::patients::api::api())
        .merge(crate::care::api::api())
        .merge(crate::billing::api::api())
        .merge(crate::activity::api::api())
        .merge(crate::pec::api::api())
        .merge(crate::readiness::api::api())
        .merge(crate::documents::api::api(state))
        .route("/", axum::routing::any(api_not_found))
        .route("/{*rest}", axum::routing::any(api_not_found))
        .layer(middleware::from_fn_with_state(state.clone(), require_key));
    let (router, mut doc) = OpenApiRouter::with_openapi(base_doc()).nest("/api/v1", caps).split_for_parts();
    utoipa::Modify::modify(&BearerAuth, &mut doc);
    finish_doc(&mut doc);
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new("cle_api", Vec::<String>::new())]);
    let served = doc.clone();
    let router = router
        .route("/api/v1/openapi.json", axum::routing::get(move || std::future::ready(Json(served.clone()).into_response())));
    (router, doc)
}

/// Makes the document true to what the API answers, whatever each annotation says: every error
/// answer is `application/problem+json` with the `Problem` schema; every operation documents 401
/// (no or bad key) and 403 (roles); one with path parameters 400 and 404; with query parameters
/// 400; with a body 400, 413, 415 and 422; with a `version` parameter 409.
pub fn finish_doc(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
    let problem_response = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let item_params: Vec<(ParameterIn, String)> =
            item.parameters.iter().flatten().map(|p| (p.parameter_in.clone(), p.name.clone())).collect();
        for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
            let mut params = item_params.clone();
            params.extend(op.parameters.iter().flatten().map(|p| (p.parameter_in.clone(), p.name.clone())));
            let in_path = params.iter().any(|(i, _)| matches!(i, ParameterIn::Path));
            let in_query = params.iter().any(|(i, _)| matches!(i, ParameterIn::Query));
            let versioned = params.iter().any(|(_, n)| n == "version");
            let body = op.request_body.is_some();
            let responses = &mut op.responses.responses;
            for (code, r) in responses.iter_mut() {
                if code.as_str() >= "400"
                    && let RefOr::T(r) = r
                {
                    let schema = r.content.shift_remove("application/json").and_then(|c| c.schema);
                    if !r.content.contains_key("application/problem+json") {
                        r.content.insert(
                            "application/problem+json".into(),
                            Content::new(Some(schema.unwrap_or_else(|| Ref::from_schema_name("Problem").into()))),
                        );
                    }
                }
            }
            let mut add = |code: &str, description: &str| {
                responses.entry(code.to_string()).or_insert_with(|| problem_response(description));
            };
            add("401", "Clé d'API absente, inconnue ou révoquée, ou mot de passe temporaire à changer.");
            add("403", "Les rôles de la clé ne permettent pas cette action (refus audité).");
            if in_path || in_query || body {
                add("400", "Paramètre d'adresse, de requête ou corps JSON mal formé (le champ est nommé).");
            }
            if in_path {
                add("404", "Enregistrement introuvable ou non visible pour cette clé.");
            }
            if in_query && !body {
                add("422", "Paramètre de requête invalide : chaque erreur nomme son champ.");
            }
            if body {
                add("413", "Corps trop volumineux.");
                add("415", "Type de contenu refusé.");
                add("422", "Saisie invalide : chaque erreur nomme son champ.");
            }
            if versioned {
                add("409", "L'enregistrement a changé depuis la version lue : relisez-le.");
            }
        }
    }
}

fn base_doc() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{InfoBuilder, OpenApiBuilder};
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Quittance API")
                .version("1")
                .description(Some("Facturation et recettes des établissements de santé. Authentification : clé d'API en « Authorization: Bearer »."))
                .build(),
        )
        .build()
}

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
        Error::Unauthenticated => unauthorized(),
        Error::PasswordChangeRequired => problem(
            StatusCode::FORBIDDEN,
            "password-change-required",
            "Mot de passe provisoire",
            "L'utilisateur de cette clé doit d'abord changer son mot de passe provisoire en se connectant à l'application ; la clé est refusée jusque-là.",
            vec![],
        ),
        Error::Conflict(m) => problem(StatusCode::CONFLICT, "conflict", "Conflit", &m, vec![]),
        Error::Throttled => problem(StatusCode::TOO_MANY_REQUESTS, "throttled", "Trop de requêtes", "Réessayez plus tard.", vec![]),
        e => {
            tracing::error!(error = %e, "api request failed");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Erreur interne", "Rien n'a été enregistré.", vec![])
        }
    }
}

pub fn unauthorized() -> Response {
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

pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
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

pub async fn api_not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "no-route", "Introuvable", "Cette ressource de l'API n'existe pas.", vec![])
}

pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme("cle_api", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub fn reply<T: Serialize>(status: StatusCode, r: Result<T, Error>) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => problem_from(e),
    }
}


#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EstablishmentParam {
    pub establishment_id: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParam {
    /// The `version` read; a concurrent change answers 409.
    pub version: i64,
}

/// Today in the establishment's time zone (Nouméa is eleven hours ahead of UTC).
pub async fn today_of(s: &AppState, a: &Actor, establishment_id: i64) -> jiff::civil::Date {
    let tz = quittance_store::establishments::get(&s.db, a, establishment_id).await.map(|e| e.timezone).unwrap_or_else(|_| "Europe/Paris".into());
    patients::today_in(&tz)
}