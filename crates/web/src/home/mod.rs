//! The home page (tableau de bord) and the « page introuvable » fallback.

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use quittance_store::establishments as est;

use crate::AppState;
use crate::render::{Chrome, NavEntry, PageResult, error_page, html};
use crate::session::Ctx;

pub const NAV: &[NavEntry] = &[NavEntry { href: "/", label: "Tableau de bord", prefix: "/", exact: true, visible: |_| true }];

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

// ---------------------------------------------------------------- dashboard

#[derive(Template)]
#[template(path = "home/dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    establishment: String,
    site: Option<String>,
    roles: Vec<String>,
    counts: Vec<(String, String)>,
}

pub async fn dashboard(ctx: Ctx) -> PageResult {
    let a = ctx.actor();
    let ests = est::list(&ctx.state.db, a).await?;
    let current = a.establishment_id.and_then(|id| ests.iter().find(|e| e.id == id)).or(ests.first());
    let mut site = None;
    let mut counts = Vec::new();
    if let Some(e) = current
        && let Ok(sites) = est::list_sites(&ctx.state.db, a, e.id).await {
            site = a.site_id.and_then(|s| sites.iter().find(|x| x.id == s)).map(|s| s.name.clone());
            counts.push(("Sites de l'établissement".to_string(), quittance_domain::fr::format_int_fr(sites.len() as i64)));
        }
    let names: std::collections::HashMap<i64, String> = ests.iter().map(|e| (e.id, e.name.clone())).collect();
    let roles = a
        .grants
        .0
        .iter()
        .map(|g| {
            let place = names.get(&g.establishment_id).cloned().unwrap_or_default();
            match g.site_id {
                Some(_) => format!("{} — {} (un site)", g.role.label(), place),
                None => format!("{} — {}", g.role.label(), place),
            }
        })
        .collect();
    let page = Dashboard {
        chrome: ctx.chrome("Tableau de bord").await,
        establishment: current.map(|e| e.name.clone()).unwrap_or_else(|| "aucun établissement".into()),
        site,
        roles,
        counts,
    };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "Page introuvable", "L'adresse demandée n'existe pas.")
}

