//! Tariffs and billing parameters of the current establishment: lists with filters (and a CSV
//! export of the tariffs), the form of a new version, the confirmation page that closes one.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use quittance_domain::access::{Permission, Scope};
use quittance_domain::billing::parameters::ParameterKey;
use quittance_domain::billing::tariffs::{TariffCategory, Unit};
use quittance_domain::care::coverage::Exemption;
use quittance_domain::fr::{format_date_fr, parse_date_fr};
use quittance_domain::money::Currency;
use quittance_domain::validation::FieldErrors;
use quittance_store::Error;
use quittance_store::billing::parameters::{self, StoredParameter};
use quittance_store::billing::tariffs::{self, Tariff, TariffFilter};
use quittance_store::billing::{ParameterInput, TariffInput};
use quittance_store::establishments::{self, Establishment};
use serde::Deserialize;

use crate::extract::PagePath as Path;
use crate::extract::PageQuery as Query;
use crate::render::{Chrome, Field, FormPage, Opt, PageError, PageResult, csv_response, error_page, html, see_other, with_errors};
use crate::session::{Ctx, CsrfForm, url_encode};

/// Whether the actor may add or close versions here (decides the buttons; writes no audit row).
fn can_manage(ctx: &Ctx, establishment_id: i64) -> bool {
    ctx.actor().allows(Permission::ManageTariffs, Scope::Establishment(establishment_id))
}

/// The refusal of a manage page (audited, like the use case's).
async fn refuse(ctx: &Ctx, establishment_id: i64, entity: &str, action: &str) -> PageError {
    PageError(ctx.actor().deny(&ctx.state.db, Permission::ManageTariffs, Scope::Establishment(establishment_id), entity, action).await)
}

/// What the list shows, said above it.
fn scope_text(on: Option<Date>) -> String {
    match on {
        None => "toutes les versions".into(),
        Some(d) => format!("en vigueur le {}", format_date_fr(d)),
    }
}

fn opt_day(d: Option<Date>) -> String {
    d.map(format_date_fr).unwrap_or_else(|| "—".into())
}

/// The « en vigueur le » filter: none when blank, a French message when unreadable.
fn on_day(raw: &str) -> Result<Option<Date>, String> {
    match raw.trim() {
        "" => Ok(None),
        s => parse_date_fr(s).map(Some).map_err(|m| format!("En vigueur le : {m}")),
    }
}

/// A price as a number for a spreadsheet: `23,00`, `1 800` (no currency symbol).
fn amount_only(m: &quittance_domain::money::Money) -> String {
    let s = m.format_fr_plain();
    s.strip_suffix(m.currency.symbol()).map(|x| x.trim_end().to_string()).unwrap_or(s)
}

// ---------------------------------------------------------------- tariffs: list and export

#[derive(Deserialize, Default, Clone)]
pub struct TariffQuery {
    #[serde(default)]
    categorie: String,
    /// En vigueur le (JJ/MM/AAAA); blank: every version.
    #[serde(default)]
    le: String,
    #[serde(default)]
    code: String,
    /// Sort column: code, libelle, categorie, prix, du, au.
    #[serde(default)]
    tri: String,
    /// asc or desc.
    #[serde(default)]
    ordre: String,
}

impl TariffQuery {
    fn filter(&self) -> (TariffFilter, Option<String>) {
        let (on, error) = match on_day(&self.le) {
            Ok(d) => (d, None),
            Err(m) => (None, Some(m)),
        };
        let code = Some(self.code.trim().to_string()).filter(|c| !c.is_empty());
        (TariffFilter { category: TariffCategory::from_code(self.categorie.trim()), on, code }, error)
    }

    /// The filters as a query string (without the sort).
    fn filters_query(&self) -> String {
        [("categorie", &self.categorie), ("le", &self.le), ("code", &self.code)]
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", url_encode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn query(&self) -> String {
        let mut q = self.filters_query();
        if !self.tri.is_empty() {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&format!("tri={}&ordre={}", url_encode(&self.tri), if self.ordre == "desc" { "desc" } else { "asc" }));
        }
        q
    }
}

fn sort(list: &mut [Tariff], by: &str, desc: bool) {
    match by {
        "code" => list.sort_by(|a, b| a.line.code.cmp(&b.line.code).then(a.line.period.from.cmp(&b.line.period.from))),
        "libelle" => list.sort_by_cached_key(|t| t.line.label.to_lowercase()),
        "categorie" => list.sort_by(|a, b| a.line.category.label().cmp(b.line.category.label())),
        "prix" => list.sort_by_key(|t| t.line.price.minor),
        "du" => list.sort_by_key(|t| t.line.period.from),
        // An open end sorts after every date.
        "au" => list.sort_by_key(|t| (t.line.period.to.is_none(), t.line.period.to)),
        _ => return,
    }
    if desc {
        list.reverse();
    }
}

/// A column heading; `href` when the column sorts.
pub struct Head {
    label: &'static str,
    href: Option<String>,
    /// `aria-sort` value: ascending, descending or none.
    aria: &'static str,
    num: bool,
    /// The whole word of an abbreviated heading.
    title: Option<&'static str>,
}

fn heads(q: &TariffQuery) -> Vec<Head> {
    let filters = q.filters_query();
    let sep = if filters.is_empty() { String::new() } else { format!("{filters}&") };
    let sortable = |key: &'static str, label: &'static str, num: bool| {
        let current = q.tri == key;
        let desc = current && q.ordre == "desc";
        let next = if current && !desc { "desc" } else { "asc" };
        Head {
            label,
            href: Some(format!("/tarifs?{sep}tri={key}&ordre={next}")),
            aria: if !current { "none" } else if desc { "descending" } else { "ascending" },
            num,
            title: None,
        }
    };
    let plain = |label: &'static str, num: bool| Head { label, href: None, aria: "none", num, title: None };
    // The sortable columns are the keys `sort` knows.
    vec![
        sortable("code", "Code", false),
        sortable("libelle", "Libellé", false),
        sortable("categorie", "Catégorie", false),
        plain("Site", false),
        plain("Service", false),
        plain("Unité", false),
        sortable("prix", "Prix", true),
        Head { title: Some("Coefficient"), ..plain("Coef.", true) },
        sortable("du", "Du", false),
        sortable("au", "Au", false),
        plain("Source", false),
    ]
}

pub struct TariffLineRow {
    id: i64,
    code: String,
    label: String,
    category: &'static str,
    site: String,
    service: String,
    unit: &'static str,
    price: String,
    coefficient: String,
    from: String,
    to: String,
    source: String,
    open: bool,
    /// Shown in grey: a closed version, when every version is listed.
    dim: bool,
    /// The latest version of its code and scope (a new version starts from it).
    latest: bool,
}

#[derive(Template)]
#[template(path = "billing/tariffs.html")]
struct TariffsPage {
    chrome: Chrome,
    establishment: String,
    heads: Vec<Head>,
    rows: Vec<TariffLineRow>,
    categories: Vec<(&'static str, &'static str)>,
    q: TariffQuery,
    query: String,
    /// « toutes les versions » or « en vigueur le JJ/MM/AAAA ».
    scope: String,
    filter_error: Option<String>,
    can_manage: bool,
}

async fn site_names(ctx: &Ctx, e: &Establishment) -> Result<Vec<(i64, String)>, Error> {
    Ok(establishments::list_sites(&ctx.state.db, ctx.actor(), e.id).await?.into_iter().map(|s| (s.id, s.name)).collect())
}

fn site_name(sites: &[(i64, String)], id: Option<i64>) -> String {
    match id {
        None => "Tous".into(),
        Some(id) => sites.iter().find(|s| s.0 == id).map(|s| s.1.clone()).unwrap_or_else(|| format!("n° {id}")),
    }
}

async fn read_tariffs(ctx: &Ctx, e: &Establishment, q: &TariffQuery) -> Result<(Vec<Tariff>, Option<String>), Error> {
    let (filter, error) = q.filter();
    let mut list = tariffs::list(&ctx.state.db, ctx.actor(), e.id, &filter).await?;
    sort(&mut list, &q.tri, q.ordre == "desc");
    Ok((list, error))
}

pub async fn tariffs(ctx: Ctx, Query(q): Query<TariffQuery>) -> PageResult {
    let e = ctx.establishment().await?;
    let (list, filter_error) = read_tariffs(&ctx, &e, &q).await?;
    let sites = site_names(&ctx, &e).await?;
    let all_versions = on_day(&q.le).ok().flatten().is_none();
    let latest: std::collections::HashSet<i64> = {
        let mut by_scope: std::collections::HashMap<(&str, Option<i64>, &str), (Date, i64)> = std::collections::HashMap::new();
        for t in &list {
            let k = (t.line.code.as_str(), t.line.site_id, t.line.service.as_str());
            let v = (t.line.period.from, t.id);
            by_scope.entry(k).and_modify(|x| *x = (*x).max(v)).or_insert(v);
        }
        by_scope.values().map(|v| v.1).collect()
    };
    let rows = list
        .into_iter()
        .map(|t| {
            let l = t.line;
            TariffLineRow {
                dim: all_versions && l.period.to.is_some(),
                latest: latest.contains(&t.id),
                id: t.id,
                category: l.category.label(),
                site: site_name(&sites, l.site_id),
                service: l.service,
                unit: l.unit.label(),
                price: l.price.format_fr(),
                coefficient: l.coefficient.map(|c| c.format_fr()).unwrap_or_default(),
                from: format_date_fr(l.period.from),
                to: opt_day(l.period.to),
                open: l.period.to.is_none(),
                source: l.source,
                code: l.code,
                label: l.label,
            }
        })
        .collect();
    let page = TariffsPage {
        chrome: ctx.chrome("Tarifs").await,
        can_manage: can_manage(&ctx, e.id),
        establishment: e.name,
        heads: heads(&q),
        rows,
        categories: TariffCategory::TABLE.to_vec(),
        query: q.query(),
        scope: scope_text(on_day(&q.le).ok().flatten()),
        q,
        filter_error,
    };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn tariffs_csv(ctx: Ctx, Query(q): Query<TariffQuery>) -> PageResult {
    let e = ctx.establishment().await?;
    let (list, filter_error) = read_tariffs(&ctx, &e, &q).await?;
    if let Some(m) = filter_error {
        return Ok(error_page(StatusCode::UNPROCESSABLE_ENTITY, "Filtre invalide", &m));
    }
    let sites = site_names(&ctx, &e).await?;
    let rows = list
        .into_iter()
        .map(|t| {
            let l = t.line;
            vec![
                l.code.clone(),
                l.label.clone(),
                l.category.label().to_string(),
                site_name(&sites, l.site_id),
                l.service.clone(),
                l.unit.label().to_string(),
                amount_only(&l.price),
                l.price.currency.code().to_string(),
                l.coefficient.map(|c| c.format_fr()).unwrap_or_default(),
                format_date_fr(l.period.from),
                l.period.to.map(format_date_fr).unwrap_or_default(),
                l.source.clone(),
            ]
        })
        .collect();
    Ok(csv_response(
        "tarifs.csv",
        &["Code", "Libellé", "Catégorie", "Site", "Service", "Unité", "Prix", "Devise", "Coefficient", "Du", "Au", "Source"],
        rows,
    ))
}

// ---------------------------------------------------------------- tariffs: new version

fn currency_hint(c: Currency) -> &'static str {
    match c {
        Currency::Eur => "En euros, ex. 23,00.",
        Currency::Xpf => "En francs CFP, sans décimales, ex. 1 800.",
    }
}

fn tariff_fields(i: &TariffInput, e: &Establishment, sites: &[(i64, String)]) -> Vec<Field> {
    let mut categories = vec![("", "— Choisir —")];
    categories.extend_from_slice(TariffCategory::TABLE);
    let mut units = vec![("", "Unité habituelle de la catégorie")];
    units.extend_from_slice(Unit::TABLE);
    let mut site_opts = vec![Opt { value: String::new(), label: "Tous les sites".into(), selected: i.site_id.trim().is_empty() }];
    site_opts.extend(sites.iter().map(|(id, name)| Opt { value: id.to_string(), label: name.clone(), selected: i.site_id.trim() == id.to_string() }));
    vec![
        Field::text("code", "Code", &i.code).required().hint("Court et stable, ex. FJ, CP, TV. Un code déjà connu ajoute une version."),
        Field::text("label", "Libellé", &i.label).required(),
        Field::text("category", "Catégorie", &i.category).required().select(&categories),
        Field::text("unit", "Unité", &i.unit).select(&units),
        Field::text("price", "Prix", &i.price).required().hint(currency_hint(e.currency)),
        Field::text("coefficient", "Coefficient", &i.coefficient).hint("Actes seulement, ex. 1 ou 1,5."),
        Field::text("site_id", "Site", &i.site_id).select_opts(site_opts).section("Portée"),
        Field::text("service", "Service", &i.service).hint("Code du service ; vide = tous les services."),
        Field::text("valid_from", "Du", &i.valid_from).required().hint("JJ/MM/AAAA. La version ouverte du même code est close la veille.").section("Validité"),
        Field::text("valid_to", "Au", &i.valid_to).hint("JJ/MM/AAAA ; vide = sans date de fin."),
        Field::text("source", "Source", &i.source).hint("Texte ou décision d'où vient le prix (arrêté, délibération…)."),
    ]
}

/// What saving will do to the version in force of the same code and scope, when there is one.
async fn open_version_note(ctx: &Ctx, e: &Establishment, i: &TariffInput) -> Option<String> {
    let code = i.code.trim().to_uppercase();
    if code.is_empty() {
        return None;
    }
    let site = i.site_id.trim().parse::<i64>().ok();
    let service = i.service.trim().to_uppercase();
    let list = tariffs::list(&ctx.state.db, ctx.actor(), e.id, &TariffFilter { code: Some(code.clone()), ..Default::default() }).await.ok()?;
    let open = list.into_iter().find(|t| t.line.code == code && t.line.site_id == site && t.line.service == service && t.line.period.to.is_none())?;
    let l = open.line;
    Some(format!(
        "Nouvelle version de {} ({}) : la version en vigueur, {} {} depuis le {}, sera close la veille de la date « Du ».",
        l.code,
        l.label,
        l.price.format_fr(),
        l.unit.label(),
        format_date_fr(l.period.from)
    ))
}

async fn tariff_form(ctx: &Ctx, e: &Establishment, i: &TariffInput, errors: &FieldErrors) -> Result<Response, Error> {
    let sites = site_names(ctx, e).await?;
    let intro = open_version_note(ctx, e, i).await;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(FormPage {
        chrome: ctx.chrome("Nouveau tarif").await,
        heading: "Nouveau tarif".into(),
        intro,
        action: "/tarifs/nouveau".into(),
        fields: with_errors(tariff_fields(i, e, &sites), errors),
        submit: "Enregistrer".into(),
        cancel: Some("/tarifs".into()),
        error_count: errors.0.len(),
    }
    .response(status))
}

#[derive(Deserialize, Default)]
pub struct FromQuery {
    /// The line a new version starts from.
    #[serde(default)]
    depuis: Option<i64>,
}

pub async fn tariff_new(ctx: Ctx, Query(q): Query<FromQuery>) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_manage(&ctx, e.id) {
        return Err(refuse(&ctx, e.id, "tariff", "add").await);
    }
    let i = match q.depuis {
        None => TariffInput::default(),
        Some(id) => {
            let l = tariffs::get(&ctx.state.db, ctx.actor(), e.id, id).await?.line;
            TariffInput {
                code: l.code,
                label: l.label,
                category: l.category.code().into(),
                unit: l.unit.code().into(),
                coefficient: l.coefficient.map(|c| c.format_fr()).unwrap_or_default(),
                site_id: l.site_id.map(|s| s.to_string()).unwrap_or_default(),
                service: l.service,
                ..Default::default()
            }
        }
    };
    Ok(tariff_form(&ctx, &e, &i, &FieldErrors::new()).await?)
}

pub async fn tariff_create(CsrfForm(ctx, i): CsrfForm<TariffInput>) -> PageResult {
    let e = ctx.establishment().await?;
    let added = match tariffs::parse_for(&ctx.state.db, e.id, &i).await {
        Ok(p) => tariffs::add(&ctx.state.db, ctx.actor(), e.id, &p).await,
        Err(err) => Err(err),
    };
    match added {
        Ok(_) => Ok(see_other("/tarifs", "tarif")),
        Err(Error::Invalid(errs)) => Ok(tariff_form(&ctx, &e, &i, &errs).await?),
        Err(err) => Err(PageError(err)),
    }
}

// ---------------------------------------------------------------- closing a version

#[derive(Deserialize, Default)]
pub struct CloseForm {
    #[serde(default)]
    version: String,
    /// The last day of validity (JJ/MM/AAAA).
    #[serde(default)]
    au: String,
}

/// Date errors of the store (`valid_to`) are shown next to the form's « au ».
fn close_errors(errs: FieldErrors) -> FieldErrors {
    let mut out = FieldErrors::new();
    for f in errs.0 {
        out.add(if f.field == "valid_to" { "au" } else { f.field.as_str() }, f.message);
    }
    out
}

fn parse_last_day(raw: &str) -> Result<Date, Error> {
    if raw.trim().is_empty() {
        return Err(Error::invalid("au", "Indiquez le dernier jour de validité (JJ/MM/AAAA)."));
    }
    parse_date_fr(raw).map_err(|m| Error::invalid("au", m))
}

#[allow(clippy::too_many_arguments)]
async fn close_form(ctx: &Ctx, heading: &str, what: String, action: String, cancel: &str, version: i64, au: &str, errors: &FieldErrors, stale: Option<String>) -> Response {
    let status = if stale.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let intro = match stale {
        Some(m) => format!("{m} Le formulaire porte maintenant la version actuelle ; vérifiez-la avant de confirmer. {what}"),
        None => what,
    };
    let fields = vec![
        Field::hidden("version", &version.to_string()),
        Field::text("au", "Dernier jour de validité", au).required().hint("JJ/MM/AAAA. À partir du lendemain, cette version ne s'applique plus."),
    ];
    FormPage {
        chrome: ctx.chrome(heading).await,
        heading: heading.into(),
        intro: Some(intro),
        action,
        fields: with_errors(fields, errors),
        submit: "Clore la version".into(),
        cancel: Some(cancel.into()),
        error_count: errors.0.len(),
    }
    .response(status)
}

fn tariff_what(t: &Tariff) -> String {
    let l = &t.line;
    format!("Version de {} ({}) à {} {}, en vigueur depuis le {}.", l.code, l.label, l.price.format_fr(), l.unit.label(), format_date_fr(l.period.from))
}

pub async fn tariff_close_page(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_manage(&ctx, e.id) {
        return Err(refuse(&ctx, e.id, "tariff", "close").await);
    }
    let t = tariffs::get(&ctx.state.db, ctx.actor(), e.id, id).await?;
    if t.line.period.to.is_some() {
        return Ok(error_page(StatusCode::CONFLICT, "Version déjà close", &format!("Cette version est close au {}.", opt_day(t.line.period.to))));
    }
    Ok(close_form(&ctx, "Clore un tarif", tariff_what(&t), format!("/tarifs/{id}/clore"), "/tarifs", t.version, "", &FieldErrors::new(), None).await)
}

pub async fn tariff_close(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<CloseForm>) -> PageResult {
    let e = ctx.establishment().await?;
    let version = f.version.trim().parse().unwrap_or(0);
    let closed = match parse_last_day(&f.au) {
        Ok(d) => tariffs::close(&ctx.state.db, ctx.actor(), e.id, id, version, d).await,
        Err(err) => Err(err),
    };
    let action = format!("/tarifs/{id}/clore");
    match closed {
        Ok(_) => Ok(see_other("/tarifs", "clos")),
        Err(Error::Invalid(errs)) => {
            let t = tariffs::get(&ctx.state.db, ctx.actor(), e.id, id).await?;
            Ok(close_form(&ctx, "Clore un tarif", tariff_what(&t), action, "/tarifs", version, &f.au, &close_errors(errs), None).await)
        }
        Err(Error::Conflict(m)) => {
            let t = tariffs::get(&ctx.state.db, ctx.actor(), e.id, id).await?;
            Ok(close_form(&ctx, "Clore un tarif", tariff_what(&t), action, "/tarifs", t.version, &f.au, &FieldErrors::new(), Some(m)).await)
        }
        Err(err) => Err(PageError(err)),
    }
}

// ---------------------------------------------------------------- parameters

#[derive(Deserialize, Default, Clone)]
pub struct ParameterQuery {
    #[serde(default)]
    le: String,
}

pub struct ParameterRowView {
    id: i64,
    /// Shown in grey: a closed version, when every version is listed.
    dim: bool,
    /// The latest version of its key and subject (a new version starts from it).
    latest: bool,
    key: &'static str,
    subject: String,
    value: String,
    from: String,
    to: String,
    source: String,
    open: bool,
}

#[derive(Template)]
#[template(path = "billing/parameters.html")]
struct ParametersPage {
    chrome: Chrome,
    establishment: String,
    rows: Vec<ParameterRowView>,
    q: ParameterQuery,
    scope: String,
    filter_error: Option<String>,
    can_manage: bool,
}

pub async fn parameters(ctx: Ctx, Query(q): Query<ParameterQuery>) -> PageResult {
    let e = ctx.establishment().await?;
    let (on, filter_error) = match on_day(&q.le) {
        Ok(d) => (d, None),
        Err(m) => (None, Some(m)),
    };
    let list = parameters::list(&ctx.state.db, ctx.actor(), e.id, on).await?;
    let mut latest: std::collections::HashMap<(ParameterKey, Option<Exemption>), (Date, i64)> = std::collections::HashMap::new();
    for p in &list {
        let v = (p.parameter.period.from, p.parameter.id);
        latest.entry((p.parameter.key, p.parameter.subject)).and_modify(|x| *x = (*x).max(v)).or_insert(v);
    }
    let latest: std::collections::HashSet<i64> = latest.values().map(|v| v.1).collect();
    let rows = list
        .into_iter()
        .map(|p| {
            let p = p.parameter;
            ParameterRowView {
                latest: latest.contains(&p.id),
                id: p.id,
                dim: on.is_none() && p.period.to.is_some(),
                key: p.key.label(),
                subject: p.subject.map(|s| s.label().to_string()).unwrap_or_default(),
                value: p.value.format_fr(),
                from: format_date_fr(p.period.from),
                to: opt_day(p.period.to),
                open: p.period.to.is_none(),
                source: p.source,
            }
        })
        .collect();
    let page = ParametersPage {
        chrome: ctx.chrome("Paramètres de facturation").await,
        can_manage: can_manage(&ctx, e.id),
        establishment: e.name,
        rows,
        scope: scope_text(on),
        q,
        filter_error,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// The parameter list as CSV (same filter as the page; cells neutralised by the shared export).
pub async fn parameters_csv(ctx: Ctx, Query(q): Query<ParameterQuery>) -> PageResult {
    let e = ctx.establishment().await?;
    let on = match on_day(&q.le) {
        Ok(d) => d,
        Err(m) => return Ok(error_page(StatusCode::UNPROCESSABLE_ENTITY, "Filtre invalide", &m)),
    };
    let rows = parameters::list(&ctx.state.db, ctx.actor(), e.id, on)
        .await?
        .into_iter()
        .map(|p| {
            let p = p.parameter;
            vec![
                p.key.label().to_string(),
                p.subject.map(|s| s.label().to_string()).unwrap_or_default(),
                p.value.format_fr(),
                format_date_fr(p.period.from),
                p.period.to.map(format_date_fr).unwrap_or_default(),
                p.source,
            ]
        })
        .collect();
    Ok(csv_response("parametres-facturation.csv", &["Paramètre", "Exonération concernée", "Valeur", "Du", "Au", "Source"], rows))
}

const VALUE_HINT: &str = "Selon le paramètre : un taux (ex. 20 %), un montant (ex. 24,00), un nombre entier, oui ou non, ou des codes séparés par des virgules.";

fn parameter_fields(i: &ParameterInput) -> Vec<Field> {
    let mut keys = vec![("", "— Choisir —")];
    keys.extend_from_slice(ParameterKey::TABLE);
    let mut subjects = vec![("", "— Aucune —")];
    subjects.extend_from_slice(Exemption::TABLE);
    let hint = match ParameterKey::from_code(i.key.trim()) {
        Some(k) => format!("Attendu : {}.", k.hint()),
        None => VALUE_HINT.to_string(),
    };
    vec![
        Field::text("key", "Paramètre", &i.key).required().select(&keys),
        Field::text("subject", "Exonération concernée", &i.subject)
            .select(&subjects)
            .hint("Seulement pour « Ce qu'une exonération exonère » ; à laisser vide pour les autres paramètres."),
        Field::text("value", "Valeur", &i.value).required().hint(&hint),
        Field::text("valid_from", "Du", &i.valid_from).required().hint("JJ/MM/AAAA. La version ouverte du même paramètre est close la veille.").section("Validité"),
        Field::text("valid_to", "Au", &i.valid_to).hint("JJ/MM/AAAA ; vide = sans date de fin."),
        Field::text("source", "Source", &i.source).required().hint("Texte d'où vient la valeur (article, arrêté, délibération…)."),
    ]
}

async fn parameter_form(ctx: &Ctx, i: &ParameterInput, errors: &FieldErrors, intro: Option<String>) -> Response {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    FormPage {
        chrome: ctx.chrome("Nouveau paramètre de facturation").await,
        heading: "Nouveau paramètre de facturation".into(),
        intro,
        action: "/parametres-facturation/nouveau".into(),
        fields: with_errors(parameter_fields(i), errors),
        submit: "Enregistrer".into(),
        cancel: Some("/parametres-facturation".into()),
        error_count: errors.0.len(),
    }
    .response(status)
}

pub async fn parameter_new(ctx: Ctx, Query(q): Query<FromQuery>) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_manage(&ctx, e.id) {
        return Err(refuse(&ctx, e.id, "billing_parameter", "add").await);
    }
    let (i, intro) = match q.depuis {
        None => (ParameterInput::default(), None),
        Some(id) => {
            let p = parameters::get(&ctx.state.db, ctx.actor(), e.id, id).await?.parameter;
            let intro = version_intro(&p);
            (ParameterInput { key: p.key.code().into(), subject: p.subject.map(|s| s.code().to_string()).unwrap_or_default(), ..Default::default() }, Some(intro))
        }
    };
    Ok(parameter_form(&ctx, &i, &FieldErrors::new(), intro).await)
}

/// What the form says of the version a new one follows.
fn version_intro(p: &quittance_domain::billing::parameters::Parameter) -> String {
    format!(
        "Nouvelle version de « {} »{} ({} depuis le {}) : saisissez la nouvelle valeur, la date à partir de laquelle elle s'applique et sa source.",
        p.key.label(),
        p.subject.map(|s| format!(", {}", s.label())).unwrap_or_default(),
        p.value.format_fr(),
        format_date_fr(p.period.from)
    )
}

/// The intro of a form re-shown after an error: the open version of the key (and exemption)
/// typed, if there is one — as the form said when it was opened from that version.
async fn intro_for_typed(ctx: &Ctx, establishment_id: i64, i: &ParameterInput) -> Option<String> {
    let key = ParameterKey::from_code(i.key.trim())?;
    let subject = match i.subject.trim() {
        "" => None,
        s => Some(Exemption::from_code(s)?),
    };
    let list = parameters::list(&ctx.state.db, ctx.actor(), establishment_id, None).await.ok()?;
    list.iter().map(|p| &p.parameter).find(|p| p.key == key && p.subject == subject && p.period.to.is_none()).map(version_intro)
}

pub async fn parameter_create(CsrfForm(ctx, i): CsrfForm<ParameterInput>) -> PageResult {
    let e = ctx.establishment().await?;
    let added = match parameters::parse_for(&ctx.state.db, e.id, &i).await {
        Ok(p) => parameters::add(&ctx.state.db, ctx.actor(), e.id, &p).await,
        Err(err) => Err(err),
    };
    match added {
        Ok(_) => Ok(see_other("/parametres-facturation", "parametre")),
        Err(Error::Invalid(errs)) => {
            let intro = intro_for_typed(&ctx, e.id, &i).await;
            Ok(parameter_form(&ctx, &i, &errs, intro).await)
        }
        Err(err) => Err(PageError(err)),
    }
}

fn parameter_what(p: &StoredParameter) -> String {
    let p = &p.parameter;
    format!(
        "Version de « {} »{} à {}, en vigueur depuis le {}.",
        p.key.label(),
        p.subject.map(|s| format!(", {}", s.label())).unwrap_or_default(),
        p.value.format_fr(),
        format_date_fr(p.period.from)
    )
}

pub async fn parameter_close_page(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_manage(&ctx, e.id) {
        return Err(refuse(&ctx, e.id, "billing_parameter", "close").await);
    }
    let p = parameters::get(&ctx.state.db, ctx.actor(), e.id, id).await?;
    if p.parameter.period.to.is_some() {
        return Ok(error_page(StatusCode::CONFLICT, "Version déjà close", &format!("Cette version est close au {}.", opt_day(p.parameter.period.to))));
    }
    let action = format!("/parametres-facturation/{id}/clore");
    Ok(close_form(&ctx, "Clore un paramètre", parameter_what(&p), action, "/parametres-facturation", p.version, "", &FieldErrors::new(), None).await)
}

pub async fn parameter_close(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<CloseForm>) -> PageResult {
    let e = ctx.establishment().await?;
    let version = f.version.trim().parse().unwrap_or(0);
    let closed = match parse_last_day(&f.au) {
        Ok(d) => parameters::close(&ctx.state.db, ctx.actor(), e.id, id, version, d).await,
        Err(err) => Err(err),
    };
    let (action, cancel) = (format!("/parametres-facturation/{id}/clore"), "/parametres-facturation");
    match closed {
        Ok(_) => Ok(see_other(cancel, "clos")),
        Err(Error::Invalid(errs)) => {
            let p = parameters::get(&ctx.state.db, ctx.actor(), e.id, id).await?;
            Ok(close_form(&ctx, "Clore un paramètre", parameter_what(&p), action, cancel, version, &f.au, &close_errors(errs), None).await)
        }
        Err(Error::Conflict(m)) => {
            let p = parameters::get(&ctx.state.db, ctx.actor(), e.id, id).await?;
            Ok(close_form(&ctx, "Clore un paramètre", parameter_what(&p), action, cancel, p.version, &f.au, &FieldErrors::new(), Some(m)).await)
        }
        Err(err) => Err(PageError(err)),
    }
}
