//! Establishments, their sites and numbering series, and the billing-readiness rules.

pub mod api;
pub mod pages;
pub mod rules;

use axum::Router;
use axum::routing::{get, post};
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[NavEntry {
    href: "/admin/etablissements",
    label: "Établissements",
    prefix: "/admin/etab",
    exact: false,
    visible: |a| a.allows_anywhere(Permission::ManageEstablishments),
}];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/etablissements", get(pages::establishments))
        .route("/admin/etablissements/nouveau", get(pages::establishment_new).post(pages::establishment_create))
        .route("/admin/etablissements/{id}", get(pages::establishment_view))
        .route("/admin/etablissements/{id}/modifier", get(pages::establishment_edit).post(pages::establishment_update))
        .route("/admin/etablissements/{id}/sites/nouveau", get(pages::site_new).post(pages::site_create))
        .route("/admin/etablissements/{id}/sites/{sid}/modifier", get(pages::site_edit).post(pages::site_update))
        .route("/admin/etablissements/{id}/series", post(pages::series_save))
        .route("/admin/etablissements.csv", get(pages::establishments_csv))
        .route("/admin/etablissements/{id}/regles-facturation", get(rules::page).post(rules::save))
}
