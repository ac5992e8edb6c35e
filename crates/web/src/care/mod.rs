//! Care: stays, coverage rights, payers and their dated default rates.

pub mod api;
pub mod movements;
pub mod movements_api;
pub mod pages;
pub mod payers;

use axum::Router;
use axum::routing::{get, post};
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[NavEntry {
    href: "/organismes",
    label: "Organismes",
    prefix: "/organismes",
    exact: false,
    visible: |a| a.allows_anywhere(Permission::Bill) || a.allows_anywhere(Permission::ManageEstablishments),
}];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/patients/{id}/sejours/nouveau", get(pages::stay_new).post(pages::stay_create))
        .route("/patients/{id}/sejours/{sid}/modifier", get(pages::stay_edit).post(pages::stay_update))
        .route("/patients/{id}/sejours/{sid}/valorisation", get(pages::stay_valuation))
        .route("/patients/{id}/sejours/{sid}/mouvements", get(movements::list))
        .route("/patients/{id}/sejours/{sid}/mouvements/nouveau", get(movements::movement_new).post(movements::movement_create))
        .route("/patients/{id}/sejours/{sid}/mouvements/{mid}/annuler", post(movements::movement_cancel))
        .route("/patients/{id}/sejours/{sid}/actes/nouveau", get(movements::act_new).post(movements::act_create))
        .route("/patients/{id}/sejours/{sid}/actes/{aid}/annuler", post(movements::act_cancel))
        .route("/patients/{id}/droits/nouveau", get(pages::coverage_new).post(pages::coverage_create))
        .route("/patients/{id}/droits/{cid}/modifier", get(pages::coverage_edit).post(pages::coverage_update))
        .route("/organismes", get(payers::list))
        .route("/organismes.csv", get(payers::list_csv))
        .route("/organismes/nouveau", get(payers::new_page).post(payers::create))
        .route("/organismes/{id}", get(payers::view))
        .route("/organismes/{id}/modifier", get(payers::edit_page).post(payers::update))
        .route("/organismes/{id}/taux", post(payers::add_rate))
}
