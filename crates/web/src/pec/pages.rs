//! Prises en charge: request form, request page with send / answer / expire, and the PDF letter.

use askama::Template;
use crate::extract::PagePath as Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use quittance_domain::care::coverage::{Beneficiary, PayerKind};
use quittance_domain::fr::format_date_fr;
use quittance_domain::money::Money;
use quittance_domain::pec::{ITEMS, Item};
use quittance_domain::validation::FieldErrors;
use quittance_store::Error;
use quittance_store::pec::{self, AnswerInput, Pec, PecInput};
use quittance_store::{establishments as est, patients, care::payers, care::stays};
use serde::Deserialize;

use crate::session::{Ctx, CsrfForm};
use crate::render::{Chrome, Field, FormPage, Opt, PageError, PageResult, html, see_other, with_errors};

fn money(m: Money) -> String {
    m.format_fr()
}

fn day(d: &Option<String>) -> String {
    crate::render::day_fr(d.as_deref())
}

fn items_fr(list: &[Item]) -> String {
    list.iter().map(|x| x.label()).collect::<Vec<_>>().join(", ")
}

async fn new_form(ctx: &Ctx, patient_id: i64, i: &PecInput, errors: &FieldErrors) -> Result<Response, Error> {
    let p = patients::check_read(&ctx.state.db, ctx.actor(), patient_id).await?;
    let payer_opts: Vec<Opt> = std::iter::once(Opt { value: String::new(), label: "— choisir —".into(), selected: i.payer_id.is_empty() })
        .chain(
            payers::list(&ctx.state.db, ctx.actor(), p.establishment_id)
                .await?
                .into_iter()
                .filter(|x| x.active && !matches!(x.kind, PayerKind::Obligatoire | PayerKind::Public))
                .map(|x| Opt { selected: i.payer_id == x.id.to_string(), value: x.id.to_string(), label: x.name }),
        )
        .collect();
    let stay_opts: Vec<Opt> = std::iter::once(Opt { value: String::new(), label: "— séjour prévu (date ci-dessous) —".into(), selected: i.stay_id.is_empty() })
        .chain(stays::list(&ctx.state.db, ctx.actor(), patient_id).await?.into_iter().map(|s| Opt {
            selected: i.stay_id == s.id.to_string(),
            value: s.id.to_string(),
            label: format!("Séjour du {}", day(&Some(s.admission_at.clone()))),
        }))
        .collect();
    let fields = vec![
        Field::text("payer_id", "Organisme complémentaire", &i.payer_id).required().select_opts(payer_opts),
        Field::text("stay_id", "Séjour", &i.stay_id).select_opts(stay_opts),
        Field::text("planned_admission_date", "Admission prévue le", &i.planned_admission_date).hint("JJ/MM/AAAA, pour un séjour programmé."),
        Field::text("requested_items", "Éléments demandés", &i.requested_items).required().checkboxes(ITEMS),
        Field::text("requested_days", "Nombre de jours", &i.requested_days).required(),
        Field::text("estimate", "Estimation", &i.estimate).hint("Montant total estimé, ex. 880,00"),
    ];
    Ok(FormPage {
        chrome: ctx.chrome("Demande de prise en charge").await,
        heading: format!("Demande de prise en charge — {} {}", p.birth_name, p.first_name),
        intro: Some("La demande est créée en brouillon ; marquez-la comme envoyée une fois transmise à l'organisme.".into()),
        action: format!("/patients/{patient_id}/pec/nouvelle"),
        fields: with_errors(fields, errors),
        submit: "Créer la demande".into(),
        cancel: Some(format!("/patients/{patient_id}")),
        error_count: errors.0.len(),
    }
    .response(if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }))
}

pub async fn new_page(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let last_stay = stays::list(&ctx.state.db, ctx.actor(), id).await?.first().map(|s| s.id.to_string()).unwrap_or_default();
    let i = PecInput { stay_id: last_stay, requested_items: "forfait_journalier,chambre_particuliere".into(), ..Default::default() };
    Ok(new_form(&ctx, id, &i, &FieldErrors::new()).await?)
}

pub async fn create(Path(id): Path<i64>, CsrfForm(ctx, i): CsrfForm<PecInput>) -> PageResult {
    let created = match pec::parse_new(&ctx.state.db, id, &i).await {
        Ok(new) => pec::create(&ctx.state.db, ctx.actor(), id, &new).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(p) => Ok(see_other(&format!("/patients/{id}/pec/{}", p.id), "cree")),
        Err(Error::Invalid(e)) => Ok(new_form(&ctx, id, &i, &e).await?),
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template)]
#[template(path = "pec/pec.html")]
struct PecPage {
    chrome: Chrome,
    p: Pec,
    status: String,
    agreement: bool,
    facts: Vec<(String, String)>,
    can_write: bool,
    /// Shown at the top: a stale submit (someone changed the request meanwhile).
    conflict: Option<String>,
    answer_fields: Vec<Field>,
    error_count: usize,
    documents: Vec<crate::documents::pages::DocRow>,
}

/// What a submit brings back to the page: the answer as typed (`None`: a fresh page) and
/// its errors, or the message of a stale submit.
#[derive(Default)]
struct Submitted<'a> {
    answer: Option<&'a AnswerInput>,
    errors: FieldErrors,
    conflict: Option<String>,
}

async fn pec_page(ctx: &Ctx, patient_id: i64, id: i64, sub: Submitted<'_>) -> PageResult {
    let p = pec::get(&ctx.state.db, ctx.actor(), id).await?;
    if p.patient_id != patient_id {
        return Err(PageError(Error::NotFound("Prise en charge")));
    }
    let payer = payers::get(&ctx.state.db, ctx.actor(), p.payer_id).await?;
    let status = p.status;
    // Access for what the page shows, decided once and purely (no probe, nothing audited).
    let (_, file_sites) = patients::read_access(&ctx.state.db, ctx.actor(), patient_id).await?;
    let can_write = pec::may_change(ctx.actor(), p.establishment_id, &file_sites);
    // A fresh form proposes the requested items; a submitted one shows exactly what was sent.
    let fresh = AnswerInput { agreed_items: quittance_store::shared::rows::codes_text(&p.requested_items), ..Default::default() };
    let answer = sub.answer.unwrap_or(&fresh);
    let errors = &sub.errors;
    let mut facts = vec![
        ("Organisme".to_string(), payer.name.clone()),
        ("Éléments demandés".into(), items_fr(&p.requested_items)),
        ("Jours demandés".into(), p.requested_days.to_string()),
        ("Estimation".into(), money(p.estimate)),
        ("Admission prévue".into(), day(&p.planned_admission_date)),
        ("Envoyée le".into(), day(&p.sent_at)),
        ("Réponse le".into(), day(&p.answered_at)),
    ];
    if p.answered_at.is_some() {
        facts.extend([
            ("N° d'accord".to_string(), p.agreement_number.clone().unwrap_or_else(|| "—".into())),
            ("Éléments accordés".into(), p.agreed_items.as_deref().map(items_fr).unwrap_or_else(|| "—".into())),
            ("Plafond par jour".into(), p.cap_per_day.map(money).unwrap_or_else(|| "—".into())),
            ("Jours accordés au plus".into(), p.max_days.map(|d| d.to_string()).unwrap_or_else(|| "—".into())),
            ("Valable".into(), format!("du {} au {}", day(&p.valid_from), day(&p.valid_to))),
            ("Remarque".into(), p.answer_note.clone().unwrap_or_else(|| "—".into())),
        ]);
    }
    let answer_fields = with_errors(
        vec![
            Field::text("status", "Réponse", &answer.status).select(&[("acceptee", "Acceptée"), ("partielle", "Acceptée partiellement"), ("refusee", "Refusée")]),
            Field::text("agreement_number", "N° d'accord", &answer.agreement_number),
            Field::text("agreed_items", "Éléments accordés", &answer.agreed_items).checkboxes(ITEMS),
            Field::text("cap_per_day", "Plafond par jour", &answer.cap_per_day).hint("Vide : pas de plafond."),
            Field::text("max_days", "Nombre de jours au plus", &answer.max_days),
            Field::text("valid_from", "Accord valable du", &answer.valid_from).hint("JJ/MM/AAAA"),
            Field::text("valid_to", "au", &answer.valid_to).hint("JJ/MM/AAAA"),
            Field::text("note", "Remarque", &answer.note),
        ],
        errors,
    );
    let documents = crate::documents::pages::rows(ctx, patient_id).await?.into_iter().filter(|d| d.target_key == format!("pec:{}", p.id)).collect();
    let page = PecPage {
        documents,
        chrome: ctx.chrome(&p.number).await,
        status: status.label().to_string(),
        agreement: status.is_agreement(),
        facts,
        can_write,
        conflict: sub.conflict.clone(),
        answer_fields,
        error_count: errors.0.len(),
        p,
    };
    let code = if sub.conflict.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(code, page.render()))
}

pub async fn view(ctx: Ctx, Path((id, pid)): Path<(i64, i64)>) -> PageResult {
    pec_page(&ctx, id, pid, Submitted::default()).await
}

/// A stale or refused transition re-shows the page with its message instead of a dead end.
async fn reshow(ctx: &Ctx, id: i64, pid: i64, answer: Option<&AnswerInput>, e: Error) -> PageResult {
    match e {
        Error::Conflict(m) => pec_page(ctx, id, pid, Submitted { answer, conflict: Some(m), ..Default::default() }).await,
        // A transition refused while no form is shown (send, expire): its message at the top.
        Error::Invalid(errors) if answer.is_none() => {
            let m = errors.0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ");
            pec_page(ctx, id, pid, Submitted { conflict: Some(m), ..Default::default() }).await
        }
        Error::Invalid(errors) => pec_page(ctx, id, pid, Submitted { answer, errors, ..Default::default() }).await,
        e => Err(PageError(e)),
    }
}

#[derive(Deserialize)]
pub struct VersionForm {
    #[serde(default)]
    version: String,
}

pub async fn send(Path((id, pid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<VersionForm>) -> PageResult {
    let sent = match pec::send(&ctx.state.db, ctx.actor(), pid, f.version.parse().unwrap_or(0)).await {
        Ok(p) => p,
        Err(e) => return reshow(&ctx, id, pid, None, e).await,
    };
    file_sent_letter(&ctx.state.db, ctx.actor(), &ctx.state.config.documents, &sent).await;
    Ok(see_other(&format!("/patients/{id}/pec/{pid}"), "modifie"))
}

/// Files the letter as sent (class `demande_pec` of the plan, when the establishment
/// has it): what left the office is kept, unchanged, with its checksum. The request is
/// sent whatever happens here; a failure is logged (without patient data) and the
/// letter can still be printed and filed by hand.
pub async fn file_sent_letter(db: &quittance_store::Db, actor: &quittance_store::Actor, storage: &quittance_store::documents::Storage, p: &Pec) {
    if let Err(e) = try_file_sent_letter(db, actor, storage, p).await {
        tracing::warn!(pec_id = p.id, error = %e, "lettre de demande non classée");
    }
}

async fn try_file_sent_letter(db: &quittance_store::Db, actor: &quittance_store::Actor, storage: &quittance_store::documents::Storage, p: &Pec) -> Result<(), Error> {
    let Some(class) = quittance_store::documents::classes(db, actor, p.establishment_id).await?.into_iter().find(|c| c.code == "demande_pec" && c.active) else {
        return Ok(());
    };
    let bytes = letter_pdf(db, actor, p.id).await?;
    let e = est::get(db, actor, p.establishment_id).await?;
    let input = quittance_store::documents::UploadInput {
        target: format!("pec:{}", p.id),
        class_id: class.id.to_string(),
        title: format!("Lettre de demande {}", p.number),
        ..Default::default()
    };
    quittance_store::documents::parse_and_upload(db, actor, storage, p.patient_id, &input, &format!("{}.pdf", p.number), &bytes, patients::today_in(&e.timezone)).await?;
    Ok(())
}

pub async fn expire(Path((id, pid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<VersionForm>) -> PageResult {
    if let Err(e) = pec::expire(&ctx.state.db, ctx.actor(), pid, f.version.parse().unwrap_or(0)).await {
        return reshow(&ctx, id, pid, None, e).await;
    }
    Ok(see_other(&format!("/patients/{id}/pec/{pid}"), "modifie"))
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(flatten)]
    answer: AnswerInput,
    #[serde(default)]
    version: String,
}

pub async fn answer(Path((id, pid)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<AnswerForm>) -> PageResult {
    let answered = match pec::parse_answer(&ctx.state.db, pid, &f.answer).await {
        Ok(a) => pec::answer(&ctx.state.db, ctx.actor(), pid, f.version.parse().unwrap_or(0), &a).await,
        Err(e) => Err(e),
    };
    match answered {
        Ok(_) => Ok(see_other(&format!("/patients/{id}/pec/{pid}"), "modifie")),
        Err(e) => reshow(&ctx, id, pid, Some(&f.answer), e).await,
    }
}

/// The request letter as a PDF page.
pub async fn letter(ctx: Ctx, Path((id, pid)): Path<(i64, i64)>) -> PageResult {
    let p = pec::get(&ctx.state.db, ctx.actor(), pid).await?;
    if p.patient_id != id {
        return Err(PageError(Error::NotFound("Prise en charge")));
    }
    let bytes = letter_pdf(&ctx.state.db, ctx.actor(), pid).await?;
    Ok(pdf_response(&p.number, bytes))
}

/// A PDF shown in the browser.
pub fn pdf_response(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}.pdf\"")),
        ],
        bytes,
    )
        .into_response()
}

/// The request letter of a prise en charge, as PDF bytes (pages and API).
pub async fn letter_pdf(db: &quittance_store::Db, actor: &quittance_store::Actor, pid: i64) -> Result<Vec<u8>, Error> {
    let p = pec::get(db, actor, pid).await?;
    let id = p.patient_id;
    let file = patients::get(db, actor, id).await?;
    let patient = file.patient;
    let e = est::get(db, actor, p.establishment_id).await?;
    let payer = payers::get(db, actor, p.payer_id).await?;
    let stay = match p.stay_id {
        Some(s) => Some(stays::get(db, actor, s).await?),
        None => None,
    };
    let today = patients::today_in(&e.timezone);
    let coverage = quittance_store::care::coverages::list(db, actor, id, today)
        .await?
        .lines
        .into_iter()
        .find(|l| l.coverage.payer_id == p.payer_id);
    let letter = quittance_pdf::PecLetter {
        establishment_name: e.name.clone(),
        establishment_address: [e.address_line1.clone(), e.address_line2.clone(), Some(format!("{} {}", e.postcode.clone().unwrap_or_default(), e.city.clone().unwrap_or_default()))]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect(),
        establishment_ids: [e.finess.as_ref().map(|f| format!("FINESS {f}")), e.siret.as_ref().map(|s| format!("SIRET {s}")), e.ridet.as_ref().map(|r| format!("RIDET {r}"))]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        city_and_date: format!("{}, le {}", e.city.clone().unwrap_or_default(), format_date_fr(today)),
        payer_name: payer.name.clone(),
        payer_address: [payer.address_line1.clone(), Some(format!("{} {}", payer.postcode.clone().unwrap_or_default(), payer.city.clone().unwrap_or_default()))]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect(),
        reference: p.number.clone(),
        // Birth name first (identity vigilance), then the used name when there is one.
        patient_name: match patient.used_name.as_deref().filter(|u| *u != patient.birth_name) {
            Some(used) => format!("{} {} (nom d'usage {used})", patient.birth_name, patient.first_name),
            None => format!("{} {}", patient.birth_name, patient.first_name),
        },
        patient_birth_date: quittance_domain::identity::BirthDate::from_storage(&patient.birth_date).map(|b| b.format_fr()).unwrap_or_default(),
        patient_ipp: patient.ipp.clone(),
        member_number: coverage.as_ref().and_then(|c| c.coverage.member_number.clone()).unwrap_or_else(|| "—".into()),
        insured: coverage
            .as_ref()
            .map(|c| if c.coverage.beneficiary == Beneficiary::AyantDroit { format!("Ayant droit de {}", c.coverage.insured_name.clone().unwrap_or_default()) } else { "Le patient lui-même".into() })
            .unwrap_or_else(|| "—".into()),
        stay: match &stay {
            Some(s) => format!(
                "Admission le {}{}",
                day(&Some(s.admission_at.clone())),
                s.planned_discharge_date.as_ref().map(|d| format!(", sortie prévue le {}", day(&Some(d.clone())))).unwrap_or_default()
            ),
            None => format!("Admission prévue le {}", day(&p.planned_admission_date)),
        },
        care_mode: stay
            .as_ref()
            .map(|s| s.care_mode.label().to_string())
            .unwrap_or_else(|| "—".into()),
        lines: p.requested_items.iter().map(|x| quittance_pdf::PecLine { label: x.label().to_string(), amount: String::new() }).collect(),
        estimate: money(p.estimate),
        requested_days: format!("{} jour(s)", p.requested_days),
        contact: format!("{} — {}", e.name, e.email.clone().or(e.phone.clone()).unwrap_or_default()),
    };
    let ymd = (today.year() as i32, today.month() as u8, today.day() as u8);
    tokio::task::spawn_blocking(move || quittance_pdf::pec_request(&letter, ymd))
        .await
        .map_err(|e| Error::Integrity(e.to_string()))?
        .map_err(Error::Integrity)
}
