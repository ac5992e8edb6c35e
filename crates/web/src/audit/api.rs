//! API: the audit trail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use quittance_store::{Actor, Error};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::Query;
use crate::api::{Problem, problem_from, reply};
use quittance_store::audit::{self, AuditFilter};

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
#[into_params(parameter_in = Query)]
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
#[utoipa::path(get, path = "/audit", params(AuditParams), responses((status = 200, body = AuditPage), (status = 403, body = Problem)))]
pub async fn audit_search(State(s): State<AppState>, Extension(a): Extension<Actor>, Query(p): Query<AuditParams>) -> Response {
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
    let offset = crate::extract::api_offset(p.offset, &mut errs);
    if !errs.is_empty() {
        return problem_from(Error::Invalid(errs));
    }
    let f = AuditFilter { actor: p.actor, entity: p.entity, entity_id: p.entity_id, action: p.action, outcome: p.outcome, from: p.from, to: p.to, ..Default::default() };
    let r = audit::search(&s.db, &a, &f, limit, offset).await.map(|(rows, total)| AuditPage {
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

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit_search))
}
