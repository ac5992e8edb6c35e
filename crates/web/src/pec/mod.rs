//! Prises en charge: requests to complementary payers, their answers, the request letter.

pub mod api;
pub mod pages;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/patients/{id}/pec/nouvelle", get(pages::new_page).post(pages::create))
        .route("/patients/{id}/pec/{pid}", get(pages::view))
        .route("/patients/{id}/pec/{pid}/lettre.pdf", get(pages::letter))
        .route("/patients/{id}/pec/{pid}/envoyer", post(pages::send))
        .route("/patients/{id}/pec/{pid}/reponse", post(pages::answer))
        .route("/patients/{id}/pec/{pid}/expirer", post(pages::expire))
}
