//! Filed documents: upload, opening, withdrawal, reports, and the classification plan.

pub mod api;
pub mod pages;

use axum::Router;
use axum::routing::{get, post};
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[NavEntry {
    href: "/documents",
    label: "Documents",
    prefix: "/documents",
    exact: false,
    visible: |a| a.allows_anywhere(Permission::ReadPatients),
}];

pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/patients/{id}/documents/nouveau", get(pages::upload_page))
        .route(
            "/patients/{id}/documents",
            post(pages::upload).layer(axum::extract::DefaultBodyLimit::max(state.config.documents.max_bytes + 256 * 1024)),
        )
        .route("/documents", get(pages::report))
        .route("/documents/manquants.csv", get(pages::missing_csv))
        .route("/documents/manquants.xlsx", get(pages::missing_xlsx))
        .route("/documents/conservation-echue.csv", get(pages::expired_csv))
        .route("/documents/conservation-echue.xlsx", get(pages::expired_xlsx))
        .route("/documents/{id}", get(pages::open))
        .route("/documents/{id}/retirer", post(pages::withdraw))
        .route("/admin/etablissements/{id}/plan-de-classement", get(pages::plan))
        .route("/admin/etablissements/{id}/plan-de-classement/defaut", post(pages::plan_default))
        .route("/admin/etablissements/{id}/plan-de-classement/nouvelle", get(pages::class_new).post(pages::class_create))
        .route("/admin/etablissements/{id}/plan-de-classement/{cid}", get(pages::class_edit).post(pages::class_update))
}
