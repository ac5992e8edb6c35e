//! Stays and coverage rights, from the patient page.

use crate::extract::PagePath as Path;
use axum::http::StatusCode;
use axum::response::Response;
use quittance_domain::care::coverage::{BENEFICIARY, EXEMPTIONS, ROLES};
use quittance_domain::care::stay::{CARE_MODES, DischargeMode};
use quittance_domain::validation::FieldErrors;
use quittance_store::Error;
use quittance_store::care::coverages::{self, CoverageInput};
use quittance_store::care::stays::{self, StayInput};
use quittance_store::{establishments as est, patients, care::payers};
use serde::Deserialize;

use crate::session::{Ctx, CsrfForm};
use crate::render::{Field, FormPage, Opt, PageError, PageResult, see_other, with_errors};

async fn site_opts(ctx: &Ctx, establishment_id: i64, selected: &str) -> Vec<Opt> {
    let a = ctx.actor();
    let allowed = a.grants.sites_for(quittance_domain::access::Permission::WritePatients, establishment_id);
    est::list_sites(&ctx.state.db, a, establishment_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|s| a.system || allowed.as_ref().is_none_or(|l| l.contains(&s.id)))
        .map(|s| Opt { selected: selected == s.id.to_string(), value: s.id.to_string(), label: s.name })
        .collect()
}

fn status(errors: &FieldErrors, stale: &Option<String>) -> StatusCode {
    if stale.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The message at the top of a form re-shown after a stale write: what was typed is kept, the
/// hidden version is now the current one, so saving again replaces the other agent's change
/// knowingly (cancel shows the current record).
pub(crate) fn stale_notice(what: &str) -> String {
    format!(
        "{what} a été modifié par quelqu'un d'autre pendant que vous le modifiiez : votre saisie n'a pas été enregistrée. \
         Elle est conservée ci-dessous ; vérifiez-la puis enregistrez à nouveau pour remplacer l'autre modification, ou annulez pour voir la version actuelle."
    )
}

// ---------------------------------------------------------------- stays

async fn stay_form(ctx: &Ctx, patient_id: i64, stay: Option<(i64, i64)>, i: &StayInput, errors: &FieldErrors, stale: Option<String>) -> Result<Response, Error> {
    let p = patients::check_read(&ctx.state.db, ctx.actor(), patient_id).await?;
    let discharge_modes: Vec<(&str, &str)> = std::iter::once(("", "— non sorti —")).chain(DischargeMode::ALL.iter().map(|m| (m.code(), m.label()))).collect();
    let mut fields = vec![
        Field::text("site_id", "Service / site", &i.site_id).required().select_opts(site_opts(ctx, p.establishment_id, &i.site_id).await),
        Field::text("care_mode", "Mode de prise en charge", &i.care_mode).required().select(CARE_MODES),
        Field::text("admission_date", "Date d'admission", &i.admission_date).required().hint("JJ/MM/AAAA"),
        Field::text("admission_time", "Heure d'admission", &i.admission_time).hint("HH:MM"),
        Field::text("planned_discharge_date", "Sortie prévue le", &i.planned_discharge_date).hint("JJ/MM/AAAA"),
        Field::text("discharge_date", "Date de sortie", &i.discharge_date).section("Sortie").hint("Vide tant que le patient est présent."),
        Field::text("discharge_time", "Heure de sortie", &i.discharge_time).hint("HH:MM"),
        Field::text("discharge_mode", "Mode de sortie", &i.discharge_mode).select(&discharge_modes),
    ];
    let (heading, action) = match stay {
        Some((sid, version)) => {
            fields.insert(0, Field::hidden("version", &version.to_string()));
            ("Modifier le séjour".to_string(), format!("/patients/{patient_id}/sejours/{sid}/modifier"))
        }
        None => ("Nouveau séjour".to_string(), format!("/patients/{patient_id}/sejours/nouveau")),
    };
    Ok(FormPage {
        chrome: ctx.chrome(&heading).await,
        heading: format!("{heading} — {} {}", p.birth_name, p.first_name),
        intro: stale.clone(),
        action,
        fields: with_errors(fields, errors),
        submit: "Enregistrer le séjour".into(),
        cancel: Some(format!("/patients/{patient_id}")),
        error_count: errors.0.len(),
    }
    .response(status(errors, &stale)))
}

pub async fn stay_new(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let today = quittance_domain::fr::format_date_fr(coverages::today_of_patient(&ctx.state.db, ctx.actor(), id).await?);
    let i = StayInput { admission_date: today, care_mode: "hospitalisation_complete".into(), site_id: ctx.actor().site_id.map(|s| s.to_string()).unwrap_or_default(), ..Default::default() };
    Ok(stay_form(&ctx, id, None, &i, &FieldErrors::new(), None).await?)
}

#[derive(Deserialize)]
pub struct StayForm {
    #[serde(flatten)]
    input: StayInput,
    #[serde(default)]
    version: String,
}

pub async fn stay_create(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<StayForm>) -> PageResult {
    let saved = match stays::parse(&ctx.state.db, ctx.actor(), id, &f.input).await {
        Ok(s) => stays::save(&ctx.state.db, ctx.actor(), id, None, 0, &s).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/patients/{id}"), "cree")),
        Err(Error::Invalid(e)) => Ok(stay_form(&ctx, id, None, &f.input, &e, None).await?),
        Err(e) => Err(PageError(e)),
    }
}

pub async fn stay_edit(ctx: Ctx, Path((id, sid)): Path<(i64, i64)>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let s = stays::get(&ctx.state.db, ctx.actor(), sid).await?;
    if s.patient_id != id {
        return Err(PageError(Error::NotFound("Séjour")));
    }
    Ok(stay_form(&ctx, id, Some((sid, s.version)), &stays::as_input(&s), &FieldErrors::new(), None).await?)
}

pub async fn stay_update(Path((id, sid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<StayForm>) -> PageResult {
    let version = f.version.trim().parse().unwrap_or(0);
    let saved = match stays::parse(&ctx.state.db, ctx.actor(), id, &f.input).await {
        Ok(s) => stays::save_noting(&ctx.state.db, ctx.actor(), id, Some(sid), version, &s).await,
        Err(e) => Err(e),
    };
    match saved {
        // The discharge closed (or could not close) TV and telephone subscriptions: say so.
        Ok((_, notes)) if notes.iter().any(|n| n.contains("laissé ouvert")) => Ok(see_other(&format!("/patients/{id}"), "sortie_abonnement_ouvert")),
        Ok((_, notes)) if !notes.is_empty() => Ok(see_other(&format!("/patients/{id}"), "sortie_abonnements_clos")),
        Ok(_) => Ok(see_other(&format!("/patients/{id}"), "modifie")),
        Err(Error::Invalid(e)) => Ok(stay_form(&ctx, id, Some((sid, version)), &f.input, &e, None).await?),
        Err(Error::Conflict(_)) => {
            let now = stays::get(&ctx.state.db, ctx.actor(), sid).await?;
            Ok(stay_form(&ctx, id, Some((sid, now.version)), &f.input, &FieldErrors::new(), Some(stale_notice("Ce séjour"))).await?)
        }
        Err(e) => Err(PageError(e)),
    }
}

// ---------------------------------------------------------------- valuation

struct ShareRow {
    name: String,
    amount: String,
    explanation: String,
}

struct ChargeRow {
    code: String,
    label: String,
    explanation: String,
    period: String,
    quantity: String,
    unit_price: String,
    amount: String,
    shares: Vec<ShareRow>,
}

/// The name a share is billed to: the payer, else the designated debtor or the patient.
fn party_name(p: &quittance_domain::billing::split::Party, debtor: &Option<(i64, String)>, patient: &str) -> String {
    match p {
        quittance_domain::billing::split::Party::Payer { name, role, .. } => format!("{name} ({})", role.label().to_lowercase()),
        quittance_domain::billing::split::Party::Patient => match debtor {
            Some((_, d)) => format!("{d} (débiteur désigné)"),
            None => format!("{patient} (patient)"),
        },
    }
}

#[derive(askama::Template)]
#[template(path = "care/valuation.html")]
struct ValuationPage {
    chrome: crate::render::Chrome,
    patient_id: i64,
    patient_name: String,
    admission: String,
    discharge: String,
    open: bool,
    until: String,
    stay_id: i64,
    charges: Vec<ChargeRow>,
    totals: Vec<ShareRow>,
    total: String,
    notes: Vec<String>,
    error: Option<String>,
    /// Billing readiness: `None` when not read (the valuation failed).
    ready: Option<bool>,
    /// (message, link to fix it).
    not_ready: Vec<(String, String)>,
}

/// What the stay would bill today: each charge with its days, price and explanation (a
/// view of the file, audited); a missing tariff or parameter is said on the page.
pub async fn stay_valuation(ctx: Ctx, Path((id, sid)): Path<(i64, i64)>) -> PageResult {
    let db = &ctx.state.db;
    let fr_local = |t: &str| {
        let (d, h) = t.split_once('T').unwrap_or((t, ""));
        let day = d.parse::<jiff::civil::Date>().map(quittance_domain::fr::format_date_fr).unwrap_or_default();
        if h.is_empty() { day } else { format!("{day} à {h}") }
    };
    let mut ready = None;
    let mut not_ready = Vec::new();
    let (s, p, charges, totals, total, notes, until, error) = match quittance_store::billing::valuation::stay(db, ctx.actor(), sid, None).await {
        Ok(v) => {
            ready = Some(v.ready);
            not_ready = v
                .not_ready_because
                .iter()
                .map(|(m, w)| (m.clone(), crate::patients::pages::fix_link(id, w)))
                .collect();
            let who = format!("{} {}", v.patient.used_name.clone().unwrap_or_else(|| v.patient.birth_name.clone()), v.patient.first_name);
            let shares = |list: &[quittance_domain::billing::split::Share]| {
                list.iter().map(|x| ShareRow { name: party_name(&x.party, &v.debtor, &who), amount: x.amount.format_fr(), explanation: x.explanation.clone() }).collect::<Vec<_>>()
            };
            let mut rows: Vec<ChargeRow> = v
                .split
                .lines
                .iter()
                .map(|l| {
                    let c = &l.charge;
                    ChargeRow {
                        code: c.code.clone(),
                        label: c.label.clone(),
                        explanation: c.explanation.clone(),
                        period: quittance_domain::billing::days::run_text(&c.days),
                        quantity: c.quantity.to_string(),
                        unit_price: c.unit_price.format_fr(),
                        amount: c.amount.format_fr(),
                        shares: shares(&l.shares),
                    }
                })
                .collect();
            rows.extend(v.split.adjustments.iter().map(|a| ChargeRow {
                code: String::new(),
                label: a.label.into(),
                explanation: a.explanation.clone(),
                period: String::new(),
                quantity: String::new(),
                unit_price: String::new(),
                amount: a.amount.format_fr(),
                shares: shares(&a.shares),
            }));
            let totals = v.split.totals().iter().map(|(party, m)| ShareRow { name: party_name(party, &v.debtor, &who), amount: m.format_fr(), explanation: String::new() }).collect();
            let total = v.split.total().format_fr();
            (v.stay, v.patient, rows, totals, total, v.notes, quittance_domain::fr::format_date_fr(v.until), None)
        }
        // Not valued (a tariff or parameter missing): the page says why, about the stay as read.
        Err(Error::Invalid(e)) => {
            let s = stays::get(db, ctx.actor(), sid).await?;
            let p = patients::check_read(db, ctx.actor(), s.patient_id).await?;
            (s, p, Vec::new(), Vec::new(), String::new(), Vec::new(), String::new(), e.0.first().map(|x| x.message.clone()))
        }
        Err(e) => return Err(PageError(e)),
    };
    if s.patient_id != id {
        return Err(PageError(Error::NotFound("Séjour")));
    }
    let name = format!("{} {}", p.used_name.clone().unwrap_or_else(|| p.birth_name.clone()), p.used_first_name.clone().unwrap_or_else(|| p.first_name.clone()));
    let page = ValuationPage {
        chrome: ctx.chrome(&format!("Valorisation — {name}")).await,
        patient_id: id,
        patient_name: name,
        admission: fr_local(&s.admission_at),
        discharge: s.discharge_at.as_deref().map(fr_local).unwrap_or_default(),
        open: s.discharge_at.is_none(),
        until,
        stay_id: sid,
        charges,
        totals,
        total,
        notes,
        error,
        ready,
        not_ready,
    };
    Ok(crate::render::html(StatusCode::OK, askama::Template::render(&page)))
}

// ---------------------------------------------------------------- coverages

async fn coverage_form(ctx: &Ctx, patient_id: i64, cid: Option<(i64, i64)>, i: &CoverageInput, errors: &FieldErrors, stale: Option<String>) -> Result<Response, Error> {
    let p = patients::check_read(&ctx.state.db, ctx.actor(), patient_id).await?;
    let payer_opts: Vec<Opt> = std::iter::once(Opt { value: String::new(), label: "— choisir —".into(), selected: i.payer_id.is_empty() })
        .chain(payers::list(&ctx.state.db, ctx.actor(), p.establishment_id).await?.into_iter().filter(|x| x.active).map(|x| Opt {
            selected: i.payer_id == x.id.to_string(),
            value: x.id.to_string(),
            label: x.name,
        }))
        .collect();
    let mut fields = vec![
        Field::text("payer_id", "Organisme", &i.payer_id).required().select_opts(payer_opts),
        Field::text("role", "Rang", &i.role).required().select(ROLES),
        Field::text("member_number", "N° d'adhérent / d'immatriculation", &i.member_number),
        Field::text("beneficiary", "Qualité", &i.beneficiary).select(BENEFICIARY),
        Field::text("insured_name", "Assuré ouvrant droit (pour un ayant droit)", &i.insured_name),
        Field::text("insured_patient_id", "N° de dossier de l'assuré (s'il est connu)", &i.insured_patient_id),
        Field::text("valid_from", "Droits ouverts du", &i.valid_from).required().section("Période et taux").hint("JJ/MM/AAAA"),
        Field::text("valid_to", "au", &i.valid_to).hint("JJ/MM/AAAA ; vide = sans fin connue"),
        Field::text("rate_sejour", "Taux séjour", &i.rate_sejour).hint("Vide : taux de l'organisme en vigueur au début des droits."),
        Field::text("rate_actes", "Taux actes", &i.rate_actes),
        Field::text("rate_fj", "Taux forfait journalier", &i.rate_fj),
        Field::text("rate_cp", "Taux chambre particulière", &i.rate_cp),
        Field::text("rate_annexes", "Taux prestations annexes", &i.rate_annexes),
        Field::text("exemptions", "Exonérations", &i.exemptions).checkboxes(EXEMPTIONS),
        Field::text("priority", "Priorité", &i.priority).hint("1 = premier organisme sollicité ; vide = après les autres."),
    ];
    let action = match cid {
        Some((c, version)) => {
            fields.insert(0, Field::hidden("version", &version.to_string()));
            format!("/patients/{patient_id}/droits/{c}/modifier")
        }
        None => format!("/patients/{patient_id}/droits/nouveau"),
    };
    Ok(FormPage {
        chrome: ctx.chrome("Droits").await,
        heading: format!("{} — {} {}", if cid.is_some() { "Modifier un droit" } else { "Ajouter un droit" }, p.birth_name, p.first_name),
        intro: stale.clone(),
        action,
        fields: with_errors(fields, errors),
        submit: "Enregistrer le droit".into(),
        cancel: Some(format!("/patients/{patient_id}")),
        error_count: errors.0.len(),
    }
    .response(status(errors, &stale)))
}

pub async fn coverage_new(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let i = CoverageInput { role: "obligatoire".into(), beneficiary: "assure".into(), ..Default::default() };
    Ok(coverage_form(&ctx, id, None, &i, &FieldErrors::new(), None).await?)
}

#[derive(Deserialize)]
pub struct CoverageForm {
    #[serde(flatten)]
    input: CoverageInput,
    #[serde(default)]
    version: String,
}

pub async fn coverage_create(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<CoverageForm>) -> PageResult {
    let i = f.input;
    let saved = match coverages::parse(&ctx.state.db, id, &i).await {
        Ok(c) => coverages::save(&ctx.state.db, ctx.actor(), id, None, 0, &c).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/patients/{id}"), "cree")),
        Err(Error::Invalid(e)) => Ok(coverage_form(&ctx, id, None, &i, &e, None).await?),
        Err(e) => Err(PageError(e)),
    }
}

pub async fn coverage_edit(ctx: Ctx, Path((id, cid)): Path<(i64, i64)>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let c = coverages::get(&ctx.state.db, ctx.actor(), id, cid).await?;
    Ok(coverage_form(&ctx, id, Some((cid, c.version)), &coverages::as_input(&c), &FieldErrors::new(), None).await?)
}

pub async fn coverage_update(Path((id, cid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<CoverageForm>) -> PageResult {
    let (i, version) = (f.input, f.version.trim().parse().unwrap_or(0));
    let saved = match coverages::parse(&ctx.state.db, id, &i).await {
        Ok(c) => coverages::save(&ctx.state.db, ctx.actor(), id, Some(cid), version, &c).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/patients/{id}"), "modifie")),
        Err(Error::Invalid(e)) => Ok(coverage_form(&ctx, id, Some((cid, version)), &i, &e, None).await?),
        Err(Error::Conflict(_)) => {
            let now = coverages::get(&ctx.state.db, ctx.actor(), id, cid).await?;
            Ok(coverage_form(&ctx, id, Some((cid, now.version)), &i, &FieldErrors::new(), Some(stale_notice("Ce droit"))).await?)
        }
        Err(e) => Err(PageError(e)),
    }
}
