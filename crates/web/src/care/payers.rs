//! Payers (organismes) of the current establishment: list, create, edit, dated rates.

use askama::Template;
use crate::extract::PagePath as Path;
use axum::http::StatusCode;
use axum::response::Response;
use quittance_domain::access::{Permission, Scope};
use quittance_domain::care::coverage::{CATEGORIES, CHANNELS, PAYER_KINDS, STATEMENT_PERIODS};
use quittance_domain::validation::FieldErrors;
use quittance_store::Error;
use quittance_store::care::payers::{self, Payer, PayerInput, RateInput};
use serde::Deserialize;

use crate::session::{Ctx, CsrfForm};
use crate::render::{Chrome, Field, FormPage, PageError, PageResult, csv_response, html, see_other, with_errors};

fn can_write(ctx: &Ctx, establishment_id: i64) -> bool {
    let s = Scope::Establishment(establishment_id);
    ctx.actor().allows(Permission::ManageEstablishments, s) || ctx.actor().allows(Permission::Bill, s)
}

struct Row {
    id: i64,
    code: String,
    name: String,
    kind: String,
    identifier: String,
    terms: String,
    period: String,
    channel: String,
    account: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "care/payers.html")]
struct PayersPage {
    chrome: Chrome,
    establishment: String,
    rows: Vec<Row>,
    can_write: bool,
}

pub async fn list(ctx: Ctx) -> PageResult {
    let e = ctx.establishment().await?;
    let rows = payers::list(&ctx.state.db, ctx.actor(), e.id)
        .await?
        .into_iter()
        .map(|p| Row {
            id: p.id,
            kind: p.kind.label().to_string(),
            identifier: p.identifier.clone().unwrap_or_default(),
            terms: format!("{} j", p.payment_terms_days),
            period: format!("{} (J+{})", p.statement_period.label(), p.statement_deadline_days),
            channel: p.channel.label().to_string(),
            account: p.accounting_account.clone().unwrap_or_default(),
            active: p.active,
            code: p.code,
            name: p.name,
        })
        .collect();
    let page = PayersPage { chrome: ctx.chrome("Organismes").await, can_write: can_write(&ctx, e.id), establishment: e.name, rows };
    Ok(html(StatusCode::OK, page.render()))
}

pub async fn list_csv(ctx: Ctx) -> PageResult {
    let e = ctx.establishment().await?;
    let rows = payers::list(&ctx.state.db, ctx.actor(), e.id)
        .await?
        .into_iter()
        .map(|p| {
            vec![
                p.code.clone(),
                p.name.clone(),
                p.kind.label().to_string(),
                p.identifier.clone().unwrap_or_default(),
                p.payment_terms_days.to_string(),
                p.statement_period.label().to_string(),
                p.statement_deadline_days.to_string(),
                p.channel.label().to_string(),
                p.accounting_account.clone().unwrap_or_default(),
                if p.active { "actif".into() } else { "inactif".into() },
            ]
        })
        .collect();
    Ok(csv_response(
        "organismes.csv",
        &["Code", "Nom", "Type", "Identifiant", "Délai de paiement (j)", "Périodicité des états", "Délai d'envoi (j)", "Canal", "Compte", "État"],
        rows,
    ))
}

fn fields(i: &PayerInput) -> Vec<Field> {
    let active = if i.active.is_empty() { "true" } else { i.active.as_str() };
    vec![
        Field::text("code", "Code", &i.code).required().hint("Court et stable, ex. CPAM69, CAFAT."),
        Field::text("kind", "Type", &i.kind).required().select(PAYER_KINDS),
        Field::text("name", "Nom", &i.name).required(),
        Field::text("identifier", "Identifiant de l'organisme", &i.identifier).hint("Code organisme, n° AMC, RIDET…"),
        Field::text("address_line1", "Adresse", &i.address_line1).section("Coordonnées"),
        Field::text("address_line2", "Complément d'adresse", &i.address_line2),
        Field::text("postcode", "Code postal", &i.postcode),
        Field::text("city", "Commune", &i.city),
        Field::text("country", "Pays", &i.country),
        Field::text("phone", "Téléphone", &i.phone),
        Field::text("email", "Courriel", &i.email).email(),
        Field::text("contact_name", "Contact", &i.contact_name),
        Field::text("payment_terms_days", "Délai de paiement (jours)", &i.payment_terms_days).section("Paiement et états").hint("30 par défaut."),
        Field::text("statement_period", "Périodicité des états de tiers payant", &i.statement_period).select(STATEMENT_PERIODS),
        Field::text("statement_deadline_days", "Délai d'envoi des états (jours après la période)", &i.statement_deadline_days),
        Field::text("channel", "Canal de transmission", &i.channel).select(CHANNELS),
        Field::text("accounting_account", "Compte comptable", &i.accounting_account).hint("ex. 4111, 4112"),
        Field::text("active", "État", active).select(&[("true", "Actif"), ("false", "Inactif")]),
    ]
}

async fn form(ctx: &Ctx, heading: &str, action: String, cancel: String, i: &PayerInput, errors: &FieldErrors) -> Response {
    edit_form(ctx, heading, action, cancel, i, None, errors, None).await
}

#[allow(clippy::too_many_arguments)]
async fn edit_form(ctx: &Ctx, heading: &str, action: String, cancel: String, i: &PayerInput, version: Option<i64>, errors: &FieldErrors, stale: Option<String>) -> Response {
    let mut fields = fields(i);
    if let Some(v) = version {
        fields.insert(0, Field::hidden("version", &v.to_string()));
    }
    let status = if stale.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    FormPage {
        chrome: ctx.chrome(heading).await,
        heading: heading.into(),
        intro: stale,
        action,
        fields: with_errors(fields, errors),
        submit: "Enregistrer".into(),
        cancel: Some(cancel),
        error_count: errors.0.len(),
    }
    .response(status)
}

pub async fn new_page(ctx: Ctx) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_write(&ctx, e.id) {
        return Err(PageError(ctx.actor().deny(&ctx.state.db, Permission::Bill, Scope::Establishment(e.id), "payer", "create").await));
    }
    let i = PayerInput { kind: "complementaire".into(), payment_terms_days: "30".into(), statement_period: "mensuel".into(), statement_deadline_days: "15".into(), channel: "papier".into(), ..Default::default() };
    Ok(form(&ctx, "Nouvel organisme", "/organismes/nouveau".into(), "/organismes".into(), &i, &FieldErrors::new()).await)
}

pub async fn create(CsrfForm(ctx, i): CsrfForm<PayerInput>) -> PageResult {
    let e = ctx.establishment().await?;
    let created = match payers::parse_payer(&i) {
        Ok(p) => payers::create(&ctx.state.db, ctx.actor(), e.id, &p).await,
        Err(errs) => Err(Error::Invalid(errs)),
    };
    match created {
        Ok(p) => Ok(see_other(&format!("/organismes/{}", p.id), "cree")),
        Err(Error::Invalid(errs)) => Ok(form(&ctx, "Nouvel organisme", "/organismes/nouveau".into(), "/organismes".into(), &i, &errs).await),
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template)]
#[template(path = "care/payer_rates.html")]
struct PayerPage {
    chrome: Chrome,
    id: i64,
    name: String,
    facts: Vec<(String, String)>,
    rates: Vec<(String, String, String, String)>,
    categories: Vec<(&'static str, &'static str)>,
    can_write: bool,
    version: i64,
    /// The rate form as typed (re-shown after an error).
    rate_form: RateForm,
    /// `(field, label, message)` of the rate form.
    rate_errors: Vec<(String, &'static str, String)>,
    /// A stale submit: the payer changed since the page was shown.
    rate_notice: Option<String>,
}

impl PayerPage {
    fn rate_error(&self, field: &str) -> Option<&str> {
        self.rate_errors.iter().find(|e| e.0 == field).map(|e| e.2.as_str())
    }
}

fn rate_label(field: &str) -> &'static str {
    match field {
        "category" => "Catégorie",
        "rate" => "Taux",
        "valid_from" => "À partir du",
        _ => "Taux",
    }
}

fn day_fr(d: &str) -> String {
    d.parse::<jiff::civil::Date>().map(quittance_domain::fr::format_date_fr).unwrap_or_default()
}

async fn payer_page(ctx: &Ctx, p: Payer, rate_form: RateForm, errors: &FieldErrors, rate_notice: Option<String>) -> PageResult {
    let rates = payers::rates(&ctx.state.db, ctx.actor(), p.id)
        .await?
        .into_iter()
        .map(|r| (r.category.label().to_string(), r.rate_bp.format_fr(), day_fr(&r.valid_from), r.valid_to.as_deref().map(day_fr).unwrap_or_else(|| "—".into())))
        .collect();
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let facts = vec![
        ("Code".to_string(), p.code.clone()),
        ("Type".into(), p.kind.label().to_string()),
        ("Identifiant".into(), o(&p.identifier)),
        ("Adresse".into(), [p.address_line1.clone(), p.postcode.clone(), p.city.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ")),
        ("Contact".into(), [p.contact_name.clone(), p.phone.clone(), p.email.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ")),
        ("Délai de paiement".into(), format!("{} jours", p.payment_terms_days)),
        ("États de tiers payant".into(), format!("{}, envoi sous {} jours", p.statement_period.label(), p.statement_deadline_days)),
        ("Canal".into(), p.channel.label().to_string()),
        ("Compte comptable".into(), o(&p.accounting_account)),
    ];
    let page = PayerPage {
        chrome: ctx.chrome(&p.name).await,
        can_write: can_write(ctx, p.establishment_id),
        id: p.id,
        name: p.name,
        facts,
        rates,
        categories: CATEGORIES.to_vec(),
        version: p.version,
        rate_form,
        rate_errors: errors.0.iter().map(|e| (e.field.clone(), rate_label(&e.field), e.message.clone())).collect(),
        rate_notice,
    };
    let status = if page.rate_notice.is_some() {
        StatusCode::CONFLICT
    } else if page.rate_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(status, page.render()))
}

pub async fn view(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let p = payers::get(&ctx.state.db, ctx.actor(), id).await?;
    payer_page(&ctx, p, RateForm::default(), &FieldErrors::new(), None).await
}

pub async fn edit_page(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let p = payers::get(&ctx.state.db, ctx.actor(), id).await?;
    if !can_write(&ctx, p.establishment_id) {
        return Err(PageError(ctx.actor().deny(&ctx.state.db, Permission::Bill, Scope::Establishment(p.establishment_id), "payer", "update").await));
    }
    let heading = format!("Modifier {}", p.name);
    Ok(edit_form(&ctx, &heading, format!("/organismes/{id}/modifier"), format!("/organismes/{id}"), &payers::as_input(&p), Some(p.version), &FieldErrors::new(), None).await)
}

#[derive(Deserialize)]
pub struct PayerForm {
    #[serde(flatten)]
    input: PayerInput,
    #[serde(default)]
    version: String,
}

pub async fn update(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<PayerForm>) -> PageResult {
    let (i, version) = (f.input, f.version.trim().parse().unwrap_or(0));
    let (action, cancel) = (format!("/organismes/{id}/modifier"), format!("/organismes/{id}"));
    let updated = match payers::parse_payer(&i) {
        Ok(p) => payers::update(&ctx.state.db, ctx.actor(), id, version, &p).await,
        Err(errs) => Err(Error::Invalid(errs)),
    };
    match updated {
        Ok(_) => Ok(see_other(&format!("/organismes/{id}"), "modifie")),
        Err(Error::Invalid(errs)) => Ok(edit_form(&ctx, "Modifier l'organisme", action, cancel, &i, Some(version), &errs, None).await),
        Err(Error::Conflict(_)) => {
            let now = payers::get(&ctx.state.db, ctx.actor(), id).await?;
            let notice = crate::care::pages::stale_notice("Cet organisme");
            Ok(edit_form(&ctx, "Modifier l'organisme", action, cancel, &i, Some(now.version), &FieldErrors::new(), Some(notice)).await)
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize, Default)]
pub struct RateForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    rate: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    version: String,
}

pub async fn add_rate(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<RateForm>) -> PageResult {
    let version = f.version.trim().parse().unwrap_or(0);
    let raw = RateInput { category: f.category.clone(), rate: f.rate.clone(), valid_from: f.valid_from.clone() };
    let added = match payers::parse_rate(&raw) {
        Ok(r) => payers::add_rate(&ctx.state.db, ctx.actor(), id, version, &r).await,
        Err(errs) => Err(Error::Invalid(errs)),
    };
    match added {
        Ok(_) => Ok(see_other(&format!("/organismes/{id}"), "modifie")),
        Err(Error::Invalid(errs)) => {
            let p = payers::get(&ctx.state.db, ctx.actor(), id).await?;
            payer_page(&ctx, p, f, &errs, None).await
        }
        Err(Error::Conflict(_)) => {
            let p = payers::get(&ctx.state.db, ctx.actor(), id).await?;
            let notice = "Cet organisme a été modifié par quelqu'un d'autre depuis l'ouverture de la page (nouveau taux ou fiche modifiée) : \
                le taux n'a pas été ajouté. Votre saisie est conservée ; vérifiez les taux ci-dessus puis ajoutez-le à nouveau.";
            payer_page(&ctx, p, f, &FieldErrors::new(), Some(notice.into())).await
        }
        Err(e) => Err(PageError(e)),
    }
}
