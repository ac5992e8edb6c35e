//! Filed documents: upload form (multipart), opening, withdrawal, the reports of
//! documents past retention and of files missing a required document, and the
//! classification plan of an establishment.

use askama::Template;
use axum::extract::Multipart;
use crate::extract::{PagePath as Path, PageQuery as Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use quittance_domain::documents::{CONFIDENTIALITY, Confidentiality, REQUIRED_FOR, RequiredFor, Target};
use quittance_domain::validation::FieldErrors;
use quittance_store::documents::{self as docs, ClassEdit, ClassInput, DocClass, Document, UploadInput, size_fr};
use quittance_store::{Error, patients, pec, care::stays};
use serde::Deserialize;

use crate::session::{Ctx, CsrfForm, check_csrf};
use crate::render::{Chrome, Field, FormPage, Opt, PageError, PageResult, csv_response, html, see_other, with_errors, xlsx_response};

fn day(d: &str) -> String {
    crate::render::day_fr(Some(d))
}

/// The things of a file a document can be attached to: `(value, label)`.
async fn targets(ctx: &Ctx, patient_id: i64) -> Result<Vec<(String, String)>, Error> {
    let db = &ctx.state.db;
    let today = patients::today_in(&ctx.establishment().await.map(|e| e.timezone).unwrap_or_else(|_| "Europe/Paris".into()));
    let (s, c, p) = (stays::list(db, ctx.actor(), patient_id).await?, quittance_store::care::coverages::list(db, ctx.actor(), patient_id, today).await?, pec::list(db, ctx.actor(), patient_id).await?);
    Ok(target_list(s, c, p))
}

fn target_list(stays: Vec<stays::Stay>, coverages: quittance_store::care::coverages::CoverageSummary, pecs: Vec<pec::Pec>) -> Vec<(String, String)> {
    let mut out = vec![("patient".to_string(), "Dossier du patient".to_string())];
    for s in stays {
        out.push((format!("sejour:{}", s.id), format!("Séjour du {}", day(&s.admission_at))));
    }
    for l in coverages.lines {
        let c = l.coverage;
        out.push((format!("droit:{}", c.id), format!("Droit {} — {} (depuis le {})", c.role.label().to_lowercase(), l.payer_name, day(&c.valid_from))));
    }
    for p in pecs {
        let status = p.status.label().to_lowercase();
        out.push((format!("pec:{}", p.id), format!("Prise en charge {} ({status})", p.number)));
    }
    out
}

/// `(value, label)` of a target, for lists.
fn target_label(all: &[(String, String)], d: &Document) -> String {
    let key = target_key(d);
    all.iter().find(|(v, _)| *v == key).map(|(_, l)| l.clone()).unwrap_or_else(|| d.target_kind.label().to_string())
}

/// The value of a document's target in the lists of [`targets`] (`patient`, `droit:12`…).
fn target_key(d: &Document) -> String {
    if d.target_kind == Target::Patient { Target::Patient.code().to_string() } else { format!("{}:{}", d.target_kind.code(), d.target_id) }
}

#[derive(Deserialize, Default)]
pub struct UploadQuery {
    #[serde(default)]
    cible: String,
    #[serde(default)]
    classe: String,
}

async fn upload_form(ctx: &Ctx, patient_id: i64, i: &UploadInput, errors: &FieldErrors, status: StatusCode) -> PageResult {
    let p = patients::check_read(&ctx.state.db, ctx.actor(), patient_id).await?;
    let classes = docs::classes(&ctx.state.db, ctx.actor(), p.establishment_id).await?;
    let class_opts: Vec<Opt> = std::iter::once(Opt { value: String::new(), label: "— choisir —".into(), selected: i.class_id.is_empty() })
        .chain(classes.iter().filter(|c| c.active).map(|c| Opt {
            selected: i.class_id == c.id.to_string(),
            value: c.id.to_string(),
            label: format!("{} (conservation {} ans)", c.label, c.retention_years),
        }))
        .collect();
    let target_opts: Vec<Opt> =
        targets(ctx, patient_id).await?.into_iter().map(|(v, l)| Opt { selected: i.target == v || (i.target.is_empty() && v == "patient"), value: v, label: l }).collect();
    let conf_opts: Vec<Opt> = std::iter::once(Opt { value: String::new(), label: "Celui de la classe".into(), selected: i.confidentiality.is_empty() })
        .chain(CONFIDENTIALITY.iter().map(|(c, l)| Opt { value: c.to_string(), label: l.to_string(), selected: i.confidentiality == *c }))
        .collect();
    let max_label = ctx.state.config.documents.max_label();
    let fields = with_errors(
        vec![
            Field::text("file", "Fichier", "").file().required().hint(&format!("PDF, JPEG ou PNG, {max_label} au plus. Le type est vérifié d'après le contenu.")),
            Field::text("target", "Rattacher à", &i.target).required().select_opts(target_opts),
            Field::text("class_id", "Classe (plan de classement)", &i.class_id).required().select_opts(class_opts),
            Field::text("confidentiality", "Confidentialité", &i.confidentiality).select_opts(conf_opts),
            Field::text("title", "Intitulé", &i.title).hint("Vide : l'intitulé de la classe."),
            Field::text("document_date", "Date du document", &i.document_date).hint("JJ/MM/AAAA ; vide : aujourd'hui. La conservation court à partir de cette date."),
        ],
        errors,
    );
    Ok(FormPage {
        chrome: ctx.chrome("Classer un document").await,
        heading: format!("Classer un document — {} {}", p.birth_name, p.first_name),
        intro: Some(format!("Le document est conservé avec son empreinte SHA-256 ; il ne peut pas être modifié, seulement retiré avec un motif. Taille maximale : {max_label}.")),
        action: format!("/patients/{patient_id}/documents"),
        error_count: errors.0.len(),
        fields,
        submit: "Classer le document".into(),
        cancel: Some(format!("/patients/{patient_id}")),
    }
    .response(status))
}

pub async fn upload_page(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<UploadQuery>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let mut i = UploadInput { target: q.cible, ..Default::default() };
    if !q.classe.is_empty() {
        let p = patients::check_read(&ctx.state.db, ctx.actor(), id).await?;
        i.class_id = docs::classes(&ctx.state.db, ctx.actor(), p.establishment_id)
            .await?
            .into_iter()
            .find(|c| c.code == q.classe)
            .map(|c| c.id.to_string())
            .unwrap_or_default();
    }
    upload_form(&ctx, id, &i, &FieldErrors::new(), StatusCode::OK).await
}

/// What a multipart upload carried.
pub struct Upload {
    pub csrf: String,
    pub input: UploadInput,
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// The body went over the limit: nothing was kept.
    pub too_large: bool,
}

/// Reads a multipart upload, stopping as soon as the file exceeds `max` bytes.
pub async fn read_upload(mut mp: Multipart, max: usize) -> Result<Upload, String> {
    let mut u = Upload { csrf: String::new(), input: UploadInput::default(), file_name: String::new(), bytes: Vec::new(), too_large: false };
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                u.too_large = true;
                break;
            }
            Err(e) => return Err(format!("envoi illisible : {}", e.body_text())),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            u.file_name = field.file_name().unwrap_or("").to_string();
            let mut field = field;
            loop {
                match field.chunk().await {
                    Ok(Some(c)) => {
                        if u.bytes.len() + c.len() > max {
                            u.too_large = true;
                            u.bytes.clear();
                            return Ok(u);
                        }
                        u.bytes.extend_from_slice(&c);
                    }
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        u.too_large = true;
                        u.bytes.clear();
                        return Ok(u);
                    }
                    Err(e) => return Err(format!("envoi interrompu : {}", e.body_text())),
                }
            }
            continue;
        }
        let text = field.text().await.map_err(|e| format!("champ « {name} » illisible : {}", e.body_text()))?;
        match name.as_str() {
            "_csrf" => u.csrf = text,
            "target" => u.input.target = text,
            "class_id" => u.input.class_id = text,
            "confidentiality" => u.input.confidentiality = text,
            "title" => u.input.title = text,
            "document_date" => u.input.document_date = text,
            _ => {}
        }
    }
    Ok(u)
}

pub async fn upload(ctx: Ctx, Path(id): Path<i64>, mp: Multipart) -> PageResult {
    let storage = ctx.state.config.documents.clone();
    let u = match read_upload(mp, storage.max_bytes).await {
        Ok(u) => u,
        Err(m) => return upload_form(&ctx, id, &UploadInput::default(), &FieldErrors::single("file", m), StatusCode::BAD_REQUEST).await,
    };
    if u.too_large {
        // The rest of the form may not have been read: show it again with the limit.
        let e = FieldErrors::single("file", format!("Fichier trop volumineux : {} au plus.", storage.max_label()));
        return upload_form(&ctx, id, &u.input, &e, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    if let Err(r) = check_csrf(&ctx, &u.csrf).await {
        return Ok(r);
    }
    let p = patients::check_read(&ctx.state.db, ctx.actor(), id).await?;
    let tz = quittance_store::establishments::get(&ctx.state.db, ctx.actor(), p.establishment_id).await.map(|e| e.timezone).unwrap_or_else(|_| "Europe/Paris".into());
    let filed = match docs::parse_upload(&ctx.state.db, &storage, id, &u.input, &u.bytes, patients::today_in(&tz)).await {
        Ok(d) => docs::upload(&ctx.state.db, ctx.actor(), &storage, id, &d, &u.file_name, &u.bytes).await,
        Err(e) => Err(e),
    };
    match filed {
        Ok(d) => {
            let back = match d.target_kind {
                Target::Pec => format!("/patients/{id}/pec/{}", d.target_id),
                _ => format!("/patients/{id}#h-documents"),
            };
            Ok(see_other(&back, "document"))
        }
        Err(Error::Invalid(e)) => {
            let status = if e.get("file").is_some_and(|m| m.starts_with("Type")) { StatusCode::UNSUPPORTED_MEDIA_TYPE } else { StatusCode::UNPROCESSABLE_ENTITY };
            upload_form(&ctx, id, &u.input, &e, status).await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// The content, shown in the browser (PDF, images) with a safe file name.
pub async fn open(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let (d, bytes) = docs::content(&ctx.state.db, ctx.actor(), &ctx.state.config.documents, id).await?;
    Ok(content_response(&d, bytes))
}

pub fn content_response(d: &Document, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, d.mime.clone()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{}\"", d.file_name)),
            (header::HeaderName::from_static("x-content-sha256"), d.sha256.clone()),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
}

/// The withdrawal form of a document, re-shown after a refusal (missing reason, already
/// withdrawn, stale version) with the French message, what was typed, and a way back to the file.
async fn withdraw_form(ctx: &Ctx, id: i64, reason: &str, errors: &FieldErrors, conflict: Option<&str>) -> PageResult {
    let d = docs::get(&ctx.state.db, ctx.actor(), id).await?;
    let back = format!("/patients/{}#h-documents", d.patient_id);
    let mut fields = with_errors(vec![Field::text("reason", "Motif du retrait", reason).required().hint("300 caractères au plus.")], errors);
    fields.insert(0, Field::hidden("version", &d.version.to_string()));
    let intro = match (conflict, &d.withdrawn_at) {
        (Some(m), _) => crate::patients::pages::stale_intro(m),
        (None, Some(w)) => format!("Ce document a été retiré le {} : {}", day(w), d.withdrawn_reason.clone().unwrap_or_default()),
        (None, None) => "Le document reste dans le dossier, avec son motif ; il ne compte plus pour les contrôles.".into(),
    };
    Ok(FormPage {
        chrome: ctx.chrome("Retirer un document").await,
        heading: format!("Retirer le document « {} » ({}, du {})", d.title, d.class_label, day(&d.document_date)),
        intro: Some(intro),
        action: format!("/documents/{id}/retirer"),
        error_count: errors.0.len(),
        fields,
        submit: "Retirer le document".into(),
        cancel: Some(back),
    }
    .response(crate::patients::pages::form_status(errors, conflict)))
}

pub async fn withdraw(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<WithdrawForm>) -> PageResult {
    match docs::withdraw(&ctx.state.db, ctx.actor(), id, f.version.trim().parse().unwrap_or(0), &f.reason).await {
        Ok(d) => Ok(see_other(&format!("/patients/{}#h-documents", d.patient_id), "retire")),
        Err(Error::Invalid(e)) => withdraw_form(&ctx, id, &f.reason, &e, None).await,
        Err(Error::Conflict(m)) => withdraw_form(&ctx, id, &f.reason, &FieldErrors::new(), Some(&m)).await,
        Err(e) => Err(PageError(e)),
    }
}

/// A document line of the patient page.
pub struct DocRow {
    pub id: i64,
    pub version: i64,
    pub date: String,
    pub class: String,
    pub title: String,
    pub target: String,
    /// `patient`, `droit:<id>`, `pec:<id>`, `sejour:<id>`.
    pub target_key: String,
    pub size: String,
    pub confidential: bool,
    pub can_open: bool,
    pub withdrawn: Option<String>,
    pub retention: String,
}

/// The documents section of the patient page.
pub async fn rows(ctx: &Ctx, patient_id: i64) -> Result<Vec<DocRow>, Error> {
    let list = docs::list(&ctx.state.db, ctx.actor(), patient_id).await?;
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let all = targets(ctx, patient_id).await?;
    Ok(doc_rows(list, &all))
}

/// [`rows`] of a file already checked in this request (the patient page), read in its transaction, whose
/// stays, coverages and requests the page has read already.
pub fn doc_rows_of(
    list: Vec<Document>,
    stays: &[stays::Stay],
    coverages: &quittance_store::care::coverages::CoverageSummary,
    pecs: &[pec::Pec],
) -> Vec<DocRow> {
    if list.is_empty() {
        return Vec::new();
    }
    let all = target_list(stays.to_vec(), coverages.clone(), pecs.to_vec());
    doc_rows(list, &all)
}

fn doc_rows(list: Vec<Document>, all: &[(String, String)]) -> Vec<DocRow> {
    list
        .into_iter()
        .map(|d| DocRow {
            id: d.id,
            version: d.version,
            date: day(&d.document_date),
            class: d.class_label.clone(),
            title: d.title.clone(),
            target: target_label(all, &d),
            target_key: target_key(&d),
            size: size_fr(d.size_bytes),
            confidential: d.confidentiality == Confidentiality::Confidentiel,
            can_open: d.openable,
            withdrawn: d.withdrawn_at.as_ref().map(|w| format!("Retiré le {} : {}", day(w), d.withdrawn_reason.clone().unwrap_or_default())),
            retention: d.retention_until.as_deref().map(day).unwrap_or_else(|| "—".into()),
        })
        .collect()
}

// ------------------------------------------------------------------ reports

#[derive(Template)]
#[template(path = "documents/documents_report.html")]
struct ReportPage {
    chrome: Chrome,
    establishment: String,
    /// (patient id, IPP, name, class, title, date, kept until)
    expired: Vec<(i64, String, String, String, String, String, String)>,
    /// (patient id, IPP, name, stay admission, missing)
    missing: Vec<(i64, String, String, String, String)>,
}

/// Documents past retention: `[IPP, patient, class, title, date, kept until, patient id]`.
async fn expired_rows(ctx: &Ctx, e: &quittance_store::establishments::Establishment) -> Result<Vec<Vec<String>>, Error> {
    let today = patients::today_in(&e.timezone);
    Ok(docs::past_retention(&ctx.state.db, ctx.actor(), e.id, today)
        .await?
        .into_iter()
        .map(|x| {
            vec![
                x.ipp,
                x.patient_name,
                x.document.class_label.clone(),
                x.document.title.clone(),
                day(&x.document.document_date),
                x.document.retention_until.as_deref().map(day).unwrap_or_default(),
                x.document.patient_id.to_string(),
            ]
        })
        .collect())
}

/// Stays missing a required document: `(patient id, [IPP, patient, admission, what is missing])`.
async fn missing_rows(ctx: &Ctx, e: &quittance_store::establishments::Establishment) -> Result<Vec<(i64, Vec<String>)>, Error> {
    let today = patients::today_in(&e.timezone);
    Ok(quittance_store::readiness::missing_documents_report(&ctx.state.db, ctx.actor(), e.id, today)
        .await?
        .into_iter()
        .map(|p| {
            let what = p.messages.join(" ").trim_start_matches("Justificatif manquant : ").trim_end_matches('.').to_string();
            (p.patient_id, vec![p.ipp, p.name, p.admission_at.as_deref().map(day).unwrap_or_default(), what])
        })
        .collect())
}

async fn report_data(ctx: &Ctx) -> Result<(String, Vec<Vec<String>>, Vec<(i64, Vec<String>)>), Error> {
    let e = ctx.establishment().await?;
    let expired = expired_rows(ctx, &e).await?;
    let missing = missing_rows(ctx, &e).await?;
    Ok((e.name, expired, missing))
}

pub async fn report(ctx: Ctx) -> PageResult {
    let (establishment, expired, missing) = report_data(&ctx).await?;
    let page = ReportPage {
        chrome: ctx.chrome("Documents : conservation et manquants").await,
        establishment,
        expired: expired
            .into_iter()
            .map(|r| (r[6].parse().unwrap_or(0), r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone(), r[4].clone(), r[5].clone()))
            .collect(),
        missing: missing.into_iter().map(|(id, r)| (id, r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone())).collect(),
    };
    Ok(html(StatusCode::OK, page.render()))
}

const EXPIRED_HEADER: [&str; 6] = ["IPP", "Patient", "Classe", "Intitulé", "Date du document", "Conservation jusqu'au"];
const MISSING_HEADER: [&str; 4] = ["IPP", "Patient", "Séjour du", "Justificatifs manquants"];

pub async fn expired_csv(ctx: Ctx) -> PageResult {
    let rows = expired_rows(&ctx, &ctx.establishment().await?).await?;
    Ok(csv_response("documents-conservation-echue.csv", &EXPIRED_HEADER, rows.into_iter().map(|mut r| {
        r.truncate(6);
        r
    }).collect()))
}

pub async fn expired_xlsx(ctx: Ctx) -> PageResult {
    let rows = expired_rows(&ctx, &ctx.establishment().await?).await?;
    Ok(xlsx_response("documents-conservation-echue.xlsx", "Conservation échue", &EXPIRED_HEADER, rows.into_iter().map(|mut r| {
        r.truncate(6);
        r
    }).collect()))
}

pub async fn missing_csv(ctx: Ctx) -> PageResult {
    let rows = missing_rows(&ctx, &ctx.establishment().await?).await?;
    Ok(csv_response("dossiers-justificatifs-manquants.csv", &MISSING_HEADER, rows.into_iter().map(|r| r.1).collect()))
}

pub async fn missing_xlsx(ctx: Ctx) -> PageResult {
    let rows = missing_rows(&ctx, &ctx.establishment().await?).await?;
    Ok(xlsx_response("dossiers-justificatifs-manquants.xlsx", "Justificatifs manquants", &MISSING_HEADER, rows.into_iter().map(|r| r.1).collect()))
}

// ------------------------------------------------------------------ classification plan

#[derive(Template)]
#[template(path = "documents/document_plan.html")]
struct PlanPage {
    chrome: Chrome,
    establishment_id: i64,
    establishment: String,
    classes: Vec<(DocClass, String, String)>,
}

pub async fn plan(ctx: Ctx, Path(est): Path<i64>) -> PageResult {
    let e = quittance_store::establishments::get(&ctx.state.db, ctx.actor(), est).await?;
    ctx.actor()
        .require(&ctx.state.db, quittance_domain::access::Permission::ManageEstablishments, quittance_domain::access::Scope::Establishment(est), "document_class", "list")
        .await?;
    let classes = docs::classes(&ctx.state.db, ctx.actor(), est)
        .await?
        .into_iter()
        .map(|c| {
            let conf = c.confidentiality.label().split(" — ").next().unwrap_or("").to_string();
            let req = if c.required_for == RequiredFor::Jamais { "—".to_string() } else { c.required_for.label().to_string() };
            (c, conf, req)
        })
        .collect();
    let page = PlanPage { chrome: ctx.chrome("Plan de classement").await, establishment_id: est, establishment: e.name, classes };
    Ok(html(StatusCode::OK, page.render()))
}

fn class_fields(i: &ClassInput) -> Vec<Field> {
    vec![
        Field::text("code", "Code", &i.code).required().hint("Minuscules sans accent, chiffres et « _ » (ex. accord_pec)."),
        Field::text("label", "Intitulé", &i.label).required(),
        Field::text("retention_years", "Durée de conservation (années)", &i.retention_years).required().hint("Ex. 10 ans pour les pièces justificatives de facturation."),
        Field::text("confidentiality", "Confidentialité par défaut", &i.confidentiality).select(CONFIDENTIALITY),
        Field::text("required_for", "Exigé pour la facturation", &i.required_for).select(REQUIRED_FOR),
        Field::text("position", "Ordre d'affichage", &i.position),
        Field::checkbox("active", "Utilisable pour de nouveaux documents", matches!(i.active.as_str(), "on" | "true")),
    ]
}

async fn class_form(ctx: &Ctx, est: i64, edit: Option<ClassEdit>, i: &ClassInput, errors: &FieldErrors, conflict: Option<&str>) -> PageResult {
    let mut fields = with_errors(class_fields(i), errors);
    if let Some(e) = edit {
        fields.insert(0, Field::hidden("version", &e.version.to_string()));
    }
    let intro = "Une classe n'est jamais supprimée (des documents y sont classés) : décochez « Utilisable » pour la retirer du choix.";
    Ok(FormPage {
        chrome: ctx.chrome("Classe de documents").await,
        heading: if edit.is_some() { "Modifier la classe de documents".into() } else { "Nouvelle classe de documents".into() },
        intro: Some(conflict.map_or_else(|| intro.to_string(), crate::patients::pages::stale_intro)),
        action: match edit {
            Some(e) => format!("/admin/etablissements/{est}/plan-de-classement/{}", e.id),
            None => format!("/admin/etablissements/{est}/plan-de-classement/nouvelle"),
        },
        fields,
        submit: "Enregistrer".into(),
        cancel: Some(format!("/admin/etablissements/{est}/plan-de-classement")),
        error_count: errors.0.len(),
    }
    .response(crate::patients::pages::form_status(errors, conflict)))
}

fn require_plan(ctx: &Ctx, est: i64) -> impl std::future::Future<Output = Result<(), Error>> + '_ {
    ctx.actor().require(&ctx.state.db, quittance_domain::access::Permission::ManageEstablishments, quittance_domain::access::Scope::Establishment(est), "document_class", "form")
}

pub async fn class_new(ctx: Ctx, Path(est): Path<i64>) -> PageResult {
    require_plan(&ctx, est).await?;
    let i = ClassInput { retention_years: "10".into(), confidentiality: "normal".into(), active: "on".into(), ..Default::default() };
    class_form(&ctx, est, None, &i, &FieldErrors::new(), None).await
}

pub async fn class_create(Path(est): Path<i64>, CsrfForm(ctx, i): CsrfForm<ClassInput>) -> PageResult {
    let saved = match quittance_domain::documents::input::parse_class(&i) {
        Ok(c) => docs::save_class(&ctx.state.db, ctx.actor(), est, None, &c).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/admin/etablissements/{est}/plan-de-classement"), "cree")),
        Err(Error::Invalid(e)) => class_form(&ctx, est, None, &i, &e, None).await,
        Err(e) => Err(PageError(e)),
    }
}

async fn current_class(ctx: &Ctx, est: i64, id: i64) -> Result<DocClass, Error> {
    docs::classes(&ctx.state.db, ctx.actor(), est).await?.into_iter().find(|c| c.id == id).ok_or(Error::NotFound("Classe de documents"))
}

pub async fn class_edit(ctx: Ctx, Path((est, id)): Path<(i64, i64)>) -> PageResult {
    require_plan(&ctx, est).await?;
    let c = current_class(&ctx, est, id).await?;
    class_form(&ctx, est, Some(ClassEdit { id, version: c.version }), &docs::class_input(&c), &FieldErrors::new(), None).await
}

/// The class form as posted: the fields and the version read.
#[derive(Deserialize)]
pub struct ClassEditForm {
    #[serde(flatten)]
    input: ClassInput,
    #[serde(default)]
    version: String,
}

pub async fn class_update(Path((est, id)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<ClassEditForm>) -> PageResult {
    let edit = ClassEdit { id, version: f.version.trim().parse::<i64>().unwrap_or(0) };
    let saved = match quittance_domain::documents::input::parse_class(&f.input) {
        Ok(c) => docs::save_class(&ctx.state.db, ctx.actor(), est, Some(edit), &c).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/admin/etablissements/{est}/plan-de-classement"), "modifie")),
        Err(Error::Invalid(e)) => class_form(&ctx, est, Some(edit), &f.input, &e, None).await,
        Err(Error::Conflict(m)) => {
            // Re-shown with what was typed and the current version: saving again is a choice.
            let now = current_class(&ctx, est, id).await?;
            class_form(&ctx, est, Some(ClassEdit { id, version: now.version }), &f.input, &FieldErrors::new(), Some(&m)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

pub async fn plan_default(Path(est): Path<i64>, CsrfForm(ctx, _): CsrfForm<crate::session::Empty>) -> PageResult {
    docs::install_default_plan(&ctx.state.db, ctx.actor(), est).await?;
    Ok(see_other(&format!("/admin/etablissements/{est}/plan-de-classement"), "cree"))
}
