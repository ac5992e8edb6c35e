//! Billing: the establishment's dated tariffs and rule parameters (pages and API). Reading
//! needs `ReadEstablishments` (every role); adding or closing a version `ManageTariffs`.

pub mod api;
pub mod pages;

use axum::Router;
use axum::routing::get;
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[
    NavEntry {
        href: "/tarifs",
        label: "Tarifs",
        prefix: "/tarifs",
        exact: false,
        visible: |a| a.allows_anywhere(Permission::ReadEstablishments),
    },
    NavEntry {
        href: "/parametres-facturation",
        label: "Paramètres de facturation",
        prefix: "/parametres-facturation",
        exact: false,
        visible: |a| a.allows_anywhere(Permission::ReadEstablishments),
    },
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tarifs", get(pages::tariffs))
        .route("/tarifs.csv", get(pages::tariffs_csv))
        .route("/tarifs/nouveau", get(pages::tariff_new).post(pages::tariff_create))
        .route("/tarifs/{id}/clore", get(pages::tariff_close_page).post(pages::tariff_close))
        .route("/parametres-facturation", get(pages::parameters))
        .route("/parametres-facturation.csv", get(pages::parameters_csv))
        .route("/parametres-facturation/nouveau", get(pages::parameter_new).post(pages::parameter_create))
        .route("/parametres-facturation/{id}/clore", get(pages::parameter_close_page).post(pages::parameter_close))
}
