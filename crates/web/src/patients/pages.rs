//! Patient administrative files: search (with search-as-you-type), create, view, edit,
//! identifiers, debtors, exports.

use askama::Template;
use crate::extract::{PagePath as Path, PageQuery as Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use quittance_domain::access::{Permission, Scope};
use quittance_domain::identity::{ATTRIBUTES, BirthDate, DocumentType, IdentityStatus, Sex};
use quittance_domain::patients::search as patient_search;
use quittance_domain::validation::FieldErrors;
use quittance_store::Error;
use quittance_store::establishments as est;
use quittance_store::patients::{self, DEBTOR_KINDS, DebtorEdit, DebtorInput, GUARANTEES, PatientInput, PatientSummary};
use serde::Deserialize;

use crate::session::{Ctx, CsrfForm, url_encode};
use crate::render::{Chrome, Field, FormPage, Opt, PageError, PageResult, csv_response, html, see_other, ts_fr, with_errors, xlsx_response};

const PAGE_SIZE: i64 = 25;

/// The establishment the actor works in for patient files.
async fn current_establishment(ctx: &Ctx) -> Result<est::Establishment, Error> {
    let a = ctx.actor();
    let list = est::list(&ctx.state.db, a).await?;
    let pick = a
        .establishment_id
        .and_then(|id| list.iter().find(|e| e.id == id))
        .filter(|e| a.allows(Permission::ReadPatients, Scope::Establishment(e.id)))
        .or_else(|| list.iter().find(|e| a.allows(Permission::ReadPatients, Scope::Establishment(e.id))));
    match pick {
        Some(e) => Ok(e.clone()),
        None => Err(a.deny(&ctx.state.db, Permission::ReadPatients, Scope::Global, "patient", "search").await),
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    naissance: String,
    page: Option<i64>,
    /// Where the page starts (the `next` cursor of the page before; keyset pagination).
    #[serde(default)]
    apres: String,
}

impl SearchQuery {
    fn query_string(&self) -> String {
        format!("q={}&naissance={}", url_encode(&self.q), url_encode(&self.naissance))
    }
}

struct Row {
    id: i64,
    ipp: String,
    birth_name: String,
    used_name: String,
    first_name: String,
    birth_date: String,
    sex: String,
    status: String,
    city: String,
    deceased: bool,
    non_disclosure: bool,
}

fn row(s: PatientSummary) -> Row {
    Row {
        id: s.id,
        birth_date: BirthDate::from_storage(&s.birth_date).map(|b| b.format_fr()).unwrap_or(s.birth_date),
        sex: s.sex.code().to_string(),
        status: s.identity_status.label().to_string(),
        city: s.city.unwrap_or_default(),
        deceased: s.date_of_death.is_some(),
        non_disclosure: s.non_disclosure,
        used_name: s.used_name.unwrap_or_default(),
        first_name: s.used_first_name.unwrap_or(s.first_name),
        ipp: s.ipp,
        birth_name: s.birth_name,
    }
}

#[derive(Template)]
#[template(path = "patients/patients.html")]
struct PatientsPage {
    chrome: Chrome,
    q: String,
    naissance: String,
    query: String,
    searched: bool,
    error: Option<String>,
    rows: Vec<Row>,
    more: bool,
    next: String,
    page: i64,
    can_create: bool,
}

#[derive(Template)]
#[template(path = "patients/patient_results.html")]
struct ResultsFragment {
    query: String,
    searched: bool,
    error: Option<String>,
    rows: Vec<Row>,
    more: bool,
    next: String,
    page: i64,
}

struct Found {
    searched: bool,
    error: Option<String>,
    rows: Vec<PatientSummary>,
    more: bool,
    /// The next page's cursor, URL-encoded.
    next: String,
    page: i64,
}

async fn run(ctx: &Ctx, q: &SearchQuery, limit: i64) -> Result<Found, Error> {
    let e = current_establishment(ctx).await?;
    // Pages after the first start at a cursor (read from the index, any depth); the page
    // number is only shown. A cursor that does not parse starts again at page 1.
    let after = patients::Cursor::parse(&q.apres);
    let page = if after.is_some() { q.page.unwrap_or(2).clamp(2, i64::from(i32::MAX)) } else { 1 };
    let none = |searched, error| Found { searched, error, rows: vec![], more: false, next: String::new(), page };
    match patient_search::parse(&q.q, &q.naissance) {
        Err(m) => Ok(none(true, Some(m))),
        Ok(c) if c.is_empty() => Ok(none(false, None)),
        Ok(c) => {
            let r = patients::search_after(&ctx.state.db, ctx.actor(), e.id, &c, limit, after.as_ref()).await?;
            let next = r.next.map(|c| url_encode(&c.token())).unwrap_or_default();
            Ok(Found { searched: true, error: None, rows: r.items, more: r.more, next, page })
        }
    }
}

pub async fn search_page(ctx: Ctx, Query(q): Query<SearchQuery>) -> PageResult {
    let f = run(&ctx, &q, PAGE_SIZE).await?;
    let can_create = ctx.actor().allows_anywhere(Permission::WritePatients);
    let page = PatientsPage {
        chrome: ctx.chrome("Patients").await,
        query: q.query_string(),
        q: q.q,
        naissance: q.naissance,
        searched: f.searched,
        error: f.error,
        rows: f.rows.into_iter().map(row).collect(),
        more: f.more,
        next: f.next,
        page: f.page,
        can_create,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// The results block alone, for search-as-you-type.
pub async fn results_fragment(ctx: Ctx, Query(q): Query<SearchQuery>) -> PageResult {
    let f = run(&ctx, &q, PAGE_SIZE).await?;
    let frag = ResultsFragment {
        query: q.query_string(),
        searched: f.searched,
        error: f.error,
        rows: f.rows.into_iter().map(row).collect(),
        more: f.more,
        next: f.next,
        page: f.page,
    };
    Ok(match frag.render() {
        Ok(b) => Html(b).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    })
}

const EXPORT_HEADER: [&str; 11] =
    ["IPP", "Nom de naissance", "Nom utilisé", "Prénom", "Date de naissance", "Sexe", "Statut d'identité", "NIR", "N° CAFAT", "Ville", "Décès"];

async fn export_rows(ctx: &Ctx, q: &SearchQuery) -> Result<Vec<Vec<String>>, Error> {
    let mut q = q.clone();
    q.page = Some(1);
    q.apres = String::new();
    let f = run(ctx, &q, 100_000).await?;
    Ok(f.rows
        .into_iter()
        .map(|s| {
            vec![
                s.ipp.clone(),
                s.birth_name.clone(),
                s.used_name.clone().unwrap_or_default(),
                s.first_name.clone(),
                BirthDate::from_storage(&s.birth_date).map(|b| b.format_fr()).unwrap_or_default(),
                s.sex.code().to_string(),
                s.identity_status.label().to_string(),
                s.nir.clone().unwrap_or_default(),
                s.cafat_number.clone().unwrap_or_default(),
                s.city.clone().unwrap_or_default(),
                s.date_of_death.as_deref().and_then(|d| d.parse::<jiff::civil::Date>().ok()).map(quittance_domain::fr::format_date_fr).unwrap_or_default(),
            ]
        })
        .collect())
}

pub async fn export_csv(ctx: Ctx, Query(q): Query<SearchQuery>) -> PageResult {
    let rows = export_rows(&ctx, &q).await?;
    Ok(csv_response("patients.csv", &EXPORT_HEADER, rows))
}

pub async fn export_xlsx(ctx: Ctx, Query(q): Query<SearchQuery>) -> PageResult {
    let rows = export_rows(&ctx, &q).await?;
    Ok(xlsx_response("patients.xlsx", "Patients", &EXPORT_HEADER, rows))
}

// ---------------------------------------------------------------- form

fn options<T: Copy>(all: &[T], code: fn(T) -> &'static str, label: fn(T) -> &'static str, blank: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&'static str, &'static str)> = Vec::new();
    if let Some(b) = blank {
        v.push(("", b));
    }
    v.extend(all.iter().map(|x| (code(*x), label(*x))));
    v
}

async fn site_options(ctx: &Ctx, establishment_id: i64, selected: &str) -> Vec<Opt> {
    let a = ctx.actor();
    let allowed = a.grants.sites_for(Permission::WritePatients, establishment_id);
    let mut v = vec![Opt { value: String::new(), label: "— aucun site particulier —".into(), selected: selected.is_empty() }];
    for s in est::list_sites(&ctx.state.db, a, establishment_id).await.unwrap_or_default() {
        if allowed.as_ref().is_none_or(|l| l.contains(&s.id)) {
            v.push(Opt { value: s.id.to_string(), selected: selected == s.id.to_string(), label: s.name });
        }
    }
    if allowed.is_some() {
        v.remove(0);
    }
    v
}

fn patient_fields(i: &PatientInput, sites: Option<Vec<Opt>>, editing: bool) -> Vec<Field> {
    let mut f = vec![];
    if let Some(s) = sites {
        f.push(Field::text("site_id", "Site d'ouverture du dossier", &i.site_id).select_opts(s).section("Dossier"));
    }
    let statuses = options(&IdentityStatus::ALL, IdentityStatus::code, IdentityStatus::label, None);
    let sexes = options(&Sex::ALL, Sex::code, Sex::label, Some("— choisir —"));
    let docs = options(&DocumentType::ALL, DocumentType::code, DocumentType::label, Some("— aucune —"));
    f.extend([
        Field::text("birth_name", "Nom de naissance", &i.birth_name).required().section("Identité (traits stricts)").hint("Tel qu'il figure sur la pièce d'identité."),
        Field::text("birth_first_names", "Prénoms de naissance", &i.birth_first_names).required().hint("Tous, dans l'ordre de l'état civil, séparés par des espaces."),
        Field::text("birth_date", "Date de naissance", &i.birth_date).required().hint("JJ/MM/AAAA ; 00 pour un jour ou un mois inconnu (ex. 00/00/1950)."),
        Field::text("sex", "Sexe", &i.sex).required().select(&sexes),
        Field::text("birth_place_code", "Lieu de naissance (code INSEE)", &i.birth_place_code).required().hint("Commune : 5 caractères (Nouvelle-Calédonie : 988xx) ; né à l'étranger : code pays 99xxx."),
        Field::text("birth_place_label", "Lieu de naissance (libellé)", &i.birth_place_label),
        Field::text("used_name", "Nom utilisé", &i.used_name).section("Traits complémentaires"),
        Field::text("used_first_name", "Prénom utilisé", &i.used_first_name),
        Field::text("identity_status", "Statut d'identité", &i.identity_status).select(&statuses).section("Statut et justificatif"),
        Field::text("doc_type", "Pièce d'identité présentée", &i.doc_type).select(&docs),
        Field::text("doc_number", "N° de la pièce", &i.doc_number),
        Field::text("doc_expiry", "Date d'expiration de la pièce", &i.doc_expiry).hint("JJ/MM/AAAA"),
        Field::checkbox("insi_checked", "Identité vérifiée par le téléservice INSi", i.insi_checked),
        Field::text("attributes", "Attributs d'identité", &i.attributes).checkboxes(ATTRIBUTES),
        Field::text("nir", "NIR / matricule INS", &i.nir).section("Identifiants").hint("15 caractères, clé comprise."),
        Field::text("cafat_number", "N° CAFAT", &i.cafat_number),
        Field::text("address_line1", "Adresse", &i.address_line1).section("Coordonnées"),
        Field::text("address_line2", "Complément d'adresse", &i.address_line2),
        Field::text("postcode", "Code postal", &i.postcode),
        Field::text("city", "Commune", &i.city),
        Field::text("country", "Pays", &i.country).hint("Vide : France."),
        Field::text("phone", "Téléphone", &i.phone),
        Field::text("mobile", "Portable", &i.mobile),
        Field::text("email", "Courriel", &i.email).email(),
        Field::text("language", "Langue préférée", &i.language),
        Field::text("legal_rep_name", "Représentant légal", &i.legal_rep_name).section("Représentant légal et situation"),
        Field::text("legal_rep_relation", "Qualité du représentant", &i.legal_rep_relation).hint("ex. mère, tuteur, curateur"),
        Field::text("legal_rep_phone", "Téléphone du représentant", &i.legal_rep_phone),
        Field::text("date_of_death", "Date de décès", &i.date_of_death).hint("JJ/MM/AAAA"),
        Field::checkbox("non_disclosure", "Le patient demande la non-divulgation de sa présence", i.non_disclosure),
    ]);
    if editing {
        f.push(Field::text("reason", "Motif de la modification", &i.reason).section("Motif").hint("Obligatoire si le statut ou un trait strict change."));
    } else {
        f.push(Field::checkbox("confirm_duplicate", "Créer quand même (un dossier semblable existe ; il sera signalé comme doublon potentiel)", i.confirm_duplicate));
    }
    f
}

async fn create_form(ctx: &Ctx, i: &PatientInput, errors: &FieldErrors) -> Result<Response, Error> {
    let e = current_establishment(ctx).await?;
    let sites = site_options(ctx, e.id, &i.site_id).await;
    Ok(FormPage {
        chrome: ctx.chrome("Nouveau dossier patient").await,
        heading: format!("Nouveau dossier patient — {}", e.name),
        intro: Some("Saisissez les traits stricts tels qu'ils figurent sur la pièce d'identité. L'IPP est attribué à l'enregistrement.".into()),
        action: "/patients/nouveau".into(),
        fields: with_errors(patient_fields(i, Some(sites), false), errors),
        submit: "Créer le dossier".into(),
        cancel: Some("/patients".into()),
        error_count: errors.0.len(),
    }
    .response(if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }))
}

pub async fn new_page(ctx: Ctx) -> PageResult {
    let e = current_establishment(&ctx).await?;
    ctx.actor().require(&ctx.state.db, Permission::WritePatients, Scope::Establishment(e.id), "patient", "create").await?;
    let input = PatientInput { identity_status: "provisoire".into(), site_id: ctx.actor().site_id.map(|s| s.to_string()).unwrap_or_default(), ..Default::default() };
    Ok(create_form(&ctx, &input, &FieldErrors::new()).await?)
}

pub async fn create(CsrfForm(ctx, input): CsrfForm<PatientInput>) -> PageResult {
    let e = current_establishment(&ctx).await?;
    let created = match patients::parse_new(&ctx.state.db, e.id, &input).await {
        Ok(p) => patients::create(&ctx.state.db, ctx.actor(), e.id, &p).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(p) => Ok(see_other(&format!("/patients/{}", p.id), "cree")),
        Err(Error::Invalid(errs)) => Ok(create_form(&ctx, &input, &errs).await?),
        Err(e) => Err(PageError(e)),
    }
}

// ---------------------------------------------------------------- view

struct DebtorRow {
    id: i64,
    name: String,
    kind: String,
    relationship: String,
    address: String,
    guarantees: String,
    is_default: bool,
}

#[derive(Template)]
#[template(path = "patients/patient.html")]
struct PatientPage {
    chrome: Chrome,
    p: patients::Patient,
    title: String,
    status: String,
    status_class: &'static str,
    attributes: Vec<String>,
    death: Option<String>,
    used_name: String,
    used_first_name: String,
    birth_date: String,
    sex: String,
    birth_place: String,
    document: String,
    nir: String,
    cafat: String,
    identifiers: Vec<patients::Identifier>,
    address: String,
    phones: String,
    email: String,
    language: String,
    legal_rep: String,
    debtors: Vec<DebtorRow>,
    history: Vec<(String, String, String, String)>,
    can_write: bool,
    stays: Vec<StayRow>,
    coverages: Vec<CoverageRow>,
    coverage_flags: Vec<String>,
    /// (heading, ready, [(message, link to fix)])
    checklist: Vec<(String, bool, Vec<(String, String)>)>,
    /// (id, number, payer, status, stay, validity)
    pecs: Vec<(i64, String, String, String, String, String)>,
    documents: Vec<crate::documents::pages::DocRow>,
}

struct StayRow {
    id: i64,
    admission: String,
    site: String,
    care: String,
    discharge: String,
}

struct CoverageRow {
    id: i64,
    priority: i64,
    payer: String,
    role: String,
    member: String,
    beneficiary: String,
    period: String,
    rates: String,
    exemptions: String,
    /// Class proposed for its proof (attestation, carte de mutuelle, décision d'aide).
    proof_class: &'static str,
    /// Proofs filed on this coverage (not withdrawn).
    proofs: usize,
}

fn local_fr(t: &str) -> String {
    let (d, h) = t.split_once('T').unwrap_or((t, ""));
    let d = d.parse::<jiff::civil::Date>().map(quittance_domain::fr::format_date_fr).unwrap_or_default();
    if h.is_empty() || h == "00:00" { d } else { format!("{d} {h}") }
}

fn care_rows(
    stays: Vec<quittance_store::care::stays::Stay>,
    summary: quittance_store::care::coverages::CoverageSummary,
    sites: &std::collections::HashMap<i64, String>,
) -> Result<(Vec<StayRow>, Vec<CoverageRow>, Vec<String>), Error> {
    use quittance_domain::care::coverage::{Beneficiary, CoverageRole};
    let stays = stays
        .into_iter()
        .map(|s| StayRow {
            id: s.id,
            admission: local_fr(&s.admission_at),
            site: sites.get(&s.site_id).cloned().unwrap_or_default(),
            care: s.care_mode.label().to_string(),
            discharge: match (&s.discharge_at, s.discharge_mode, &s.planned_discharge_date) {
                (Some(d), Some(m), _) => format!("{} — {}", local_fr(d), m.label()),
                (None, _, Some(pl)) => format!("présent (sortie prévue le {})", local_fr(pl)),
                _ => "présent".into(),
            },
        })
        .collect();
    let day = |d: &str| d.parse::<jiff::civil::Date>().map(quittance_domain::fr::format_date_fr).unwrap_or_default();
    let coverages = summary
        .lines
        .into_iter()
        .map(|l| {
            let c = l.coverage;
            CoverageRow {
                id: c.id,
                priority: c.priority,
                payer: l.payer_name,
                role: c.role.label().to_string(),
                member: c.member_number.clone().unwrap_or_default(),
                beneficiary: match (c.beneficiary, &c.insured_name) {
                    (Beneficiary::AyantDroit, Some(n)) => format!("Ayant droit de {n}"),
                    (b, _) => b.label().to_string(),
                },
                period: format!("du {}{}", day(&c.valid_from), c.valid_to.as_deref().map(|t| format!(" au {}", day(t))).unwrap_or_default()),
                rates: c.rates().map(|r| r.format_fr()).join(" / "),
                exemptions: c.exemptions.iter().map(|x| x.label()).collect::<Vec<_>>().join(", "),
                proof_class: match c.role {
                    CoverageRole::Obligatoire => "attestation_droits",
                    CoverageRole::Complementaire => "carte_complementaire",
                    CoverageRole::Aide => "aide_medicale",
                },
                proofs: 0,
            }
        })
        .collect();
    Ok((stays, coverages, summary.flags))
}

fn dash(s: &Option<String>) -> String {
    s.clone().filter(|x| !x.is_empty()).unwrap_or_else(|| "—".into())
}

fn join_address(parts: &[&Option<String>]) -> String {
    let v: Vec<String> = parts.iter().filter_map(|p| (*p).clone()).filter(|s| !s.is_empty()).collect();
    if v.is_empty() { "—".into() } else { v.join(", ") }
}

fn fr_day(d: &Option<String>) -> Option<String> {
    d.as_deref().and_then(|x| x.parse::<jiff::civil::Date>().ok()).map(quittance_domain::fr::format_date_fr)
}

fn action_fr(a: &str) -> &str {
    match a {
        "create" => "Création",
        "update" => "Modification",
        "identity_change" => "Modification d'un trait strict",
        "status_change" => "Changement de statut d'identité",
        "add_identifier" => "Ajout d'identifiant",
        "add_debtor" => "Ajout de débiteur",
        "add_coverage" => "Ajout d'un droit",
        "update_coverage" => "Modification d'un droit",
        "add_stay" => "Création d'un séjour",
        "update_stay" => "Modification d'un séjour",
        "pec_create" => "Demande de prise en charge",
        "pec_send" => "Prise en charge envoyée",
        "pec_answer" => "Réponse de l'organisme",
        "pec_expire" => "Accord déclaré expiré",
        "document_upload" => "Document classé",
        "document_withdraw" => "Document retiré",
        "update_debtor" => "Modification de débiteur",
        "history" => "Consultation de l'historique",
        "search" => "Recherche",
        other => other,
    }
}

pub async fn view(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    // One access check, one read transaction for every section of the page (and its chrome),
    // and the view row committed before anything of the file is rendered.
    let db = &ctx.state.db;
    let mut o = patients::open(db, ctx.actor(), id).await?;
    let est_id = o.checked.establishment_id();
    // The actor's establishments (for the chrome) hold the file's, and its time zone.
    let ests = est::list_in(&mut o.tx, ctx.actor()).await?;
    let file_est = match ests.iter().find(|e| e.id == est_id) {
        Some(e) => e.clone(),
        None => est::get_in(&mut o.tx, est_id).await?,
    };
    let tz = file_est.timezone.clone();
    // Its sites, readiness rules and required classes: from memory at the version just read.
    let config = est::config_in(db, &mut o.tx, &file_est).await?;
    let today = patients::today_in(&tz);
    let history = patients::history_checked(&mut o.tx, &o.checked).await?;
    let stay_list = quittance_store::care::stays::list_checked(&mut o.tx, &o.checked).await?;
    let coverage_list = quittance_store::care::coverages::list_checked(&mut o.tx, &o.checked, today).await?;
    let pec_list = quittance_store::pec::list_checked(&mut o.tx, &o.checked).await?;
    let known = coverage_list.lines.iter().map(|l| (l.coverage.payer_id, l.payer_name.clone()));
    let payer_names = quittance_store::pec::payer_names_given(&mut o.tx, &pec_list, known).await?;
    let doc_list = quittance_store::documents::list_checked(&mut o.tx, ctx.actor(), &o.checked).await?;
    let checklist = {
        let (tx, checked, debtors) = o.parts();
        let given = quittance_store::readiness::Given {
            config: Some(&config),
            stays: &stay_list,
            debtors,
            coverages: &coverage_list.lines,
            pecs: &pec_list,
            documents: &doc_list,
        };
        quittance_store::readiness::checklist_given(tx, checked, today, given).await?
    };
    let site_list = config.sites.clone();
    // The chrome's site switcher: the current establishment's sites (the file's, most often: from memory).
    let chrome_sites = Chrome::switcher_sites(&ctx, &mut o.tx, &ests).await;
    let sites: std::collections::HashMap<i64, String> = site_list.into_iter().map(|s| (s.id, s.name)).collect();
    let title_name = o.checked.patient().birth_name.clone();
    let chrome = Chrome::read_lists(&ctx, ests, chrome_sites, &title_name, &ctx.path);
    let file = o.finish(db, ctx.actor()).await?;
    let documents = crate::documents::pages::doc_rows_of(doc_list, &stay_list, &coverage_list, &pec_list);
    let p = file.patient;
    let can_write = ctx.actor().allows(Permission::WritePatients, Scope::Establishment(p.establishment_id))
        && match ctx.actor().grants.sites_for(Permission::WritePatients, p.establishment_id) {
            None => true,
            Some(l) => file.sites.iter().any(|s| l.contains(s)),
        };
    let (stays, coverages, coverage_flags) = care_rows(stay_list, coverage_list, &sites)?;
    let checklist = checklist
        .into_iter()
        .map(|c| {
            let heading = match &c.admission_at {
                Some(a) => format!("Séjour du {}", local_fr(a)),
                None => "Dossier".to_string(),
            };
            let fixes = c
                .failures
                .into_iter()
                .map(|(_, msg, fix)| {
                    let link = fix_link(p.id, &fix);
                    (msg, link)
                })
                .collect();
            (heading, c.ready, fixes)
        })
        .collect();
    let pecs = pec_list
        .into_iter()
        .map(|x| {
            let d = |v: &Option<String>| v.as_deref().map(local_fr).unwrap_or_default();
            (
                x.id,
                x.number.clone(),
                payer_names.get(&x.payer_id).cloned().unwrap_or_default(),
                x.status.label().to_string(),
                x.stay_id.map(|s| format!("séjour n° {s}")).unwrap_or_else(|| format!("prévu le {}", d(&x.planned_admission_date))),
                if x.valid_from.is_some() || x.valid_to.is_some() { format!("{} → {}", d(&x.valid_from), d(&x.valid_to)) } else { String::new() },
            )
        })
        .collect();
    let mut coverages = coverages;
    for c in &mut coverages {
        let key = format!("droit:{}", c.id);
        c.proofs = documents.iter().filter(|d| d.target_key == key && d.withdrawn.is_none()).count();
    }
    let page = PatientPage {
        documents,
        pecs,
        checklist,
        stays,
        coverages,
        coverage_flags,
        chrome,
        title: format!("{} {}", p.used_name.clone().unwrap_or_else(|| p.birth_name.clone()), p.used_first_name.clone().unwrap_or_else(|| p.first_name.clone())),
        status: p.identity_status.label().to_string(),
        status_class: match p.identity_status {
            IdentityStatus::Qualifiee | IdentityStatus::Validee => "ok",
            _ => "warn",
        },
        attributes: p.attributes.iter().map(|a| a.label().to_string()).collect(),
        death: fr_day(&p.date_of_death),
        used_name: dash(&p.used_name),
        used_first_name: dash(&p.used_first_name),
        birth_date: BirthDate::from_storage(&p.birth_date).map(|b| b.format_fr()).unwrap_or_default(),
        sex: p.sex.label().to_string(),
        birth_place: match (&p.birth_place_label, &p.birth_place_code) {
            (Some(l), Some(c)) => format!("{l} ({c})"),
            (None, Some(c)) => c.clone(),
            (Some(l), None) => l.clone(),
            (None, None) => "—".into(),
        },
        document: match (&p.doc_type, &p.doc_number) {
            (Some(t), n) => format!(
                "{} {}{}",
                t.label(),
                n.clone().unwrap_or_default(),
                fr_day(&p.doc_expiry).map(|d| format!(" (expire le {d})")).unwrap_or_default()
            ),
            _ => "—".into(),
        },
        nir: dash(&p.nir),
        cafat: dash(&p.cafat_number),
        identifiers: file.identifiers,
        address: join_address(&[&p.address_line1, &p.address_line2, &p.postcode, &p.city, &p.country]),
        phones: join_address(&[&p.phone, &p.mobile]),
        email: dash(&p.email),
        language: dash(&p.language),
        legal_rep: join_address(&[&p.legal_rep_name, &p.legal_rep_relation, &p.legal_rep_phone]),
        debtors: file
            .debtors
            .into_iter()
            .map(|d| DebtorRow {
                id: d.id,
                kind: d.kind.label().to_string(),
                relationship: d.relationship.clone().unwrap_or_default(),
                address: join_address(&[&d.address_line1, &d.postcode, &d.city]),
                guarantees: d.guarantees.iter().map(|g| g.label()).collect::<Vec<_>>().join(", "),
                is_default: d.is_default,
                name: d.name,
            })
            .collect(),
        history: history.into_iter().map(|h| (ts_fr(&h.at, &tz), h.actor, action_fr(&h.action).to_string(), h.changes)).collect(),
        can_write,
        p,
    };
    Ok(html(StatusCode::OK, page.render()))
}

// ---------------------------------------------------------------- edit

async fn edit_form(ctx: &Ctx, id: i64, version: i64, i: &PatientInput, errors: &FieldErrors, conflict: Option<&str>) -> Response {
    let mut fields = patient_fields(i, None, true);
    fields.insert(0, Field::hidden("version", &version.to_string()));
    FormPage {
        chrome: ctx.chrome("Modifier le dossier").await,
        heading: format!("Modifier le dossier de {} {}", i.birth_name, i.birth_first_names),
        intro: Some(conflict.map_or_else(|| "Tout changement est tracé dans l'historique du dossier.".into(), stale_intro)),
        action: format!("/patients/{id}/modifier"),
        fields: with_errors(fields, errors),
        submit: "Enregistrer".into(),
        cancel: Some(format!("/patients/{id}")),
        error_count: errors.0.len(),
    }
    .response(form_status(errors, conflict))
}

/// The line above a form re-shown after a stale submit: what happened, and that what was
/// typed is kept (the form now carries the current version, so saving again is a choice).
pub(crate) fn stale_intro(message: &str) -> String {
    format!("{message} Vos saisies sont conservées ci-dessous : comparez avec la fiche (lien Annuler) puis enregistrez à nouveau si elles restent justes.")
}

pub(crate) fn form_status(errors: &FieldErrors, conflict: Option<&str>) -> StatusCode {
    if conflict.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

pub async fn edit_page(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let file = patients::get(&ctx.state.db, ctx.actor(), id).await?;
    let input = patients::patient_input(&file.patient);
    Ok(edit_form(&ctx, id, file.patient.version, &input, &FieldErrors::new(), None).await)
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(flatten)]
    input: PatientInput,
    #[serde(default)]
    version: String,
}

pub async fn update(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<EditForm>) -> PageResult {
    let version = f.version.parse::<i64>().unwrap_or(0);
    let updated = match patients::parse_change(&ctx.state.db, id, &f.input).await {
        Ok(p) => patients::update(&ctx.state.db, ctx.actor(), id, version, &p).await,
        Err(e) => Err(e),
    };
    match updated {
        Ok(_) => Ok(see_other(&format!("/patients/{id}"), "modifie")),
        Err(Error::Invalid(errs)) => Ok(edit_form(&ctx, id, version, &f.input, &errs, None).await),
        Err(Error::Conflict(m)) => {
            let (current, _) = patients::read_access(&ctx.state.db, ctx.actor(), id).await?;
            Ok(edit_form(&ctx, id, current.version, &f.input, &FieldErrors::new(), Some(&m)).await)
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize)]
pub struct IdentifierForm {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    value: String,
}

pub async fn add_identifier(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<IdentifierForm>) -> PageResult {
    let parsed = patients::parse_identifier(&patients::IdentifierInput { issuer: f.issuer, value: f.value }).map_err(Error::Invalid)?;
    patients::add_identifier(&ctx.state.db, ctx.actor(), id, &parsed).await?;
    Ok(see_other(&format!("/patients/{id}"), "identifiant"))
}

// ---------------------------------------------------------------- debtors

fn debtor_fields(i: &DebtorInput) -> Vec<Field> {
    vec![
        Field::text("kind", "Type de débiteur", &i.kind).required().select(DEBTOR_KINDS),
        Field::text("name", "Nom du débiteur", &i.name).hint("Vide pour le patient lui-même."),
        Field::text("relationship", "Lien avec le patient", &i.relationship).hint("ex. conjoint, père, tuteur — obligatoire pour un proche, un assuré ou un tuteur."),
        Field::text("address_line1", "Adresse", &i.address_line1),
        Field::text("address_line2", "Complément d'adresse", &i.address_line2),
        Field::text("postcode", "Code postal", &i.postcode),
        Field::text("city", "Commune", &i.city),
        Field::text("country", "Pays", &i.country),
        Field::text("phone", "Téléphone", &i.phone),
        Field::text("email", "Courriel", &i.email).email(),
        Field::text("guarantees", "Charges garanties", &i.guarantees).required().checkboxes(GUARANTEES),
        Field::checkbox("is_default", "Débiteur par défaut", i.is_default),
    ]
}

async fn debtor_form(ctx: &Ctx, id: i64, edit: Option<DebtorEdit>, i: &DebtorInput, errors: &FieldErrors, conflict: Option<&str>) -> Response {
    let mut fields = debtor_fields(i);
    let action = match edit {
        Some(d) => {
            fields.insert(0, Field::hidden("version", &d.version.to_string()));
            format!("/patients/{id}/debiteurs/{}/modifier", d.id)
        }
        None => format!("/patients/{id}/debiteurs/nouveau"),
    };
    FormPage {
        chrome: ctx.chrome("Débiteur").await,
        heading: if edit.is_some() { "Modifier le débiteur".into() } else { "Ajouter un débiteur".into() },
        intro: conflict.map(stale_intro),
        action,
        fields: with_errors(fields, errors),
        submit: "Enregistrer".into(),
        cancel: Some(format!("/patients/{id}")),
        error_count: errors.0.len(),
    }
    .response(form_status(errors, conflict))
}

pub async fn debtor_new(ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let input = DebtorInput { kind: "patient".into(), guarantees: "sejour,actes,forfait_journalier,chambre_particuliere,prestations_annexes".into(), ..Default::default() };
    Ok(debtor_form(&ctx, id, None, &input, &FieldErrors::new(), None).await)
}

pub async fn debtor_create(Path(id): Path<i64>, CsrfForm(ctx, input): CsrfForm<DebtorInput>) -> PageResult {
    let saved = match patients::parse_debtor(&input) {
        Ok(d) => patients::save_debtor(&ctx.state.db, ctx.actor(), id, None, &d).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/patients/{id}"), "debiteur")),
        Err(Error::Invalid(errs)) => Ok(debtor_form(&ctx, id, None, &input, &errs, None).await),
        Err(e) => Err(PageError(e)),
    }
}

pub async fn debtor_edit(ctx: Ctx, Path((id, did)): Path<(i64, i64)>) -> PageResult {
    patients::check_write(&ctx.state.db, ctx.actor(), id).await?;
    let file = patients::get(&ctx.state.db, ctx.actor(), id).await?;
    let d = file.debtors.iter().find(|d| d.id == did).ok_or(Error::NotFound("Débiteur"))?;
    let edit = DebtorEdit { id: did, version: d.version };
    Ok(debtor_form(&ctx, id, Some(edit), &patients::debtor_input(d), &FieldErrors::new(), None).await)
}

#[derive(Deserialize)]
pub struct DebtorEditForm {
    #[serde(flatten)]
    input: DebtorInput,
    #[serde(default)]
    version: String,
}

pub async fn debtor_update(Path((id, did)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<DebtorEditForm>) -> PageResult {
    let edit = DebtorEdit { id: did, version: f.version.trim().parse::<i64>().unwrap_or(0) };
    let saved = match patients::parse_debtor(&f.input) {
        Ok(d) => patients::save_debtor(&ctx.state.db, ctx.actor(), id, Some(edit), &d).await,
        Err(e) => Err(Error::Invalid(e)),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("/patients/{id}"), "debiteur")),
        Err(Error::Invalid(errs)) => Ok(debtor_form(&ctx, id, Some(edit), &f.input, &errs, None).await),
        Err(Error::Conflict(m)) => {
            let file = patients::get(&ctx.state.db, ctx.actor(), id).await?;
            let d = file.debtors.iter().find(|d| d.id == did).ok_or(Error::NotFound("Débiteur"))?;
            let current = DebtorEdit { id: did, version: d.version };
            Ok(debtor_form(&ctx, id, Some(current), &f.input, &FieldErrors::new(), Some(&m)).await)
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Where a readiness failure is fixed (`identity`, `debtors`, `pec`, `documents`, else coverage).
pub(crate) fn fix_link(patient_id: i64, fix: &str) -> String {
    match fix {
        "identity" => format!("/patients/{patient_id}/modifier"),
        "debtors" => format!("/patients/{patient_id}/debiteurs/nouveau"),
        "pec" => format!("/patients/{patient_id}/pec/nouvelle"),
        "documents" => format!("/patients/{patient_id}/documents/nouveau"),
        _ => format!("/patients/{patient_id}/droits/nouveau"),
    }
}
