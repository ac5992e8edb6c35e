//! Login, logout, password change and the establishment/site switcher.

use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use quittance_domain::validation::FieldErrors;
use quittance_store::access::{self as store_auth};
use quittance_store::Error;
use serde::Deserialize;

use crate::render::{Field, FormPage, PageError, error_page, html, see_other, with_errors};
use crate::session::*;
use crate::{AppState, RequestId};

// ---------------------------------------------------------------- login

#[derive(Template)]
#[template(path = "access/login.html")]
struct LoginPage {
    csrf: String,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control) => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn login_response(state: &AppState, status: StatusCode, username: &str, next: &str, error: Option<String>) -> Response {
    let csrf = store_auth::random_hex(16);
    let page = LoginPage { csrf: csrf.clone(), username: username.into(), next: next.into(), error };
    let mut res = html(status, page.render());
    if let Some(v) = login_csrf_set_cookie(state, &csrf) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    login_response(&state, StatusCode::OK, "", &safe_next(q.next.as_deref()), None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    _csrf: String,
}

/// The one message for any failed login.
pub const LOGIN_FAILED: &str = "Identifiant ou mot de passe incorrect, ou compte temporairement bloqué.";

pub async fn login_submit(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ip = client_ip(&parts, &state);
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return error_page(StatusCode::PAYLOAD_TOO_LARGE, "Formulaire trop volumineux", "");
    };
    let form: LoginForm = match crate::form::decode(&bytes) {
        Ok(f) => f,
        Err(_) => return login_response(&state, StatusCode::BAD_REQUEST, "", "/", Some(LOGIN_FAILED.into())),
    };
    let next = safe_next(Some(&form.next));
    let cookie_token = cookie(&parts.headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if cookie_token.is_empty() || !same_token(&cookie_token, &form._csrf) {
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            &form.username,
            &next,
            Some("Le formulaire a expiré : veuillez vous reconnecter.".into()),
        );
    }
    match store_auth::login(&state.db, &form.username, &form.password, &ip, request_id).await {
        Ok(s) => {
            state.metrics.logins_ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let to = if s.must_change_password { "/mot-de-passe".to_string() } else { next };
            let mut res = Redirect::to(&to).into_response();
            if let Some(v) = session_set_cookie(&state, &s.token) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            if let Some(v) = login_csrf_set_cookie(&state, "") {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(Error::Unauthenticated) | Err(Error::Throttled) => {
            state.metrics.logins_failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            login_response(&state, StatusCode::UNAUTHORIZED, &form.username, &next, Some(LOGIN_FAILED.into()))
        }
        Err(e) => PageError(e).into_response(),
    }
}


pub async fn logout(CsrfForm(ctx, _): CsrfForm<Empty>) -> Response {
    if let Err(e) = store_auth::logout(&ctx.state.db, &ctx.token, ctx.actor()).await {
        return PageError(e).into_response();
    }
    let mut res = Redirect::to("/login").into_response();
    if let Some(v) = session_set_cookie(&ctx.state, "") {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------- password

fn password_fields(errors: &FieldErrors) -> Vec<Field> {
    with_errors(
        vec![
            Field::text("current", "Mot de passe actuel", "").required().password("current-password"),
            Field::text("new", "Nouveau mot de passe", "")
                .required()
                .password("new-password")
                .hint("12 caractères au moins ; une phrase de passe est idéale."),
            Field::text("confirm", "Confirmation du nouveau mot de passe", "").required().password("new-password"),
        ],
        errors,
    )
}

async fn password_form(ctx: &Ctx, errors: &FieldErrors, status: StatusCode) -> Response {
    let forced = ctx.session.user.must_change_password;
    FormPage {
        chrome: ctx.chrome("Changer de mot de passe").await,
        heading: "Changer de mot de passe".into(),
        intro: forced.then(|| "Première connexion ou mot de passe réinitialisé : choisissez votre mot de passe personnel pour continuer.".into()),
        action: "/mot-de-passe".into(),
        fields: password_fields(errors),
        submit: "Enregistrer le mot de passe".into(),
        cancel: (!forced).then(|| "/".into()),
        error_count: errors.0.len(),
    }
    .response(status)
}

pub async fn password_page(ctx: Ctx) -> Response {
    password_form(&ctx, &FieldErrors::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn password_submit(CsrfForm(mut ctx, f): CsrfForm<PasswordForm>) -> Response {
    match store_auth::change_password(&ctx.state.db, ctx.actor(), &f.current, &f.new, &f.confirm).await {
        Ok(()) => see_other("/", "mdp"),
        Err(Error::Invalid(e)) => {
            ctx.flash = None;
            password_form(&ctx, &e, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ContextForm {
    establishment_id: i64,
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    back: String,
}

pub async fn switch_context(CsrfForm(ctx, f): CsrfForm<ContextForm>) -> Response {
    let site = f.site_id.trim().parse::<i64>().ok();
    // A site of another establishment is dropped (the switcher changes one select at a time).
    let site = match site {
        Some(s) => quittance_store::establishments::get_site(&ctx.state.db, ctx.actor(), f.establishment_id, s).await.ok().map(|s| s.id),
        None => None,
    };
    match store_auth::switch_context(&ctx.state.db, &ctx.token, ctx.actor(), f.establishment_id, site).await {
        Ok(()) => see_other(&safe_next(Some(&f.back)), "contexte"),
        Err(e) => PageError(e).into_response(),
    }
}
