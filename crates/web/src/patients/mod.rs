//! The patient administrative file: search, identity, identifiers, debtors, exports.

pub mod api;
pub mod pages;

use axum::Router;
use axum::routing::{get, post};
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[NavEntry {
    href: "/patients",
    label: "Patients",
    prefix: "/patients",
    exact: false,
    visible: |a| a.allows_anywhere(Permission::ReadPatients),
}];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/patients", get(pages::search_page))
        .route("/patients/resultats", get(pages::results_fragment))
        .route("/patients/export.csv", get(pages::export_csv))
        .route("/patients/export.xlsx", get(pages::export_xlsx))
        .route("/patients/nouveau", get(pages::new_page).post(pages::create))
        .route("/patients/{id}", get(pages::view))
        .route("/patients/{id}/modifier", get(pages::edit_page).post(pages::update))
        .route("/patients/{id}/identifiants", post(pages::add_identifier))
        .route("/patients/{id}/debiteurs/nouveau", get(pages::debtor_new).post(pages::debtor_create))
        .route("/patients/{id}/debiteurs/{did}/modifier", get(pages::debtor_edit).post(pages::debtor_update))
}
