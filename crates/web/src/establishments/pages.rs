//! Dashboard and the administration of establishments, sites and numbering series.

use askama::Template;
use crate::extract::{PagePath as Path, PageQuery as Query};
use axum::http::StatusCode;
use axum::response::Response;
use quittance_domain::access::Permission;
use quittance_domain::numbering::SeriesMask;
use quittance_domain::validation::FieldErrors;
use quittance_store::establishments::{self as est, Establishment, EstablishmentInput, KINDS, SITE_KINDS, SeriesInput, Site, SiteInput};
use quittance_store::Error;
use serde::Deserialize;

use crate::session::{Ctx, CsrfForm};
use crate::render::{Chrome, Field, FormPage, PageError, PageResult, csv_response, html, see_other, with_errors};

// ---------------------------------------------------------------- establishments

struct EstRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    ids: String,
    currency: String,
    timezone: String,
}

#[derive(Template)]
#[template(path = "establishments/establishments.html")]
struct EstablishmentsPage {
    chrome: Chrome,
    rows: Vec<EstRow>,
    can_create: bool,
}

fn legal_ids_text(e: &Establishment) -> String {
    let mut v = Vec::new();
    if let Some(s) = &e.siret {
        v.push(format!("SIRET {s}"));
    }
    if let Some(s) = &e.finess {
        v.push(format!("FINESS {s}"));
    }
    if let Some(s) = &e.ridet {
        v.push(format!("RIDET {s}"));
    }
    v.join(" · ")
}

async fn managed_establishments(ctx: &Ctx) -> Result<Vec<Establishment>, Error> {
    let a = ctx.actor();
    a.require_anywhere(&ctx.state.db, Permission::ManageEstablishments, "establishment", "list").await?;
    let all = est::list(&ctx.state.db, a).await?;
    Ok(all
        .into_iter()
        .filter(|e| a.allows(Permission::ManageEstablishments, quittance_domain::access::Scope::Establishment(e.id)))
        .collect())
}

pub async fn establishments(ctx: Ctx) -> PageResult {
    let rows = managed_establishments(&ctx)
        .await?
        .into_iter()
        .map(|e| EstRow {
            id: e.id,
            ids: legal_ids_text(&e),
            kind: e.kind.label().to_string(),
            code: e.code,
            name: e.name,
            currency: e.currency.code().to_string(),
            timezone: e.timezone,
        })
        .collect();
    let page = EstablishmentsPage { chrome: ctx.chrome("Établissements").await, rows, can_create: true };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn establishments_csv(ctx: Ctx) -> PageResult {
    let rows = managed_establishments(&ctx)
        .await?
        .into_iter()
        .map(|e| {
            vec![
                e.code.clone(),
                e.name.clone(),
                e.kind.label().to_string(),
                e.siret.clone().unwrap_or_default(),
                e.finess.clone().unwrap_or_default(),
                e.ridet.clone().unwrap_or_default(),
                e.currency.code().to_string(),
                e.timezone.clone(),
                e.city.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Ok(csv_response(
        "etablissements.csv",
        &["Code", "Nom", "Type", "SIRET", "FINESS", "RIDET", "Devise", "Fuseau", "Ville"],
        rows,
    ))
}

fn establishment_fields(i: &EstablishmentInput, editing: bool) -> Vec<Field> {
    let mut currency = Field::text("currency", "Devise", &i.currency).required().select(&[("EUR", "Euro (EUR)"), ("XPF", "Franc CFP (XPF)")]);
    if editing {
        currency = currency.hint("La devise ne change pas après la création.");
    }
    vec![
        Field::text("code", "Code", &i.code).required().hint("Court et stable, ex. HSM."),
        Field::text("name", "Raison sociale", &i.name).required(),
        Field::text("kind", "Type", &i.kind).required().select(KINDS),
        currency,
        Field::text("timezone", "Fuseau horaire", &i.timezone).required().select(&[
            ("Europe/Paris", "Europe/Paris (métropole)"),
            ("Pacific/Noumea", "Pacific/Noumea (Nouvelle-Calédonie)"),
            ("America/Cayenne", "America/Cayenne (Guyane)"),
            ("Indian/Reunion", "Indian/Reunion (La Réunion)"),
            ("America/Martinique", "America/Martinique"),
            ("America/Guadeloupe", "America/Guadeloupe"),
            ("Indian/Mayotte", "Indian/Mayotte"),
            ("Pacific/Tahiti", "Pacific/Tahiti"),
        ]),
        Field::text("siret", "SIRET", &i.siret).hint("14 chiffres (France)."),
        Field::text("finess", "FINESS", &i.finess).hint("9 caractères (France)."),
        Field::text("ridet", "RIDET", &i.ridet).hint("Nouvelle-Calédonie : 7 chiffres, suivis de l'établissement (ex. 0123456.001)."),
        Field::text("address_line1", "Adresse", &i.address_line1),
        Field::text("address_line2", "Complément d'adresse", &i.address_line2),
        Field::text("postcode", "Code postal", &i.postcode),
        Field::text("city", "Ville", &i.city),
        Field::text("country", "Pays", &i.country),
        Field::text("phone", "Téléphone", &i.phone),
        Field::text("email", "Courriel", &i.email).email(),
    ]
}

/// The line above a form re-shown after a stale submit.
fn stale_intro(message: &str) -> String {
    format!("{message} Vos saisies sont conservées ci-dessous : vérifiez-les puis enregistrez à nouveau si elles restent justes.")
}

fn form_status(errors: &FieldErrors, conflict: Option<&str>) -> StatusCode {
    if conflict.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The hidden `version` field of an edit form (`None` for a creation form).
fn with_version(mut fields: Vec<Field>, version: Option<i64>) -> Vec<Field> {
    if let Some(v) = version {
        fields.insert(0, Field::hidden("version", &v.to_string()));
    }
    fields
}

/// The version a form sent (0, never current, when missing or garbled: a conflict, not a blind write).
fn sent_version(v: &str) -> i64 {
    v.trim().parse().unwrap_or(0)
}

#[allow(clippy::too_many_arguments)]
async fn establishment_form(
    ctx: &Ctx,
    heading: &str,
    action: String,
    cancel: String,
    input: &EstablishmentInput,
    errors: &FieldErrors,
    version: Option<i64>,
    conflict: Option<&str>,
) -> Response {
    FormPage {
        chrome: ctx.chrome(heading).await,
        heading: heading.into(),
        intro: conflict.map(stale_intro),
        action,
        fields: with_errors(with_version(establishment_fields(input, version.is_some()), version), errors),
        submit: "Enregistrer".into(),
        cancel: Some(cancel),
        error_count: errors.0.len(),
    }
    .response(form_status(errors, conflict))
}

pub async fn establishment_new(ctx: Ctx) -> PageResult {
    ctx.actor().require_anywhere(&ctx.state.db, Permission::ManageEstablishments, "establishment", "create").await?;
    let input = EstablishmentInput { kind: "hopital".into(), currency: "EUR".into(), timezone: "Europe/Paris".into(), country: "France".into(), ..Default::default() };
    Ok(establishment_form(&ctx, "Nouvel établissement", "/admin/etablissements/nouveau".into(), "/admin/etablissements".into(), &input, &FieldErrors::new(), None, None).await)
}

pub async fn establishment_create(CsrfForm(ctx, input): CsrfForm<EstablishmentInput>) -> PageResult {
    let created = match est::parse_establishment(&input) {
        Ok(p) => est::create(&ctx.state.db, ctx.actor(), &p).await,
        Err(errs) => Err(Error::Invalid(errs)),
    };
    match created {
        Ok(e) => Ok(see_other(&format!("/admin/etablissements/{}", e.id), "cree")),
        Err(Error::Invalid(errs)) => Ok(establishment_form(&ctx, "Nouvel établissement", "/admin/etablissements/nouveau".into(), "/admin/etablissements".into(), &input, &errs, None, None).await),
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template)]
#[template(path = "establishments/establishment.html")]
struct EstablishmentPage {
    chrome: Chrome,
    e: Establishment,
    kind: String,
    address: String,
    sites: Vec<SiteRow>,
    series: Vec<(String, String, String, String)>,
    series_fields: Vec<Field>,
    series_error_count: usize,
    /// A stale series submit: the message above the series form.
    series_conflict: Option<String>,
    /// The series being changed (its code), `None` for a new one.
    series_editing: Option<String>,
}

struct SiteRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    city: String,
    active: bool,
}

/// What the series form shows: code, label, mask, and the version of the series it changes
/// (`None`: a new series).
struct SeriesFormState<'a> {
    code: &'a str,
    label: &'a str,
    mask: &'a str,
    version: Option<i64>,
    conflict: Option<String>,
}

async fn establishment_page(ctx: &Ctx, id: i64, form: SeriesFormState<'_>, errors: &FieldErrors) -> PageResult {
    let a = ctx.actor();
    a.require(&ctx.state.db, Permission::ManageEstablishments, quittance_domain::access::Scope::Establishment(id), "establishment", "read").await?;
    let e = est::get(&ctx.state.db, a, id).await?;
    let sites = est::list_sites(&ctx.state.db, a, id)
        .await?
        .into_iter()
        .map(|s| SiteRow { id: s.id, kind: s.kind.label().to_string(), city: s.city.unwrap_or_default(), code: s.code, name: s.name, active: s.active })
        .collect();
    let year = jiff::Zoned::now().year() as i32;
    let series = est::list_series(&ctx.state.db, a, id)
        .await?
        .into_iter()
        .map(|s| {
            let example = SeriesMask::parse(&s.mask).map(|m| m.format(year, 123)).unwrap_or_default();
            (s.code, s.label, s.mask, example)
        })
        .collect();
    let address = [e.address_line1.clone(), e.address_line2.clone(), Some(format!("{} {}", e.postcode.clone().unwrap_or_default(), e.city.clone().unwrap_or_default()).trim().to_string()), Some(e.country.clone())]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let page = EstablishmentPage {
        chrome: ctx.chrome(&e.name).await,
        kind: e.kind.label().to_string(),
        address,
        e,
        sites,
        series,
        series_fields: with_errors(
            with_version(
                vec![
                    Field::text("code", "Code de série", form.code),
                    Field::text("label", "Libellé", form.label),
                    Field::text("mask", "Masque", form.mask),
                ],
                form.version,
            ),
            errors,
        ),
        series_error_count: errors.0.len(),
        series_editing: form.version.map(|_| form.code.to_string()),
        series_conflict: form.conflict.as_deref().map(stale_intro),
    };
    Ok(html(form_status(errors, form.conflict.as_deref()), page.render()))
}

#[derive(Deserialize, Default)]
pub struct SeriesQuery {
    /// `?serie=FAC`: the series form is filled with that series, to change it.
    #[serde(default)]
    serie: String,
}

pub async fn establishment_view(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<SeriesQuery>) -> PageResult {
    if !q.serie.is_empty() {
        let list = est::list_series(&ctx.state.db, ctx.actor(), id).await?;
        if let Some(s) = list.iter().find(|s| s.code == q.serie) {
            let form = SeriesFormState { code: &s.code, label: &s.label, mask: &s.mask, version: Some(s.version), conflict: None };
            return establishment_page(&ctx, id, form, &FieldErrors::new()).await;
        }
    }
    let form = SeriesFormState { code: "", label: "", mask: "FAC-{YYYY}-{N:6}", version: None, conflict: None };
    establishment_page(&ctx, id, form, &FieldErrors::new()).await
}

pub async fn establishment_edit(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    ctx.actor().require(&ctx.state.db, Permission::ManageEstablishments, quittance_domain::access::Scope::Establishment(id), "establishment", "update").await?;
    let e = est::get(&ctx.state.db, ctx.actor(), id).await?;
    let input = est::as_input(&e);
    Ok(establishment_form(&ctx, &format!("Modifier {}", e.name), format!("/admin/etablissements/{id}/modifier"), format!("/admin/etablissements/{id}"), &input, &FieldErrors::new(), Some(e.version), None).await)
}

#[derive(Deserialize)]
pub struct EstablishmentEditForm {
    #[serde(flatten)]
    input: EstablishmentInput,
    #[serde(default)]
    version: String,
}

pub async fn establishment_update(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<EstablishmentEditForm>) -> PageResult {
    let version = sent_version(&f.version);
    let (action, cancel) = (format!("/admin/etablissements/{id}/modifier"), format!("/admin/etablissements/{id}"));
    let updated = match est::parse_establishment(&f.input) {
        Ok(p) => est::update(&ctx.state.db, ctx.actor(), id, version, &p).await,
        Err(errs) => Err(Error::Invalid(errs)),
    };
    match updated {
        Ok(_) => Ok(see_other(&cancel, "modifie")),
        Err(Error::Invalid(errs)) => Ok(establishment_form(&ctx, "Modifier l'établissement", action, cancel, &f.input, &errs, Some(version), None).await),
        Err(Error::Conflict(m)) => {
            let current = est::get(&ctx.state.db, ctx.actor(), id).await?;
            Ok(establishment_form(&ctx, "Modifier l'établissement", action, cancel, &f.input, &FieldErrors::new(), Some(current.version), Some(&m)).await)
        }
        Err(e) => Err(PageError(e)),
    }
}

// ---------------------------------------------------------------- sites

fn site_fields(i: &SiteInput) -> Vec<Field> {
    let active = if i.active.unwrap_or(true) { "true" } else { "false" };
    vec![
        Field::text("code", "Code", &i.code).required(),
        Field::text("name", "Nom", &i.name).required(),
        Field::text("kind", "Type", &i.kind).required().select(SITE_KINDS),
        Field::text("address_line1", "Adresse", &i.address_line1),
        Field::text("postcode", "Code postal", &i.postcode),
        Field::text("city", "Ville", &i.city),
        Field::text("active", "État", active).select(&[("true", "Actif"), ("false", "Fermé")]),
    ]
}

#[allow(clippy::too_many_arguments)]
async fn site_form(
    ctx: &Ctx,
    heading: &str,
    action: String,
    est_id: i64,
    input: &SiteInput,
    errors: &FieldErrors,
    version: Option<i64>,
    conflict: Option<&str>,
) -> Response {
    FormPage {
        chrome: ctx.chrome(heading).await,
        heading: heading.into(),
        intro: conflict.map(stale_intro),
        action,
        fields: with_errors(with_version(site_fields(input), version), errors),
        submit: "Enregistrer".into(),
        cancel: Some(format!("/admin/etablissements/{est_id}")),
        error_count: errors.0.len(),
    }
    .response(form_status(errors, conflict))
}

pub async fn site_new(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    ctx.actor().require(&ctx.state.db, Permission::ManageEstablishments, quittance_domain::access::Scope::Establishment(id), "site", "create").await?;
    let input = SiteInput { kind: "service".into(), ..Default::default() };
    Ok(site_form(&ctx, "Nouveau site", format!("/admin/etablissements/{id}/sites/nouveau"), id, &input, &FieldErrors::new(), None, None).await)
}

#[derive(Deserialize)]
pub struct SiteForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    address_line1: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    version: String,
}

impl SiteForm {
    fn input(&self) -> SiteInput {
        SiteInput {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            address_line1: self.address_line1.clone(),
            postcode: self.postcode.clone(),
            city: self.city.clone(),
            active: Some(self.active != "false"),
        }
    }
}

pub async fn site_create(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<SiteForm>) -> PageResult {
    let input = f.input();
    let created = match est::parse_site(&input) {
        Ok(p) => est::create_site(&ctx.state.db, ctx.actor(), id, &p).await,
        Err(errs) => Err(Error::Invalid(errs)),
    };
    match created {
        Ok(_) => Ok(see_other(&format!("/admin/etablissements/{id}"), "cree")),
        Err(Error::Invalid(errs)) => Ok(site_form(&ctx, "Nouveau site", format!("/admin/etablissements/{id}/sites/nouveau"), id, &input, &errs, None, None).await),
        Err(e) => Err(PageError(e)),
    }
}

pub async fn site_edit(ctx: Ctx, Path((id, sid)): Path<(i64, i64)>) -> PageResult {
    ctx.actor().require(&ctx.state.db, Permission::ManageEstablishments, quittance_domain::access::Scope::Establishment(id), "site", "update").await?;
    let s: Site = est::get_site(&ctx.state.db, ctx.actor(), id, sid).await?;
    Ok(site_form(&ctx, &format!("Modifier {}", s.name), format!("/admin/etablissements/{id}/sites/{sid}/modifier"), id, &est::site_as_input(&s), &FieldErrors::new(), Some(s.version), None).await)
}

pub async fn site_update(Path((id, sid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<SiteForm>) -> PageResult {
    let input = f.input();
    let version = sent_version(&f.version);
    let action = format!("/admin/etablissements/{id}/sites/{sid}/modifier");
    let updated = match est::parse_site(&input) {
        Ok(p) => est::update_site(&ctx.state.db, ctx.actor(), id, sid, version, &p).await,
        Err(errs) => Err(Error::Invalid(errs)),
    };
    match updated {
        Ok(_) => Ok(see_other(&format!("/admin/etablissements/{id}"), "modifie")),
        Err(Error::Invalid(errs)) => Ok(site_form(&ctx, "Modifier le site", action, id, &input, &errs, Some(version), None).await),
        Err(Error::Conflict(m)) => {
            let current = est::get_site(&ctx.state.db, ctx.actor(), id, sid).await?;
            Ok(site_form(&ctx, "Modifier le site", action, id, &input, &FieldErrors::new(), Some(current.version), Some(&m)).await)
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize)]
pub struct SeriesForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    mask: String,
    /// Empty for a new series; the version read when changing one.
    #[serde(default)]
    version: String,
}

pub async fn series_save(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<SeriesForm>) -> PageResult {
    let version = if f.version.trim().is_empty() { None } else { Some(sent_version(&f.version)) };
    let form = |version, conflict| SeriesFormState { code: &f.code, label: &f.label, mask: &f.mask, version, conflict };
    let raw = SeriesInput { code: f.code.clone(), label: f.label.clone(), mask: f.mask.clone() };
    let saved = match est::parse_series(&raw) {
        Ok(p) => est::save_series(&ctx.state.db, ctx.actor(), id, version, &p).await,
        Err(errs) => Err(Error::Invalid(errs)),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/admin/etablissements/{id}"), "modifie")),
        Err(Error::Invalid(errs)) => establishment_page(&ctx, id, form(version, None), &errs).await,
        Err(Error::Conflict(m)) => {
            let list = est::list_series(&ctx.state.db, ctx.actor(), id).await?;
            let current = list.iter().find(|s| s.code == f.code.trim().to_uppercase()).map(|s| s.version);
            establishment_page(&ctx, id, form(current, Some(m)), &FieldErrors::new()).await
        }
        Err(e) => Err(PageError(e)),
    }
}
