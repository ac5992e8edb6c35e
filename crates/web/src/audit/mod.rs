//! The audit trail: search page, exports, API.

pub mod api;
pub mod pages;

use axum::Router;
use axum::routing::get;
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[NavEntry {
    href: "/admin/audit",
    label: "Journal d'audit",
    prefix: "/admin/audit",
    exact: false,
    visible: |a| a.allows_anywhere(Permission::ReadAudit),
}];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(pages::audit))
        .route("/admin/audit.csv", get(pages::audit_csv))
        .route("/admin/audit.xlsx", get(pages::audit_xlsx))
}
