//! Administration of users, their roles and their API keys.

use askama::Template;
use crate::extract::PagePath as Path;
use axum::http::StatusCode;
use axum::response::Response;
use quittance_domain::access::{Grant, Permission, Role, Scope};
use quittance_domain::validation::FieldErrors;
use quittance_store::access::{self as store_auth, NewUser, User};
use quittance_store::establishments as est;
use quittance_store::Error;
use serde::Deserialize;

use crate::session::{Ctx, CsrfForm};
use crate::render::{Chrome, Field, FormPage, Opt, PageError, PageResult, csv_response, html, see_other, ts_fr, with_errors};

struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    roles: String,
    state: String,
}

#[derive(Template)]
#[template(path = "access/users.html")]
struct UsersPage {
    chrome: Chrome,
    rows: Vec<UserRow>,
}

async fn names(ctx: &Ctx) -> (std::collections::HashMap<i64, String>, std::collections::HashMap<i64, String>) {
    let a = ctx.actor();
    let mut e = std::collections::HashMap::new();
    let mut s = std::collections::HashMap::new();
    for x in est::list(&ctx.state.db, a).await.unwrap_or_default() {
        for site in est::list_sites(&ctx.state.db, a, x.id).await.unwrap_or_default() {
            s.insert(site.id, site.name);
        }
        e.insert(x.id, x.name);
    }
    (e, s)
}

fn grants_text(g: &quittance_domain::access::Grants, e: &std::collections::HashMap<i64, String>, s: &std::collections::HashMap<i64, String>) -> String {
    g.0.iter()
        .map(|g| {
            let place = match g.site_id {
                Some(id) => s.get(&id).cloned().unwrap_or_else(|| format!("site {id}")),
                None => e.get(&g.establishment_id).cloned().unwrap_or_else(|| format!("établissement {}", g.establishment_id)),
            };
            format!("{} ({place})", g.role.label())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn state_text(u: &User) -> String {
    if u.disabled {
        "Désactivé".into()
    } else if u.must_change_password {
        "Actif · mot de passe à changer".into()
    } else {
        "Actif".into()
    }
}

pub async fn users(ctx: Ctx) -> PageResult {
    let list = store_auth::list_users(&ctx.state.db, ctx.actor()).await?;
    let (e, s) = names(&ctx).await;
    let rows = list
        .into_iter()
        .map(|(u, g)| UserRow { id: u.id, roles: grants_text(&g, &e, &s), state: state_text(&u), username: u.username, display_name: u.display_name })
        .collect();
    Ok(html(StatusCode::OK, UsersPage { chrome: ctx.chrome("Utilisateurs").await, rows }.render()))
}

pub async fn users_csv(ctx: Ctx) -> PageResult {
    let list = store_auth::list_users(&ctx.state.db, ctx.actor()).await?;
    let (e, s) = names(&ctx).await;
    let rows = list
        .into_iter()
        .map(|(u, g)| vec![u.username.clone(), u.display_name.clone(), u.email.clone().unwrap_or_default(), grants_text(&g, &e, &s), state_text(&u)])
        .collect();
    Ok(csv_response("utilisateurs.csv", &["Identifiant", "Nom", "Courriel", "Rôles", "État"], rows))
}

/// Role and place choices the actor may grant.
async fn grant_options(ctx: &Ctx) -> (Vec<Opt>, Vec<Opt>) {
    let a = ctx.actor();
    let roles = Role::ALL.iter().map(|r| Opt { value: r.code().into(), label: r.label().into(), selected: false }).collect();
    let mut places = Vec::new();
    for e in est::list(&ctx.state.db, a).await.unwrap_or_default() {
        if !a.allows(Permission::ManageUsers, Scope::Establishment(e.id)) {
            continue;
        }
        places.push(Opt { value: format!("{}", e.id), label: format!("{} (tout l'établissement)", e.name), selected: false });
        for s in est::list_sites(&ctx.state.db, a, e.id).await.unwrap_or_default() {
            places.push(Opt { value: format!("{}:{}", e.id, s.id), label: format!("{} — {}", e.name, s.name), selected: false });
        }
    }
    (roles, places)
}

fn parse_place(p: &str) -> Option<(i64, Option<i64>)> {
    match p.split_once(':') {
        Some((e, s)) => Some((e.parse().ok()?, Some(s.parse().ok()?))),
        None => Some((p.parse().ok()?, None)),
    }
}

#[derive(Deserialize, Default)]
pub struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    place: String,
}

async fn user_form(ctx: &Ctx, f: &UserForm, errors: &FieldErrors) -> Response {
    let (roles, places) = grant_options(ctx).await;
    let mark = |mut v: Vec<Opt>, sel: &str| {
        for o in &mut v {
            o.selected = o.value == sel;
        }
        v
    };
    FormPage {
        chrome: ctx.chrome("Nouvel utilisateur").await,
        heading: "Nouvel utilisateur".into(),
        intro: Some("Un mot de passe provisoire est créé ; la personne le change à sa première connexion.".into()),
        action: "/admin/utilisateurs/nouveau".into(),
        fields: with_errors(
            vec![
                Field::text("username", "Identifiant", &f.username).required().hint("ex. j.dupont — minuscules, chiffres, « . », « - », « _ »."),
                Field::text("display_name", "Nom affiché", &f.display_name).required(),
                Field::text("email", "Courriel", &f.email).email(),
                Field::text("role", "Rôle", &f.role).required().select_opts(mark(roles, &f.role)),
                Field::text("place", "Établissement ou site", &f.place).required().select_opts(mark(places, &f.place)),
            ],
            errors,
        ),
        submit: "Créer l'utilisateur".into(),
        cancel: Some("/admin/utilisateurs".into()),
        error_count: errors.0.len(),
    }
    .response(if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY })
}

pub async fn user_new(ctx: Ctx) -> PageResult {
    ctx.actor().require_anywhere(&ctx.state.db, Permission::ManageUsers, "user", "create").await?;
    Ok(user_form(&ctx, &UserForm::default(), &FieldErrors::new()).await)
}

fn grant_from(role: &str, place: &str, errors: &mut FieldErrors) -> Option<Grant> {
    let role = Role::from_code(role);
    if role.is_none() {
        errors.add("role", "Choisissez un rôle.");
    }
    let place = parse_place(place);
    if place.is_none() {
        errors.add("place", "Choisissez un établissement ou un site.");
    }
    match (role, place) {
        (Some(role), Some((e, s))) => Some(Grant { role, establishment_id: e, site_id: s }),
        _ => None,
    }
}

pub async fn user_create(CsrfForm(ctx, f): CsrfForm<UserForm>) -> PageResult {
    let mut errors = FieldErrors::new();
    let grant = grant_from(&f.role, &f.place, &mut errors);
    if !errors.is_empty() {
        return Ok(user_form(&ctx, &f, &errors).await);
    }
    let new = NewUser {
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        email: f.email.clone(),
        password: None,
        grants: grant.into_iter().collect(),
        must_change_password: true,
    };
    match store_auth::create_user(&ctx.state.db, ctx.actor(), &new).await {
        Ok((id, password)) => user_page(&ctx, id, Some(("Mot de passe provisoire", password))).await,
        Err(Error::Invalid(errs)) => Ok(user_form(&ctx, &f, &errs).await),
        Err(e) => Err(PageError(e)),
    }
}

struct RoleRow {
    code: String,
    label: String,
    establishment_id: i64,
    establishment: String,
    site_id: String,
    site: String,
}

struct KeyRow {
    id: i64,
    name: String,
    prefix: String,
    created: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "access/user.html")]
struct UserPage {
    chrome: Chrome,
    u: User,
    email: String,
    roles: Vec<RoleRow>,
    keys: Vec<KeyRow>,
    role_options: Vec<Opt>,
    place_options: Vec<Opt>,
    shown_secret: Option<String>,
    secret_label: String,
    /// A stale action (the account changed since the page was shown): what happened.
    conflict: Option<String>,
}

async fn user_page(ctx: &Ctx, id: i64, secret: Option<(&str, String)>) -> PageResult {
    user_page_with(ctx, id, secret, None).await
}

/// The user page, with the message of a stale action at the top (409): the page shows the
/// account as it is now and its forms carry the current version, so the action can be redone.
async fn user_page_with(ctx: &Ctx, id: i64, secret: Option<(&str, String)>, conflict: Option<String>) -> PageResult {
    let (u, g) = store_auth::get_user(&ctx.state.db, ctx.actor(), id).await?;
    let keys = store_auth::list_api_keys(&ctx.state.db, ctx.actor(), id).await?;
    let (e, s) = names(ctx).await;
    let tz = "Europe/Paris";
    let roles = g
        .0
        .iter()
        .map(|g| RoleRow {
            code: g.role.code().into(),
            label: g.role.label().into(),
            establishment_id: g.establishment_id,
            establishment: e.get(&g.establishment_id).cloned().unwrap_or_default(),
            site_id: g.site_id.map(|x| x.to_string()).unwrap_or_default(),
            site: g.site_id.map_or_else(|| "Tous les sites".into(), |x| s.get(&x).cloned().unwrap_or_default()),
        })
        .collect();
    let keys = keys
        .into_iter()
        .map(|k| KeyRow {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created: ts_fr(&k.created_at, tz),
            last_used: k.last_used_at.as_deref().map_or_else(|| "jamais".into(), |t| ts_fr(t, tz)),
            revoked: k.revoked_at.is_some(),
        })
        .collect();
    let (role_options, place_options) = grant_options(ctx).await;
    let page = UserPage {
        chrome: ctx.chrome(&u.display_name).await,
        email: u.email.clone().unwrap_or_else(|| "—".into()),
        u,
        roles,
        keys,
        role_options,
        place_options,
        secret_label: secret.as_ref().map(|s| s.0.to_string()).unwrap_or_default(),
        shown_secret: secret.map(|s| s.1),
        conflict: conflict.map(|m| format!("{m} La page montre maintenant le compte tel qu'il est ; refaites l'action si elle reste utile.")),
    };
    Ok(html(if page.conflict.is_some() { StatusCode::CONFLICT } else { StatusCode::OK }, page.render()))
}

pub async fn user_view(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    user_page(&ctx, id, None).await
}

/// The user's version a page form sent (0, never current, when missing: a conflict, not a blind write).
fn sent_version(v: &str) -> i64 {
    v.trim().parse().unwrap_or(0)
}

/// A stale action re-shows the page as it is now with the message; other errors pass.
async fn on_conflict(ctx: &Ctx, id: i64, e: Error) -> PageResult {
    match e {
        Error::Conflict(m) => user_page_with(ctx, id, None, Some(m)).await,
        e => Err(PageError(e)),
    }
}

#[derive(Deserialize)]
pub struct ToggleForm {
    disabled: String,
    #[serde(default)]
    version: String,
}

pub async fn user_toggle(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<ToggleForm>) -> PageResult {
    let disabled = f.disabled == "true";
    match store_auth::set_disabled(&ctx.state.db, ctx.actor(), id, sent_version(&f.version), disabled).await {
        Ok(()) => Ok(see_other(&format!("/admin/utilisateurs/{id}"), if disabled { "desactive" } else { "active" })),
        Err(e) => on_conflict(&ctx, id, e).await,
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
pub struct VersionForm {
    #[serde(default)]
    version: String,
}

pub async fn user_reset(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<VersionForm>) -> PageResult {
    match store_auth::reset_password(&ctx.state.db, ctx.actor(), id, sent_version(&f.version), None).await {
        Ok(password) => user_page(&ctx, id, Some(("Nouveau mot de passe provisoire", password))).await,
        Err(e) => on_conflict(&ctx, id, e).await,
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    establishment_id: String,
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    version: String,
}

pub async fn role_add(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<RoleForm>) -> PageResult {
    let mut errors = FieldErrors::new();
    let Some(g) = grant_from(&f.role, &f.place, &mut errors) else {
        return Err(PageError(Error::Invalid(errors)));
    };
    match store_auth::grant_role(&ctx.state.db, ctx.actor(), id, sent_version(&f.version), &g).await {
        Ok(()) => Ok(see_other(&format!("/admin/utilisateurs/{id}"), "role")),
        Err(e) => on_conflict(&ctx, id, e).await,
    }
}

pub async fn role_remove(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<RoleForm>) -> PageResult {
    let place = if f.site_id.is_empty() { f.establishment_id.clone() } else { format!("{}:{}", f.establishment_id, f.site_id) };
    let mut errors = FieldErrors::new();
    let Some(g) = grant_from(&f.role, &place, &mut errors) else {
        return Err(PageError(Error::Invalid(errors)));
    };
    match store_auth::revoke_role(&ctx.state.db, ctx.actor(), id, sent_version(&f.version), &g).await {
        Ok(()) => Ok(see_other(&format!("/admin/utilisateurs/{id}"), "role")),
        Err(e) => on_conflict(&ctx, id, e).await,
    }
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    name: String,
}

pub async fn key_create(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<KeyForm>) -> PageResult {
    let (_, secret) = store_auth::create_api_key(&ctx.state.db, ctx.actor(), id, &f.name).await?;
    user_page(&ctx, id, Some(("Clé d'API", secret))).await
}

pub async fn key_revoke(Path((id, kid)): Path<(i64, i64)>, CsrfForm(ctx, _): CsrfForm<NoFields>) -> PageResult {
    store_auth::revoke_api_key(&ctx.state.db, ctx.actor(), kid).await?;
    Ok(see_other(&format!("/admin/utilisateurs/{id}"), "revoque"))
}
