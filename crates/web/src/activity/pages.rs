//! The patient's activity page (acts, subscriptions, valuation of a period) and its forms, and
//! the offers page of the current establishment. Forms are the shared `FormPage` (CSRF, errors
//! next to their fields and in a summary, what was typed kept).

use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use quittance_domain::access::{Permission, Scope};
use quittance_domain::activity::ServiceKind;
use quittance_domain::billing::days::run_text;
use quittance_domain::billing::tariffs::TariffCategory;
use quittance_domain::fr::{format_date_fr, format_int_fr, parse_date_fr};
use quittance_domain::validation::FieldErrors;
use quittance_store::activity::{self, ActInput, OfferInput, SubscriptionInput, UnitsInput, acts, services};
use quittance_store::{Error, establishments as est, patients};
use serde::Deserialize;

use crate::extract::{PagePath as Path, PageQuery as Query};
use crate::render::{Field, FormPage, Opt, PageError, PageResult, see_other, with_errors};
use crate::session::{Ctx, CsrfForm};

fn status(errors: &FieldErrors, stale: &Option<String>) -> StatusCode {
    if stale.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

fn name_of(p: &patients::Patient) -> String {
    format!("{} {}", p.used_name.clone().unwrap_or_else(|| p.birth_name.clone()), p.used_first_name.clone().unwrap_or_else(|| p.first_name.clone()))
}

/// The sites of the establishment where the actor may record activity.
async fn writable_sites(ctx: &Ctx, establishment_id: i64) -> Vec<est::Site> {
    let a = ctx.actor();
    est::list_sites(&ctx.state.db, a, establishment_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|s| a.allows(Permission::WritePatients, Scope::Site { establishment_id, site_id: s.id }))
        .collect()
}

fn opts(list: &[(String, String)], selected: &str) -> Vec<Opt> {
    list.iter().map(|(v, l)| Opt { value: v.clone(), label: l.clone(), selected: v == selected }).collect()
}

async fn today_of(ctx: &Ctx, patient_id: i64) -> Result<Date, Error> {
    quittance_store::care::coverages::today_of_patient(&ctx.state.db, ctx.actor(), patient_id).await
}

fn money_fr(m: &quittance_domain::money::Money) -> String {
    m.format_fr()
}

// ---------------------------------------------------------------- the activity page

struct ActRow {
    id: i64,
    date: String,
    site: String,
    practitioner: String,
    code: String,
    quantity: String,
    coefficient: String,
    external_id: String,
    cancelled: Option<String>,
}

struct UnitRow {
    date: String,
    units: String,
}

struct SubRow {
    id: i64,
    kind: String,
    site: String,
    line: String,
    debtor: String,
    opened: String,
    closed: String,
    open: bool,
    has_phone: bool,
    units: Vec<UnitRow>,
}

struct ChargeRow {
    code: String,
    label: String,
    explanation: String,
    period: String,
    quantity: String,
    unit_price: String,
    amount: String,
    /// (who, amount, why).
    shares: Vec<(String, String, String)>,
}

#[derive(askama::Template)]
#[template(path = "activity/patient.html")]
struct ActivityPage {
    chrome: crate::render::Chrome,
    patient_id: i64,
    patient_name: String,
    can_write: bool,
    can_subscribe: bool,
    acts: Vec<ActRow>,
    subs: Vec<SubRow>,
    du: String,
    au: String,
    period_error: Option<String>,
    charges: Vec<ChargeRow>,
    /// (who, amount) per party.
    totals: Vec<(String, String)>,
    total: String,
    notes: Vec<String>,
    valuation_error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PeriodQuery {
    du: String,
    au: String,
}

/// The patient's acts and subscriptions, and what they bill over a period (« du », « au »,
/// JJ/MM/AAAA; default: the current month to today). One view row (`view_activity`).
pub async fn activity(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<PeriodQuery>) -> PageResult {
    let db = &ctx.state.db;
    let today = today_of(&ctx, id).await?;
    let first = today.first_of_month();
    let mut period_error = None;
    let mut read = |raw: &str, default: Date, what: &str| match raw.trim() {
        "" => default,
        t => parse_date_fr(t).unwrap_or_else(|m| {
            period_error = Some(format!("{what} : {m}"));
            default
        }),
    };
    let (mut from, mut to) = (read(&q.du, first, "Du"), read(&q.au, today, "Au"));
    if to < from {
        period_error = Some("La fin de la période est avant son début : la période du mois en cours est montrée.".into());
        (from, to) = (first, today);
    }
    let f = activity::file(db, ctx.actor(), id, from, to).await?;
    let p = &f.patient;
    let sites: std::collections::HashMap<i64, String> = est::list_sites(db, ctx.actor(), p.establishment_id).await?.into_iter().map(|s| (s.id, s.name)).collect();
    let site = |sid: i64| sites.get(&sid).cloned().unwrap_or_else(|| format!("site n° {sid}"));
    let acts = f
        .acts
        .iter()
        .map(|a| ActRow {
            id: a.id,
            date: format_date_fr(a.date),
            site: site(a.site_id),
            practitioner: a.practitioner.clone(),
            code: a.code.clone(),
            quantity: format_int_fr(i64::from(a.quantity)),
            coefficient: a.coefficient.map(|c| c.format_fr()).unwrap_or_else(|| "du tarif".into()),
            external_id: a.external_id.clone().unwrap_or_default(),
            cancelled: a.cancel_reason.clone(),
        })
        .collect();
    let subs = f
        .subscriptions
        .iter()
        .map(|s| {
            let x = &s.subscription;
            SubRow {
                id: x.id,
                kind: x.sub.kind.label().into(),
                site: site(x.sub.site_id),
                line: x.line_number.clone(),
                debtor: x.debtor.label_fr(),
                opened: format_date_fr(x.sub.opened_on),
                closed: x.sub.closed_on.map(format_date_fr).unwrap_or_else(|| "en cours".into()),
                open: x.sub.closed_on.is_none(),
                has_phone: x.sub.kind.has_phone(),
                units: s.units.iter().map(|u| UnitRow { date: format_date_fr(u.units.date), units: format_int_fr(i64::from(u.units.units)) }).collect(),
            }
        })
        .collect();
    let who = |party: &quittance_domain::billing::split::Party| match party {
        quittance_domain::billing::split::Party::Payer { name, role, .. } => format!("{name} ({})", role.label().to_lowercase()),
        quittance_domain::billing::split::Party::Patient => match &f.debtor {
            Some((_, d)) => format!("{d} (débiteur désigné)"),
            None => format!("{} (patient)", name_of(p)),
        },
    };
    let (charges, totals, notes, total, valuation_error) = match (&f.valuation, &f.split) {
        (Ok((c, n)), split) => {
            let total = quittance_domain::money::Money::checked_sum(f.currency, c.iter().map(|c| c.amount)).map(|m| money_fr(&m)).unwrap_or_default();
            let rows = c
                .iter()
                .enumerate()
                .map(|(i, c)| ChargeRow {
                    code: c.code.clone(),
                    label: c.label.clone(),
                    explanation: c.explanation.clone(),
                    period: run_text(&c.days),
                    quantity: format_int_fr(c.quantity),
                    unit_price: money_fr(&c.unit_price),
                    amount: money_fr(&c.amount),
                    shares: split
                        .as_ref()
                        .and_then(|s| s.lines.get(i))
                        .map(|l| l.shares.iter().map(|x| (who(&x.party), money_fr(&x.amount), x.explanation.clone())).collect())
                        .unwrap_or_default(),
                })
                .collect();
            let totals = split.as_ref().map(|s| s.totals().iter().map(|(party, m)| (who(party), money_fr(m))).collect()).unwrap_or_default();
            (rows, totals, n.clone(), total, None)
        }
        (Err(m), _) => (Vec::new(), Vec::new(), Vec::new(), String::new(), Some(m.clone())),
    };
    let writable = writable_sites(&ctx, p.establishment_id).await;
    let can_write = ctx.actor().allows(Permission::WritePatients, Scope::Establishment(p.establishment_id)) || !writable.is_empty();
    // « Nouvel abonnement » only where a writable site has an offer.
    let offers = services::list_offers(db, ctx.actor(), p.establishment_id).await.unwrap_or_default();
    let can_subscribe = can_write && writable.iter().any(|s| offers.iter().any(|o| o.site_id == s.id && o.active));
    let name = name_of(p);
    let page = ActivityPage {
        chrome: ctx.chrome(&format!("Activité — {name}")).await,
        patient_id: id,
        patient_name: name,
        can_write,
        can_subscribe,
        acts,
        subs,
        du: format_date_fr(from),
        au: format_date_fr(to),
        period_error,
        charges,
        totals,
        total,
        notes,
        valuation_error,
    };
    Ok(crate::render::html(StatusCode::OK, askama::Template::render(&page)))
}

// ---------------------------------------------------------------- acts

async fn act_form(ctx: &Ctx, patient_id: i64, i: &ActInput, errors: &FieldErrors) -> Result<Response, Error> {
    let p = patients::check_read(&ctx.state.db, ctx.actor(), patient_id).await?;
    let sites: Vec<(String, String)> = writable_sites(ctx, p.establishment_id).await.into_iter().map(|s| (s.id.to_string(), s.name)).collect();
    let filter = quittance_store::billing::tariffs::TariffFilter { category: Some(TariffCategory::ActeCms), ..Default::default() };
    let mut codes: Vec<(String, String)> = vec![(String::new(), "— choisir —".into())];
    for t in quittance_store::billing::tariffs::list(&ctx.state.db, ctx.actor(), p.establishment_id, &filter).await.unwrap_or_default() {
        if !codes.iter().any(|(c, _)| *c == t.line.code) {
            codes.push((t.line.code.clone(), format!("{} — {}", t.line.code, t.line.label)));
        }
    }
    if !i.code.trim().is_empty() && !codes.iter().any(|(c, _)| c.eq_ignore_ascii_case(i.code.trim())) {
        codes.push((i.code.trim().to_string(), i.code.trim().to_string()));
    }
    let fields = vec![
        Field::text("site_id", "Centre (site)", &i.site_id).required().select_opts(opts(&sites, &i.site_id)),
        Field::text("act_date", "Date de l'acte", &i.act_date).required().hint("JJ/MM/AAAA"),
        Field::text("practitioner", "Professionnel", &i.practitioner).required().hint("Nom ou code du professionnel."),
        Field::text("code", "Acte (code de nomenclature)", &i.code.trim().to_uppercase()).required().select_opts(opts(&codes, &i.code.trim().to_uppercase())),
        Field::text("quantity", "Nombre d'actes", &i.quantity).hint("Vide : 1."),
        Field::text("coefficient", "Coefficient", &i.coefficient).hint("Ex. 2 ou 1,5 ; vide : le coefficient du tarif, sinon 1."),
        Field::text("external_id", "Référence externe", &i.external_id).hint("Facultatif : l'identifiant de l'acte dans le logiciel d'origine (une même référence n'est enregistrée qu'une fois)."),
    ];
    Ok(FormPage {
        chrome: ctx.chrome("Nouvel acte").await,
        heading: format!("Nouvel acte — {}", name_of(&p)),
        intro: Some("L'acte est valorisé au tarif en vigueur le jour de l'acte : prix × coefficient × nombre, arrondi au centime (au franc en XPF) le plus proche.".into()),
        action: format!("/patients/{patient_id}/actes/nouveau"),
        fields: with_errors(fields, errors),
        submit: "Enregistrer l'acte".into(),
        cancel: Some(format!("/patients/{patient_id}/activite")),
        error_count: errors.0.len(),
    }
    .response(status(errors, &None)))
}

pub async fn act_new(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let today = format_date_fr(today_of(&ctx, id).await?);
    let i = ActInput { act_date: today, site_id: ctx.actor().site_id.map(|s| s.to_string()).unwrap_or_default(), ..Default::default() };
    Ok(act_form(&ctx, id, &i, &FieldErrors::new()).await?)
}

pub async fn act_create(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<ActInput>) -> PageResult {
    // The right first (a refusal audited), then the input.
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let saved = match activity::parse_act(&f) {
        Ok(a) => acts::record(&ctx.state.db, ctx.actor(), id, &a).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/patients/{id}/activite"), "cree")),
        Err(Error::Invalid(e)) => Ok(act_form(&ctx, id, &f, &e).await?),
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CancelForm {
    version: String,
    reason: String,
}

async fn cancel_form(ctx: &Ctx, patient_id: i64, aid: i64, f: &CancelForm, errors: &FieldErrors, stale: Option<String>) -> Result<Response, Error> {
    let list = acts::list(&ctx.state.db, ctx.actor(), patient_id).await?;
    let a = list.iter().find(|a| a.id == aid).ok_or(Error::NotFound("Acte"))?;
    if let Some(r) = &a.cancel_reason {
        return Err(Error::Conflict(format!("Cet acte est déjà annulé : {r}")));
    }
    // A first showing or a stale write: the version now; else the one the form carried.
    let version = if stale.is_some() || f.version.is_empty() { a.version.to_string() } else { f.version.clone() };
    let fields = vec![Field::hidden("version", &version), Field::text("reason", "Motif de l'annulation", &f.reason).required().hint("L'acte reste dans le dossier, annulé : il n'est plus valorisé.")];
    Ok(FormPage {
        chrome: ctx.chrome("Annuler un acte").await,
        heading: format!("Annuler l'acte {} du {}", a.code, format_date_fr(a.date)),
        intro: stale.clone(),
        action: format!("/patients/{patient_id}/actes/{aid}/annuler"),
        fields: with_errors(fields, errors),
        submit: "Annuler l'acte".into(),
        cancel: Some(format!("/patients/{patient_id}/activite")),
        error_count: errors.0.len(),
    }
    .response(status(errors, &stale)))
}

pub async fn act_cancel_page(ctx: Ctx, Path((id, aid)): Path<(i64, i64)>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    Ok(cancel_form(&ctx, id, aid, &CancelForm::default(), &FieldErrors::new(), None).await?)
}

pub async fn act_cancel(Path((id, aid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<CancelForm>) -> PageResult {
    let version = f.version.trim().parse().unwrap_or(0);
    match acts::cancel(&ctx.state.db, ctx.actor(), id, aid, version, &f.reason).await {
        Ok(_) => Ok(see_other(&format!("/patients/{id}/activite"), "modifie")),
        Err(Error::Invalid(e)) => Ok(cancel_form(&ctx, id, aid, &f, &e, None).await?),
        Err(Error::Conflict(_)) => Ok(cancel_form(&ctx, id, aid, &f, &FieldErrors::new(), Some(crate::care::pages::stale_notice("Cet acte"))).await?),
        Err(e) => Err(PageError(e)),
    }
}

// ---------------------------------------------------------------- subscriptions

async fn subscription_form(ctx: &Ctx, patient_id: i64, i: &SubscriptionInput, errors: &FieldErrors) -> Result<Response, Error> {
    let db = &ctx.state.db;
    let file = patients::get(db, ctx.actor(), patient_id).await?;
    let p = &file.patient;
    let offers = services::list_offers(db, ctx.actor(), p.establishment_id).await.unwrap_or_default();
    let sites: Vec<(String, String)> = writable_sites(ctx, p.establishment_id)
        .await
        .into_iter()
        .filter_map(|s| {
            let o = offers.iter().find(|o| o.site_id == s.id && o.active)?;
            let what = [(!o.tv_code.is_empty()).then_some("télévision"), (!o.phone_unit_code.is_empty()).then_some("téléphone")].into_iter().flatten().collect::<Vec<_>>().join(" et ");
            Some((s.id.to_string(), format!("{} ({what})", s.name)))
        })
        .collect();
    let mut stays: Vec<(String, String)> = vec![(String::new(), "— aucun —".into())];
    for s in quittance_store::care::stays::list(db, ctx.actor(), patient_id).await.unwrap_or_default() {
        let day = crate::render::day_fr(Some(&s.admission_at));
        let out = s.discharge_at.as_deref().map(|d| format!(", sorti le {}", crate::render::day_fr(Some(d)))).unwrap_or_else(|| " (en cours)".into());
        stays.push((s.id.to_string(), format!("Séjour du {day}{out}")));
    }
    let kinds: Vec<(String, String)> = std::iter::once((String::new(), "— choisir —".to_string())).chain(ServiceKind::ALL.iter().map(|k| (k.code().to_string(), k.label().to_string()))).collect();
    let mut debtors: Vec<(String, String)> = vec![("patient".into(), "Le patient".into())];
    for d in file.debtors.iter().filter(|d| d.active) {
        debtors.push((d.id.to_string(), format!("{} ({})", d.name, d.kind.label())));
    }
    debtors.push(("autre".into(), "Une autre personne (nom ci-dessous)".into()));
    let fields = vec![
        Field::text("site_id", "Service (site)", &i.site_id).required().select_opts(opts(&sites, &i.site_id)).hint("Les sites dont l'offre propose la télévision ou le téléphone."),
        Field::text("stay_id", "Séjour", &i.stay_id).select_opts(opts(&stays, &i.stay_id)),
        Field::text("kind", "Prestation", &i.kind).required().select_opts(opts(&kinds, &i.kind)),
        Field::text("line_number", "N° de ligne ou d'appareil", &i.line_number),
        Field::text("debtor", "Qui paie", &i.debtor).select_opts(opts(&debtors, if i.debtor.is_empty() { "patient" } else { &i.debtor })),
        Field::text("debtor_name", "Nom de la personne qui paie", &i.debtor_name).hint("Seulement pour « une autre personne »."),
        Field::text("opened_on", "Ouvert le", &i.opened_on).required().hint("JJ/MM/AAAA — ce jour compte."),
    ];
    Ok(FormPage {
        chrome: ctx.chrome("Nouvel abonnement").await,
        heading: format!("Télévision, téléphone — {}", name_of(p)),
        intro: Some("La télévision compte chaque jour du jour d'ouverture au jour de clôture inclus ; la mise en service du téléphone est facturée une fois, les unités au prix du jour où elles sont passées.".into()),
        action: format!("/patients/{patient_id}/prestations/nouveau"),
        fields: with_errors(fields, errors),
        submit: "Ouvrir l'abonnement".into(),
        cancel: Some(format!("/patients/{patient_id}/activite")),
        error_count: errors.0.len(),
    }
    .response(status(errors, &None)))
}

pub async fn subscription_new(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let today = format_date_fr(today_of(&ctx, id).await?);
    let i = SubscriptionInput { opened_on: today, debtor: "patient".into(), site_id: ctx.actor().site_id.map(|s| s.to_string()).unwrap_or_default(), ..Default::default() };
    Ok(subscription_form(&ctx, id, &i, &FieldErrors::new()).await?)
}

pub async fn subscription_create(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<SubscriptionInput>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let saved = match activity::parse_subscription(&f) {
        Ok(s) => services::open(&ctx.state.db, ctx.actor(), id, &s).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/patients/{id}/activite"), "cree")),
        Err(Error::Invalid(e)) => Ok(subscription_form(&ctx, id, &f, &e).await?),
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CloseForm {
    version: String,
    closed_on: String,
}

async fn find_subscription(ctx: &Ctx, patient_id: i64, sid: i64) -> Result<services::StoredSubscription, Error> {
    services::list(&ctx.state.db, ctx.actor(), patient_id).await?.into_iter().map(|s| s.subscription).find(|s| s.id == sid).ok_or(Error::NotFound("Abonnement"))
}

fn sub_title(s: &services::StoredSubscription) -> String {
    let line = if s.line_number.is_empty() { String::new() } else { format!(", ligne {}", s.line_number) };
    format!("{}{line}, ouvert le {}", s.sub.kind.label(), format_date_fr(s.sub.opened_on))
}

async fn close_form(ctx: &Ctx, patient_id: i64, sid: i64, f: &CloseForm, errors: &FieldErrors, stale: Option<String>) -> Result<Response, Error> {
    let s = find_subscription(ctx, patient_id, sid).await?;
    if let Some(c) = s.sub.closed_on {
        return Err(Error::Conflict(format!("Cet abonnement est déjà clos depuis le {}.", format_date_fr(c))));
    }
    let version = if stale.is_some() || f.version.is_empty() { s.version.to_string() } else { f.version.clone() };
    let fields = vec![Field::hidden("version", &version), Field::text("closed_on", "Dernier jour de service", &f.closed_on).required().hint("JJ/MM/AAAA — ce jour compte.")];
    Ok(FormPage {
        chrome: ctx.chrome("Clore un abonnement").await,
        heading: format!("Clore : {}", sub_title(&s)),
        intro: stale.clone(),
        action: format!("/patients/{patient_id}/prestations/{sid}/clore"),
        fields: with_errors(fields, errors),
        submit: "Clore l'abonnement".into(),
        cancel: Some(format!("/patients/{patient_id}/activite")),
        error_count: errors.0.len(),
    }
    .response(status(errors, &stale)))
}

pub async fn subscription_close_page(ctx: Ctx, Path((id, sid)): Path<(i64, i64)>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let today = format_date_fr(today_of(&ctx, id).await?);
    Ok(close_form(&ctx, id, sid, &CloseForm { version: String::new(), closed_on: today }, &FieldErrors::new(), None).await?)
}

pub async fn subscription_close(Path((id, sid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<CloseForm>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let version = f.version.trim().parse().unwrap_or(0);
    let closed = match activity::parse_closing(&f.closed_on) {
        Ok(d) => services::close(&ctx.state.db, ctx.actor(), id, sid, version, d).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match closed {
        Ok(_) => Ok(see_other(&format!("/patients/{id}/activite"), "modifie")),
        Err(Error::Invalid(e)) => Ok(close_form(&ctx, id, sid, &f, &e, None).await?),
        Err(Error::Conflict(_)) => Ok(close_form(&ctx, id, sid, &f, &FieldErrors::new(), Some(crate::care::pages::stale_notice("Cet abonnement"))).await?),
        Err(e) => Err(PageError(e)),
    }
}

async fn units_form(ctx: &Ctx, patient_id: i64, sid: i64, i: &UnitsInput, errors: &FieldErrors) -> Result<Response, Error> {
    let s = find_subscription(ctx, patient_id, sid).await?;
    let fields = vec![
        Field::text("used_on", "Jour", &i.used_on).required().hint("JJ/MM/AAAA : le jour où les unités ont été passées."),
        Field::text("units", "Unités", &i.units).required().hint("Un nombre entier."),
    ];
    Ok(FormPage {
        chrome: ctx.chrome("Unités téléphoniques").await,
        heading: format!("Unités : {}", sub_title(&s)),
        intro: None,
        action: format!("/patients/{patient_id}/prestations/{sid}/unites"),
        fields: with_errors(fields, errors),
        submit: "Enregistrer les unités".into(),
        cancel: Some(format!("/patients/{patient_id}/activite")),
        error_count: errors.0.len(),
    }
    .response(status(errors, &None)))
}

pub async fn units_page(ctx: Ctx, Path((id, sid)): Path<(i64, i64)>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let today = format_date_fr(today_of(&ctx, id).await?);
    Ok(units_form(&ctx, id, sid, &UnitsInput { used_on: today, ..Default::default() }, &FieldErrors::new()).await?)
}

pub async fn units_create(Path((id, sid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<UnitsInput>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let saved = match activity::parse_units(&f) {
        Ok(u) => services::add_units(&ctx.state.db, ctx.actor(), id, sid, &u).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/patients/{id}/activite"), "cree")),
        Err(Error::Invalid(e)) => Ok(units_form(&ctx, id, sid, &f, &e).await?),
        Err(e) => Err(PageError(e)),
    }
}

// ---------------------------------------------------------------- offers

fn can_manage(ctx: &Ctx, establishment_id: i64) -> bool {
    ctx.actor().allows(Permission::ManageTariffs, Scope::Establishment(establishment_id))
}

async fn refuse(ctx: &Ctx, establishment_id: i64, action: &str) -> PageError {
    PageError(ctx.actor().deny(&ctx.state.db, Permission::ManageTariffs, Scope::Establishment(establishment_id), "service_offer", action).await)
}

struct OfferRow {
    id: i64,
    site: String,
    tv: String,
    activation: String,
    unit: String,
    active: bool,
}

#[derive(askama::Template)]
#[template(path = "activity/offers.html")]
struct OffersPage {
    chrome: crate::render::Chrome,
    establishment: String,
    can_manage: bool,
    offers: Vec<OfferRow>,
}

/// « Code — libellé, prix du jour » of a tariff code, or « — » when not proposed.
fn code_text(lines: &[quittance_domain::billing::tariffs::TariffLine], code: &str, today: Date) -> String {
    if code.is_empty() {
        return "—".into();
    }
    match quittance_domain::billing::tariffs::find(lines, code, None, "", today).or_else(|| lines.iter().find(|l| l.code == code)) {
        Some(l) => format!("{code} — {} ({})", l.label, l.price.format_fr()),
        None => code.to_string(),
    }
}

/// The current establishment's offers, one per site.
pub async fn offers(ctx: Ctx) -> PageResult {
    let e = ctx.establishment().await?;
    let db = &ctx.state.db;
    let list = services::list_offers(db, ctx.actor(), e.id).await?;
    let sites: std::collections::HashMap<i64, String> = est::list_sites(db, ctx.actor(), e.id).await?.into_iter().map(|s| (s.id, s.name)).collect();
    let lines: Vec<_> = quittance_store::billing::tariffs::list(db, ctx.actor(), e.id, &Default::default()).await?.into_iter().map(|t| t.line).collect();
    let today = patients::today_in(&e.timezone);
    let offers = list
        .iter()
        .map(|o| OfferRow {
            id: o.id,
            site: sites.get(&o.site_id).cloned().unwrap_or_default(),
            tv: code_text(&lines, &o.tv_code, today),
            activation: code_text(&lines, &o.phone_activation_code, today),
            unit: code_text(&lines, &o.phone_unit_code, today),
            active: o.active,
        })
        .collect();
    let page = OffersPage { chrome: ctx.chrome("Prestations annexes").await, establishment: e.name.clone(), can_manage: can_manage(&ctx, e.id), offers };
    Ok(crate::render::html(StatusCode::OK, askama::Template::render(&page)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OfferForm {
    #[serde(flatten)]
    input: OfferInput,
    version: String,
}

async fn offer_form(ctx: &Ctx, e: &est::Establishment, edit: Option<(i64, i64)>, i: &OfferInput, errors: &FieldErrors, stale: Option<String>) -> Result<Response, Error> {
    let db = &ctx.state.db;
    let taken: Vec<i64> = services::list_offers(db, ctx.actor(), e.id).await?.into_iter().filter(|o| edit.is_none_or(|(id, _)| id != o.id)).map(|o| o.site_id).collect();
    let sites: Vec<(String, String)> = est::list_sites(db, ctx.actor(), e.id).await?.into_iter().filter(|s| !taken.contains(&s.id)).map(|s| (s.id.to_string(), s.name)).collect();
    let lines: Vec<_> = quittance_store::billing::tariffs::list(db, ctx.actor(), e.id, &Default::default()).await?;
    let codes_of = |c: TariffCategory| {
        let mut v: Vec<(String, String)> = vec![(String::new(), "— non proposé —".into())];
        for t in lines.iter().filter(|t| t.line.category == c) {
            if !v.iter().any(|(x, _)| *x == t.line.code) {
                v.push((t.line.code.clone(), format!("{} — {}", t.line.code, t.line.label)));
            }
        }
        v
    };
    let mut fields = vec![
        Field::text("site_id", "Site", &i.site_id).required().select_opts(opts(&sites, &i.site_id)),
        Field::text("tv_code", "Télévision : tarif du jour", &i.tv_code).select_opts(opts(&codes_of(TariffCategory::Television), &i.tv_code.trim().to_uppercase())),
        Field::text("phone_activation_code", "Téléphone : tarif de mise en service", &i.phone_activation_code)
            .select_opts(opts(&codes_of(TariffCategory::TelephoneActivation), &i.phone_activation_code.trim().to_uppercase())),
        Field::text("phone_unit_code", "Téléphone : tarif de l'unité", &i.phone_unit_code).select_opts(opts(&codes_of(TariffCategory::TelephoneUnite), &i.phone_unit_code.trim().to_uppercase())),
        Field::checkbox("active", "Proposée aux patients", matches!(i.active.as_str(), "on" | "true")),
    ];
    let (heading, action) = match edit {
        Some((id, version)) => {
            fields.insert(0, Field::hidden("version", &version.to_string()));
            ("Modifier l'offre", format!("/prestations-annexes/{id}/modifier"))
        }
        None => ("Nouvelle offre", "/prestations-annexes/nouveau".to_string()),
    };
    Ok(FormPage {
        chrome: ctx.chrome(heading).await,
        heading: heading.into(),
        intro: stale.clone().or(Some("Les prix viennent des tarifs datés (catégories télévision, mise en service et unité de téléphone) : l'offre en choisit les codes.".into())),
        action,
        fields: with_errors(fields, errors),
        submit: "Enregistrer l'offre".into(),
        cancel: Some("/prestations-annexes".into()),
        error_count: errors.0.len(),
    }
    .response(status(errors, &stale)))
}

pub async fn offer_new(ctx: Ctx) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_manage(&ctx, e.id) {
        return Err(refuse(&ctx, e.id, "add").await);
    }
    Ok(offer_form(&ctx, &e, None, &OfferInput { active: "on".into(), ..Default::default() }, &FieldErrors::new(), None).await?)
}

pub async fn offer_create(CsrfForm(ctx, f): CsrfForm<OfferForm>) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_manage(&ctx, e.id) {
        return Err(refuse(&ctx, e.id, "add").await);
    }
    let saved = match activity::parse_offer(&f.input) {
        Ok(o) => services::save_offer(&ctx.state.db, ctx.actor(), e.id, None, &o).await,
        Err(x) => Err(Error::Invalid(x)),
    };
    match saved {
        Ok(_) => Ok(see_other("/prestations-annexes", "cree")),
        Err(Error::Invalid(x)) => Ok(offer_form(&ctx, &e, None, &f.input, &x, None).await?),
        Err(x) => Err(PageError(x)),
    }
}

pub async fn offer_edit(ctx: Ctx, Path(oid): Path<i64>) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_manage(&ctx, e.id) {
        return Err(refuse(&ctx, e.id, "update").await);
    }
    let o = services::get_offer(&ctx.state.db, ctx.actor(), e.id, oid).await?;
    let i = OfferInput {
        site_id: o.site_id.to_string(),
        tv_code: o.tv_code.clone(),
        phone_activation_code: o.phone_activation_code.clone(),
        phone_unit_code: o.phone_unit_code.clone(),
        active: if o.active { "on".into() } else { String::new() },
    };
    Ok(offer_form(&ctx, &e, Some((oid, o.version)), &i, &FieldErrors::new(), None).await?)
}

pub async fn offer_update(Path(oid): Path<i64>, CsrfForm(ctx, f): CsrfForm<OfferForm>) -> PageResult {
    let e = ctx.establishment().await?;
    if !can_manage(&ctx, e.id) {
        return Err(refuse(&ctx, e.id, "update").await);
    }
    let version = f.version.trim().parse().unwrap_or(0);
    let saved = match activity::parse_offer(&f.input) {
        Ok(o) => services::save_offer(&ctx.state.db, ctx.actor(), e.id, Some((oid, version)), &o).await,
        Err(x) => Err(Error::Invalid(x)),
    };
    match saved {
        Ok(_) => Ok(see_other("/prestations-annexes", "modifie")),
        Err(Error::Invalid(x)) => Ok(offer_form(&ctx, &e, Some((oid, version)), &f.input, &x, None).await?),
        Err(Error::Conflict(_)) => {
            let now = services::get_offer(&ctx.state.db, ctx.actor(), e.id, oid).await?;
            Ok(offer_form(&ctx, &e, Some((oid, now.version)), &f.input, &FieldErrors::new(), Some(crate::care::pages::stale_notice("Cette offre"))).await?)
        }
        Err(x) => Err(PageError(x)),
    }
}
