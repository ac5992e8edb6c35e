//! Billing readiness: the « Dossiers en attente » work queue and its exports.

pub mod api;
pub mod pages;

use axum::Router;
use axum::routing::get;
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[NavEntry {
    href: "/dossiers-en-attente",
    label: "Dossiers en attente",
    prefix: "/dossiers-en-attente",
    exact: false,
    visible: |a| a.allows_anywhere(Permission::ReadPatients),
}];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dossiers-en-attente", get(pages::page))
        .route("/dossiers-en-attente.csv", get(pages::csv))
        .route("/dossiers-en-attente.xlsx", get(pages::xlsx))
}
