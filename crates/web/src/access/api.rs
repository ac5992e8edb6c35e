//! API: who the API key acts as.

use axum::response::{IntoResponse, Response};
use axum::Extension;
use quittance_store::Actor;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::Json;
use crate::api::Problem;

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
#[utoipa::path(get, path = "/me", responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(Extension(actor): Extension<Actor>) -> Response {
    Json(Me {
        user_id: actor.user_id,
        username: actor.username.clone(),
        roles: actor.grants.0.iter().map(|g| MeRole { role: g.role.code().into(), establishment_id: g.establishment_id, site_id: g.site_id }).collect(),
    })
    .into_response()
}

/// The routes of this capability under `/api/v1`, with their OpenAPI paths.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
}
