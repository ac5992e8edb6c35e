//! Access: login, sessions, password changes, the context switcher, users, roles and API keys.

pub mod api;
pub mod login;
pub mod users;

use axum::Router;
use axum::routing::{get, post};
use quittance_domain::access::Permission;

use crate::AppState;
use crate::render::NavEntry;

pub const NAV: &[NavEntry] = &[NavEntry {
    href: "/admin/utilisateurs",
    label: "Utilisateurs",
    prefix: "/admin/util",
    exact: false,
    visible: |a| a.allows_anywhere(Permission::ManageUsers),
}];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::login_page).post(login::login_submit))
        .route("/logout", post(login::logout))
        .route("/mot-de-passe", get(login::password_page).post(login::password_submit))
        .route("/contexte", post(login::switch_context))
        .route("/admin/utilisateurs", get(users::users))
        .route("/admin/utilisateurs.csv", get(users::users_csv))
        .route("/admin/utilisateurs/nouveau", get(users::user_new).post(users::user_create))
        .route("/admin/utilisateurs/{id}", get(users::user_view))
        .route("/admin/utilisateurs/{id}/etat", post(users::user_toggle))
        .route("/admin/utilisateurs/{id}/reinitialiser", post(users::user_reset))
        .route("/admin/utilisateurs/{id}/roles", post(users::role_add))
        .route("/admin/utilisateurs/{id}/roles/retirer", post(users::role_remove))
        .route("/admin/utilisateurs/{id}/cles", post(users::key_create))
        .route("/admin/utilisateurs/{id}/cles/{kid}/revoquer", post(users::key_revoke))
}
