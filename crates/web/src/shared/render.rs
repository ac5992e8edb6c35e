//! Page chrome, generic forms, error pages and list exports.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use quittance_domain::access::Permission;
use quittance_domain::validation::FieldErrors;
use quittance_store::Error;

use crate::session::Ctx;

/// Navigation entry.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// A navigation entry declared by a capability (its `NAV`), shown to those for whom `visible` holds.
pub struct NavEntry {
    pub href: &'static str,
    pub label: &'static str,
    /// The entry is active on paths starting with this prefix (or equal to it when `exact`).
    pub prefix: &'static str,
    pub exact: bool,
    pub visible: fn(&quittance_store::Actor) -> bool,
}

/// One option of a select.
#[derive(Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The layout's data: user, switcher, navigation, message.
pub struct Chrome {
    pub title: String,
    pub display_name: String,
    pub csrf: String,
    pub establishments: Vec<Opt>,
    pub sites: Vec<Opt>,
    pub nav: Vec<NavItem>,
    pub flash: Option<String>,
}

impl Chrome {
    pub async fn new(ctx: &Ctx, title: &str, path: &str) -> Chrome {
        match ctx.state.db.read().await {
            Ok(mut tx) => {
                let c = Chrome::read(ctx, &mut tx, title, path).await;
                let _ = tx.rollback().await;
                c
            }
            Err(_) => Chrome::read_lists(ctx, Vec::new(), Vec::new(), title, path),
        }
    }

    /// The chrome, read inside the page's own read transaction (one connection for the page).
    pub async fn read(ctx: &Ctx, tx: &mut quittance_store::db::Tx, title: &str, path: &str) -> Chrome {
        let ests = quittance_store::establishments::list_in(tx, &ctx.session.actor).await.unwrap_or_default();
        let sites = Chrome::switcher_sites(ctx, tx, &ests).await;
        Chrome::read_lists(ctx, ests, sites, title, path)
    }

    /// The sites of the switcher: the current establishment's (the session's, else the first
    /// of `ests`), from its configuration kept in memory at the version `ests` was read with.
    pub(crate) async fn switcher_sites(
        ctx: &Ctx,
        tx: &mut quittance_store::db::Tx,
        ests: &[quittance_store::establishments::Establishment],
    ) -> Vec<quittance_store::establishments::Site> {
        let a = &ctx.session.actor;
        let current = a.establishment_id.or_else(|| ests.first().map(|e| e.id));
        match current.and_then(|c| ests.iter().find(|e| e.id == c)) {
            Some(e) if a.allows(Permission::ReadEstablishments, quittance_domain::access::Scope::Establishment(e.id)) => {
                quittance_store::establishments::config_in(&ctx.state.db, tx, e).await.map(|c| c.sites.clone()).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    /// The chrome from lists the page has read already: the actor's establishments
    /// ([`quittance_store::establishments::list_in`]) and the current one's sites.
    pub(crate) fn read_lists(
        ctx: &Ctx,
        ests: Vec<quittance_store::establishments::Establishment>,
        site_list: Vec<quittance_store::establishments::Site>,
        title: &str,
        path: &str,
    ) -> Chrome {
        let a = &ctx.session.actor;
        let current_est = a.establishment_id.or_else(|| ests.first().map(|e| e.id));
        let establishments = ests
            .iter()
            .map(|e| Opt { value: e.id.to_string(), label: e.name.clone(), selected: Some(e.id) == current_est })
            .collect();
        let mut sites = vec![Opt { value: String::new(), label: "Tous les sites".into(), selected: a.site_id.is_none() }];
        if let Some(e) = current_est {
            let allowed = a.grants.sites_for(Permission::ReadEstablishments, e);
            for s in site_list {
                if allowed.as_ref().is_none_or(|v| v.contains(&s.id)) {
                    sites.push(Opt { value: s.id.to_string(), label: s.name.clone(), selected: a.site_id == Some(s.id) });
                }
            }
        }
        let nav = crate::NAV
            .iter()
            .flat_map(|entries| entries.iter())
            .filter(|e| (e.visible)(a))
            .map(|e| NavItem {
                href: e.href,
                label: e.label,
                active: if e.exact { path == e.prefix } else { path.starts_with(e.prefix) },
            })
            .collect();
        Chrome {
            title: title.to_string(),
            display_name: ctx.session.user.display_name.clone(),
            csrf: ctx.session.csrf.clone(),
            establishments,
            sites,
            nav,
            flash: ctx.flash.clone(),
        }
    }
}

/// Kind of form input.
#[derive(Clone)]
pub enum Input {
    Text,
    Email,
    Password,
    Select(Vec<Opt>),
    Checkbox,
    Checkboxes(Vec<Opt>),
    Hidden,
    /// A file to upload (the form is then sent as multipart).
    File,
}

/// One labelled form field with its value and error.
#[derive(Clone)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub value: String,
    pub input: Input,
    pub required: bool,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub autofocus: bool,
    pub autocomplete: &'static str,
    /// Starts a new group of fields with this legend.
    pub section: Option<String>,
}

impl Field {
    pub fn text(name: &str, label: &str, value: &str) -> Field {
        Field {
            name: name.into(),
            label: label.into(),
            value: value.into(),
            input: Input::Text,
            required: false,
            hint: None,
            error: None,
            autofocus: false,
            autocomplete: "off",
            section: None,
        }
    }
    pub fn section(mut self, legend: &str) -> Self {
        self.section = Some(legend.into());
        self
    }
    pub fn checkbox(name: &str, label: &str, checked: bool) -> Field {
        let mut f = Field::text(name, label, if checked { "on" } else { "" });
        f.input = Input::Checkbox;
        f
    }
    pub fn hidden(name: &str, value: &str) -> Field {
        let mut f = Field::text(name, name, value);
        f.input = Input::Hidden;
        f
    }
    /// Several checkboxes sharing one name; `value` is the comma-separated selection.
    pub fn checkboxes(mut self, options: &[(&str, &str)]) -> Self {
        let selected: Vec<&str> = self.value.split(',').map(str::trim).collect();
        self.input = Input::Checkboxes(
            options
                .iter()
                .map(|(v, l)| Opt { value: v.to_string(), label: l.to_string(), selected: selected.contains(v) })
                .collect(),
        );
        self
    }
    pub fn is_checkbox(&self) -> bool {
        matches!(self.input, Input::Checkbox)
    }
    pub fn is_checkboxes(&self) -> bool {
        matches!(self.input, Input::Checkboxes(_))
    }
    pub fn is_hidden(&self) -> bool {
        matches!(self.input, Input::Hidden)
    }
    pub fn checked(&self) -> bool {
        !self.value.is_empty()
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn hint(mut self, h: &str) -> Self {
        self.hint = Some(h.into());
        self
    }
    pub fn password(mut self, autocomplete: &'static str) -> Self {
        self.input = Input::Password;
        self.autocomplete = autocomplete;
        self
    }
    pub fn email(mut self) -> Self {
        self.input = Input::Email;
        self
    }
    pub fn select(mut self, options: &[(&str, &str)]) -> Self {
        let v = self.value.clone();
        self.input = Input::Select(
            options
                .iter()
                .map(|(value, label)| Opt { value: value.to_string(), label: label.to_string(), selected: *value == v })
                .collect(),
        );
        self
    }
    pub fn select_opts(mut self, options: Vec<Opt>) -> Self {
        self.input = Input::Select(options);
        self
    }
    pub fn is_select(&self) -> bool {
        matches!(self.input, Input::Select(_))
    }
    pub fn options(&self) -> Vec<Opt> {
        match &self.input {
            Input::Select(o) | Input::Checkboxes(o) => o.clone(),
            _ => vec![],
        }
    }
    pub fn file(mut self) -> Self {
        self.input = Input::File;
        self
    }
    pub fn is_file(&self) -> bool {
        matches!(self.input, Input::File)
    }
    pub fn input_type(&self) -> &'static str {
        match self.input {
            Input::File => "file",
            Input::Email => "email",
            Input::Password => "password",
            _ => "text",
        }
    }
}

/// Attaches field errors to fields; the first field in error gets the focus.
pub fn with_errors(mut fields: Vec<Field>, errors: &FieldErrors) -> Vec<Field> {
    let mut focused = false;
    for f in &mut fields {
        f.error = errors.get(&f.name).map(str::to_string);
        f.autofocus = false;
        if f.error.is_some() && !focused && !f.is_hidden() {
            f.autofocus = true;
            focused = true;
        }
    }
    if !focused
        && let Some(f) = fields.iter_mut().find(|f| !f.is_hidden()) {
            f.autofocus = true;
        }
    fields
}

#[derive(Template)]
#[template(path = "shared/form.html")]
pub struct FormPage {
    pub chrome: Chrome,
    pub heading: String,
    pub intro: Option<String>,
    pub action: String,
    pub fields: Vec<Field>,
    pub submit: String,
    pub cancel: Option<String>,
    pub error_count: usize,
}

impl FormPage {
    /// Whether the form carries a file (sent as `multipart/form-data`).
    pub fn has_file(&self) -> bool {
        self.fields.iter().any(Field::is_file)
    }
    pub fn response(self, status: StatusCode) -> Response {
        html(status, self.render())
    }
}

#[derive(Template)]
#[template(path = "shared/error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
    pub code: u16,
}

pub fn html(status: StatusCode, r: Result<String, askama::Error>) -> Response {
    match r {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "Erreur interne", "La page n'a pas pu être affichée.")
        }
    }
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let page = ErrorPage { title: title.into(), message: message.into(), code: status.as_u16() };
    match page.render() {
        Ok(b) => (status, Html(b)).into_response(),
        Err(_) => (status, message.to_string()).into_response(),
    }
}

/// A use-case error shown as a page.
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self.0 {
            Error::Forbidden => error_page(
                StatusCode::FORBIDDEN,
                "Accès refusé",
                "Vos rôles ne permettent pas d'accéder à cette page. Le refus a été enregistré.",
            ),
            Error::NotFound(what) => error_page(StatusCode::NOT_FOUND, "Introuvable", &format!("{what} introuvable.")),
            Error::Unauthenticated => Redirect::to("/login").into_response(),
            Error::PasswordChangeRequired => Redirect::to("/mot-de-passe").into_response(),
            Error::Invalid(e) => error_page(StatusCode::UNPROCESSABLE_ENTITY, "Saisie invalide", &e.to_string()),
            Error::Conflict(m) => error_page(StatusCode::CONFLICT, "Action impossible", &m),
            Error::Throttled => error_page(StatusCode::TOO_MANY_REQUESTS, "Trop de tentatives", "Réessayez dans quelques minutes."),
            e => {
                tracing::error!(error = %e, "request failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Erreur interne",
                    "Une erreur est survenue ; rien n'a été enregistré. Réessayez ou prévenez l'administrateur.",
                )
            }
        }
    }
}

pub type PageResult = Result<Response, PageError>;

/// Redirect after a successful POST, with a message code shown once.
pub fn see_other(to: &str, msg: &str) -> Response {
    // The message goes in the query, before any `#fragment` (browsers never send a fragment).
    let (path, fragment) = to.split_once('#').map_or((to, String::new()), |(p, f)| (p, format!("#{f}")));
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}msg={msg}{fragment}")).into_response()
}

/// French texts of the `msg` codes.
pub fn flash_text(code: &str) -> Option<String> {
    Some(
        match code {
            "cree" => "Enregistrement créé.",
            "modifie" => "Modifications enregistrées.",
            "mdp" => "Mot de passe changé.",
            "desactive" => "Compte désactivé.",
            "active" => "Compte réactivé.",
            "role" => "Rôles mis à jour.",
            "revoque" => "Clé révoquée.",
            "contexte" => "Établissement et site changés.",
            "identifiant" => "Identifiant ajouté.",
            "debiteur" => "Débiteur enregistré.",
            "document" => "Document classé.",
            "retire" => "Document retiré.",
            "tarif" => "Tarif enregistré.",
            "parametre" => "Paramètre enregistré.",
            "clos" => "Version close.",
            "mouvement" => "Mouvement enregistré.",
            "acte" => "Acte enregistré.",
            "annule" => "Ligne annulée : elle reste au dossier avec son motif.",
            "sortie_abonnements_clos" => "Séjour enregistré. Les abonnements TV et téléphone ouverts ont été clos le jour de la sortie (voir « Activité »).",
            "sortie_abonnement_ouvert" => "Séjour enregistré. Attention : un abonnement TV ou téléphone est resté ouvert après la sortie (ouvert ou utilisé après ce jour) : clôturez-le dans « Activité ».",
            _ => return None,
        }
        .to_string(),
    )
}

// The CSV and XLSX downloads moved to `export`; re-exported here so callers compile unchanged.
pub use crate::export::{csv_response, xlsx_response};

/// `22/11/2026 14:05` from a stored timestamp, in the zone given.
pub fn ts_fr(stored: &str, tz: &str) -> String {
    match stored.parse::<jiff::Timestamp>() {
        Ok(t) => quittance_domain::fr::format_datetime_fr(t, tz),
        Err(_) => stored.to_string(),
    }
}

/// A stored date (`AAAA-MM-JJ`, or the date part of `AAAA-MM-JJTHH:MM…`) as `JJ/MM/AAAA`; « — » when absent or unreadable.
pub fn day_fr(stored: Option<&str>) -> String {
    stored
        .and_then(|x| x.get(..10))
        .and_then(|x| x.parse::<jiff::civil::Date>().ok())
        .map(quittance_domain::fr::format_date_fr)
        .unwrap_or_else(|| "—".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_dates_read_in_french() {
        assert_eq!(super::day_fr(Some("2026-11-23")), "23/11/2026");
        assert_eq!(super::day_fr(Some("2026-11-03T10:14")), "03/11/2026");
        assert_eq!(super::day_fr(Some("n'importe quoi")), "—");
        assert_eq!(super::day_fr(None), "—");
    }
}
