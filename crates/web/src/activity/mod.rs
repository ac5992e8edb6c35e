//! Activity: a patient's CMS acts and annexed services (TV, telephone) — recorded, listed,
//! valued — and each site's offer of services. Recording needs `write_patients` on the site;
//! the offers `manage_tariffs`; every view of a patient's activity is audited.

pub mod api;
pub mod pages;

use axum::Router;
use axum::routing::get;
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[NavEntry {
    href: "/prestations-annexes",
    label: "Prestations annexes",
    prefix: "/prestations-annexes",
    exact: false,
    visible: |a| a.allows_anywhere(Permission::ReadEstablishments),
}];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/patients/{id}/activite", get(pages::activity))
        .route("/patients/{id}/actes/nouveau", get(pages::act_new).post(pages::act_create))
        .route("/patients/{id}/actes/{aid}/annuler", get(pages::act_cancel_page).post(pages::act_cancel))
        .route("/patients/{id}/prestations/nouveau", get(pages::subscription_new).post(pages::subscription_create))
        .route("/patients/{id}/prestations/{sid}/clore", get(pages::subscription_close_page).post(pages::subscription_close))
        .route("/patients/{id}/prestations/{sid}/unites", get(pages::units_page).post(pages::units_create))
        .route("/prestations-annexes", get(pages::offers))
        .route("/prestations-annexes/nouveau", get(pages::offer_new).post(pages::offer_create))
        .route("/prestations-annexes/{oid}/modifier", get(pages::offer_edit).post(pages::offer_update))
}
