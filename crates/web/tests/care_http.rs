//! Payers, stays, coverage rights, the billing-readiness checklist and the
//! « Dossiers en attente » queue over HTTP: pages, forms, exports and the JSON API,
//! driven through the router without a socket (one seeded SQLite per test).

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;

use axum::http::{Method, StatusCode};
use common::fixtures::{at_site, debtor_input, op, person, stay_input, validated};
use common::{TestApp, csrf_from_html, field, field_error, filter, form_fields, fr, html_tags, html_unescape, id_after, plain, refs, scalar, section, set_field, xlsx_text};
use jiff::civil::Date;
use quittance_domain::readiness::{CONTROLS, Rules};
use flow::coverages::{self, CoverageInput};
use flow::establishments as est;
use quittance_store::patients::{self, Patient};
use flow::stays::{self, StayInput};
use quittance_store::{args, readiness};
use flow::payers;
use serde_json::json;

// ---------------------------------------------------------------- helpers

struct Ids {
    hsm: i64,
    dpass: i64,
    med: i64,
    chir: i64,
    rs: i64,
    md: i64,
    cpam: i64,
    mgen: i64,
    cafat: i64,
}

async fn ids(app: &TestApp) -> Ids {
    let list = app.establishments().await;
    let id_of = |code: &str| list.iter().find(|e| e.code == code).unwrap_or_else(|| panic!("establishment {code}")).id;
    let (hsm, dpass) = (id_of("HSM"), id_of("DPASS-PS"));
    let mut sites = est::list_sites(&app.db, &op(), hsm).await.unwrap();
    sites.extend(est::list_sites(&app.db, &op(), dpass).await.unwrap());
    let site = |code: &str| sites.iter().find(|s| s.code == code).unwrap_or_else(|| panic!("site {code}")).id;
    let mut ps = payers::list(&app.db, &op(), hsm).await.unwrap();
    ps.extend(payers::list(&app.db, &op(), dpass).await.unwrap());
    let payer = |code: &str| ps.iter().find(|p| p.code == code).unwrap_or_else(|| panic!("payer {code}")).id;
    Ids {
        hsm,
        dpass,
        med: site("MED"),
        chir: site("CHIR"),
        rs: site("CMS-RS"),
        md: site("CMS-MD"),
        cpam: payer("CPAM69"),
        mgen: payer("MGEN"),
        cafat: payer("CAFAT"),
    }
}

/// The readiness rules without the prise-en-charge control (a feature of its own):
/// here the checklist is about identity, debtor and coverage.
async fn without_pec(app: &TestApp, est_id: i64) {
    readiness::save_rules(&app.db, &op(), est_id, &Rules { pec_required: false, ..Rules::default() }).await.expect("save rules");
}

fn today() -> Date {
    jiff::Zoned::now().date()
}

fn days(n: i64) -> Date {
    today().checked_add(jiff::Span::new().days(n)).unwrap()
}

/// A validated file at `site` with a debtor at a full address and a current full
/// hospitalisation admitted five days ago, without any coverage.
async fn file_without_coverage(app: &TestApp, est_id: i64, site: i64, name: &str) -> (Patient, i64) {
    let input = validated(at_site(person(name, "Camille", "12/05/1975", "F"), site));
    let p = common::typed::create(&app.db, &op(), est_id, &input).await.expect("create the file");
    common::typed::save_debtor(&app.db, &op(), p.id, None, &debtor_input()).await.expect("debtor");
    let stay = StayInput { admission_time: "09:15".into(), planned_discharge_date: fr(days(10)), ..stay_input(site, &fr(days(-5))) };
    let s = stays::save(&app.db, &op(), p.id, None, 0, &stay).await.expect("stay");
    (p, s.id)
}

fn coverage(payer: i64, role: &str, from: Date, to: Option<Date>) -> CoverageInput {
    CoverageInput { payer_id: payer.to_string(), role: role.into(), valid_from: fr(from), valid_to: to.map(fr).unwrap_or_default(), ..Default::default() }
}


// ---------------------------------------------------------------- payers pages

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payer_pages_for_the_technicien() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let cookie = app.login_demo("technicien").await;

    let r = app.get("/organismes", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    for name in ["CPAM du Rhône", "MSA Ain-Rhône", "MGEN", "Harmonie Mutuelle", "Mutuelle nationale des hospitaliers"] {
        assert!(html.contains(name), "{name} listed");
    }
    assert!(!html.contains("CAFAT — RUAMM") && !html.contains(&format!("href=\"/organismes/{}\"", ids.cafat)), "only the payers of the current establishment");
    assert!(html.contains("href=\"/organismes/nouveau\""), "the technicien may create payers");
    assert!(html.contains(&format!("href=\"/organismes/{}\"", ids.cpam)));
    assert!(html.contains("B2 / NOEMIE") && html.contains("Mensuel (J+15)"), "labels, not codes");
    assert!(html.contains("href=\"/organismes\" aria-current=\"page\""), "« Organismes » in the navigation");

    let r = app.get("/organismes.csv", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/csv"));
    let csv = r.text();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "Code;Nom;Type;Identifiant;Délai de paiement (j);Périodicité des états;Délai d'envoi (j);Canal;Compte;État");
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines.iter().any(|l| l.starts_with("CPAM69;CPAM du Rhône;Assurance obligatoire")), "{csv}");

    // The payer's page: facts and dated rates.
    let r = app.get(&format!("/organismes/{}", ids.cpam), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("<h1>CPAM du Rhône</h1>"), "{html}");
    assert!(html.contains(&format!("href=\"/organismes/{}/modifier\"", ids.cpam)));
    let rates = plain(&html[html.find("Taux par défaut").unwrap()..]);
    assert!(rates.contains("Séjour 80 % 01/01/2020 —") && rates.contains("Actes 70 % 01/01/2020 —"), "{rates}");
    assert!(html.contains(&format!("action=\"/organismes/{}/taux\"", ids.cpam)), "the rate form");

    // A new séjour rate closes the previous one the day before.
    let csrf = csrf_from_html(&html).unwrap();
    let v = payers::get(&app.db, &op(), ids.cpam).await.unwrap().version.to_string();
    let r = app
        .post_form(&format!("/organismes/{}/taux", ids.cpam), Some(&cookie), &[("_csrf", &csrf), ("version", &v), ("category", "sejour"), ("rate", "82,5 %"), ("valid_from", "01/01/2027")])
        .await;
    assert!(r.is_redirect_to(&format!("/organismes/{}", ids.cpam)), "{} {:?}", r.status, r.location());
    let page = plain(&app.get(&format!("/organismes/{}", ids.cpam), Some(&cookie)).await.text());
    assert!(page.contains("Séjour 80 % 01/01/2020 31/12/2026") && page.contains("Séjour 82,5 % 01/01/2027 —"), "{page}");
    // An earlier start is refused with the French message on the page (422).
    let v = payers::get(&app.db, &op(), ids.cpam).await.unwrap().version.to_string();
    let r = app
        .post_form(&format!("/organismes/{}/taux", ids.cpam), Some(&cookie), &[("_csrf", &csrf), ("version", &v), ("category", "sejour"), ("rate", "90"), ("valid_from", "01/06/2026")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html_unescape(&r.text()).contains("Un taux de cette catégorie commence déjà à cette date ou après."), "{}", r.text());
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM payer_rates WHERE payer_id = $1", &args![ids.cpam]).await, 3);

    // The edit form, filled with the payer, saved.
    let r = app.get(&format!("/organismes/{}/modifier", ids.cpam), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let action = format!("/organismes/{}/modifier", ids.cpam);
    let mut form = form_fields(&r.text(), &action);
    assert_eq!(field(&form, "code"), Some("CPAM69"));
    assert_eq!(field(&form, "kind"), Some("obligatoire"));
    assert_eq!(field(&form, "channel"), Some("b2_noemie"));
    assert_eq!(field(&form, "active"), Some("true"));
    set_field(&mut form, "contact_name", "Service des relations avec les établissements");
    set_field(&mut form, "payment_terms_days", "45");
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to(&format!("/organismes/{}", ids.cpam)), "{}: {}", r.status, r.text());
    let p = payers::get(&app.db, &op(), ids.cpam).await.unwrap();
    assert_eq!((p.payment_terms_days, p.contact_name.as_deref(), p.code.as_str()), (45, Some("Service des relations avec les établissements"), "CPAM69"));
    let rows = app.audit(filter("payer", "update", "ok")).await;
    assert!(rows.iter().any(|r| r.actor == "technicien" && r.entity_id.as_deref() == Some(ids.cpam.to_string().as_str()) && r.request_id.is_some()), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payer_form_errors_are_shown_next_to_the_fields() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let cookie = app.login_demo("technicien").await;
    let r = app.get("/organismes/nouveau", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut form = form_fields(&r.text(), "/organismes/nouveau");
    assert_eq!(field(&form, "kind"), Some("complementaire"), "default kind");
    for (k, v) in [("code", "MUTEST"), ("name", "Mutuelle de l'Est"), ("kind", "mutuelle"), ("email", "contact.mutuelle-est.fr"), ("accounting_account", "41A2"), ("payment_terms_days", "400")] {
        set_field(&mut form, k, v);
    }
    let n = scalar(&app, "SELECT COUNT(*) FROM payers", &[]).await;
    let r = app.post_form("/organismes/nouveau", Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(html.contains("4 erreurs empêchent l'enregistrement") || html_unescape(&html).contains("4 erreurs empêchent l'enregistrement"), "{html}");
    assert_eq!(field_error(&html, "kind").as_deref(), Some("Type d'organisme inconnu."));
    assert_eq!(field_error(&html, "email").as_deref(), Some("Adresse électronique invalide."));
    assert_eq!(field_error(&html, "accounting_account").as_deref(), Some("Compte comptable : chiffres uniquement (ex. 4111)."));
    assert_eq!(field_error(&html, "payment_terms_days").as_deref(), Some("Nombre de jours entre 0 et 365."));
    assert_eq!(field_error(&html, "name"), None);
    // The fields in error are marked, and what was typed is kept.
    let tags = html_tags(&html);
    for name in ["email", "accounting_account", "payment_terms_days"] {
        let input = tags.iter().find(|(t, a)| t == "input" && a.get("name").map(String::as_str) == Some(name)).unwrap_or_else(|| panic!("input {name}"));
        assert_eq!(input.1.get("aria-invalid").map(String::as_str), Some("true"), "{name}");
        assert_eq!(input.1.get("aria-describedby").map(String::as_str), Some(format!("e-{name}").as_str()));
    }
    let kept = form_fields(&html, "/organismes/nouveau");
    assert_eq!(field(&kept, "email"), Some("contact.mutuelle-est.fr"));
    assert_eq!(field(&kept, "name"), Some("Mutuelle de l'Est"));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM payers", &[]).await, n, "nothing written");

    // Fixed, it is created and shown.
    let mut form = kept;
    for (k, v) in [("kind", "complementaire"), ("email", "tiers-payant@mutuelle-est.fr"), ("accounting_account", "4112"), ("payment_terms_days", "45")] {
        set_field(&mut form, k, v);
    }
    let r = app.post_form("/organismes/nouveau", Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let id = id_after(&r, "/organismes/");
    let page = app.get(&r.location().unwrap(), Some(&cookie)).await.text();
    assert!(html_unescape(&page).contains("Mutuelle de l'Est") && page.contains("Enregistrement créé."), "{page}");
    let p = payers::get(&app.db, &op(), id).await.unwrap();
    assert_eq!((p.establishment_id, p.code.as_str(), p.payment_terms_days), (ids.hsm, "MUTEST", 45));

    // The same code again: refused next to the code.
    let r = app.post_form("/organismes/nouveau", Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&r.text(), "code").as_deref(), Some("Ce code d'organisme existe déjà."));
    // Without the CSRF token: refused.
    let mut no_csrf = form.clone();
    no_csrf.retain(|(k, _)| k != "_csrf");
    assert_eq!(app.post_form("/organismes/nouveau", Some(&cookie), &refs(&no_csrf)).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payer_pages_are_read_only_for_the_secretary_and_the_comptable() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let n = scalar(&app, "SELECT COUNT(*) FROM payers", &[]).await;
    let rates = scalar(&app, "SELECT COUNT(*) FROM payer_rates", &[]).await;
    for (user, own, other) in [("secretaire", ids.cafat, ids.cpam), ("comptable", ids.cpam, ids.cafat)] {
        let cookie = app.login_demo(user).await;
        let r = app.get("/organismes", Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{user} reads the list");
        let html = r.text();
        assert!(!html.contains("href=\"/organismes/nouveau\""), "{user}: no creation link");
        let r = app.get(&format!("/organismes/{own}"), Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{user} reads a payer");
        let html = r.text();
        assert!(!html.contains("/modifier\"") && !html.contains("/taux\""), "{user}: neither edit link nor rate form");
        let csrf = csrf_from_html(&html).expect("a logged-in page carries the token");

        assert_eq!(app.get("/organismes/nouveau", Some(&cookie)).await.status, StatusCode::FORBIDDEN, "{user}");
        assert_eq!(app.get(&format!("/organismes/{own}/modifier"), Some(&cookie)).await.status, StatusCode::FORBIDDEN, "{user}");
        let r = app.post_form("/organismes/nouveau", Some(&cookie), &[("_csrf", &csrf), ("code", "PIRATE"), ("kind", "autre"), ("name", "Pirate")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}: {}", r.text());
        assert!(html_unescape(&r.text()).contains("Accès refusé"));
        let r = app
            .post_form(&format!("/organismes/{own}/modifier"), Some(&cookie), &[("_csrf", &csrf), ("code", "PIRATE"), ("kind", "autre"), ("name", "Pirate")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}");
        let r = app.post_form(&format!("/organismes/{own}/taux"), Some(&cookie), &[("_csrf", &csrf), ("category", "sejour"), ("rate", "1"), ("valid_from", "01/01/2030")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}");
        // A payer of an establishment the user has no role in: not even readable.
        assert_eq!(app.get(&format!("/organismes/{other}"), Some(&cookie)).await.status, if user == "comptable" { StatusCode::OK } else { StatusCode::FORBIDDEN });
        let refused: Vec<String> = app
            .audit(quittance_store::audit::AuditFilter { actor: Some(user.into()), entity: Some("payer".into()), outcome: Some("refused".into()), ..Default::default() })
            .await
            .into_iter()
            .map(|r| r.action)
            .collect();
        for a in ["create", "update", "add_rate"] {
            assert!(refused.iter().any(|x| x == a), "{user}: refusal of {a} audited: {refused:?}");
        }
    }
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM payers", &[]).await, n, "nothing created");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM payer_rates", &[]).await, rates);
    assert_eq!(payers::get(&app.db, &op(), ids.cpam).await.unwrap().name, "CPAM du Rhône");
    assert_eq!(payers::get(&app.db, &op(), ids.cafat).await.unwrap().name, "CAFAT — RUAMM");
}

// ---------------------------------------------------------------- patient page, stays and coverages

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patient_page_shows_stays_coverages_flags_and_the_checklist() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    without_pec(&app, ids.hsm).await;
    let cookie = app.login_demo("technicien").await;
    let (p, _) = file_without_coverage(&app, ids.hsm, ids.med, "Vernier").await;

    let html = app.get(&format!("/patients/{}", p.id), Some(&cookie)).await.text();
    for h in ["Éléments déclencheurs de la facturation", "Séjours", "Droits"] {
        assert!(html.contains(&format!(">{h}</h2>")), "heading {h}");
    }
    let check = plain(section(&html, "h-controle"));
    assert!(check.contains(&format!("Séjour du {} 09:15 — incomplet", fr(days(-5)))), "{check}");
    assert!(check.contains("Pas de droit obligatoire valide sur chaque jour") && check.contains("Pas de complémentaire"), "{check}");
    assert!(!check.contains("prêt à facturer"));
    let links: Vec<String> = html_tags(section(&html, "h-controle")).into_iter().filter_map(|(t, a)| (t == "a").then(|| a.get("href").cloned().unwrap_or_default())).collect();
    assert_eq!(links, [format!("/patients/{}/droits/nouveau", p.id), format!("/patients/{}/droits/nouveau", p.id)], "« Corriger » leads to the coverage form");
    let stays = plain(section(&html, "h-sejours"));
    assert!(stays.contains("Médecine interne") && stays.contains("Hospitalisation complète"), "{stays}");
    assert!(stays.contains(&format!("présent (sortie prévue le {})", fr(days(10)))), "{stays}");
    assert!(plain(section(&html, "h-droits")).contains("Aucun droit enregistré."));

    // Coverages: an expired one, a gap, a current one, a complementary expiring soon.
    coverages::save(&app.db, &op(), p.id, None, 0, &coverage(ids.cpam, "obligatoire", days(-400), Some(days(-30)))).await.unwrap();
    coverages::save(&app.db, &op(), p.id, None, 0, &coverage(ids.cpam, "obligatoire", days(-20), None)).await.unwrap();
    coverages::save(&app.db, &op(), p.id, None, 0, &coverage(ids.mgen, "complementaire", days(-365), Some(days(10)))).await.unwrap();
    let html = app.get(&format!("/patients/{}", p.id), Some(&cookie)).await.text();
    let droits = section(&html, "h-droits");
    let flags: Vec<String> = droits.split("<p class=\"badge warn\" role=\"status\">").skip(1).map(|s| html_unescape(&s[..s.find("</p>").unwrap()])).collect();
    assert_eq!(
        flags,
        [
            format!("Aucun droit obligatoire du {} au {}.", fr(days(-29)), fr(days(-21))),
            format!("Droit expiré le {}.", fr(days(-30))),
            format!("Droit expirant le {}.", fr(days(10))),
        ],
        "the flags, in French"
    );
    let table = plain(droits);
    assert!(table.contains("CPAM du Rhône Obligatoire"), "{table}");
    assert!(table.contains("MGEN Complémentaire"), "{table}");
    assert!(table.contains("80 % / 70 % / 0 % / 0 % / 0 %"), "the CPAM defaults: {table}");
    assert!(table.contains("20 % / 30 % / 100 % / 0 % / 0 %"), "the MGEN defaults: {table}");
    assert!(table.contains(&format!("du {} au {}", fr(days(-400)), fr(days(-30)))), "{table}");
    let check = plain(section(&html, "h-controle"));
    assert!(check.contains("prêt à facturer") && check.contains("Tous les contrôles sont satisfaits."), "{check}");
    assert!(html.contains("data-testid=\"pret\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stay_forms_create_and_edit_with_the_version() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let cookie = app.login_demo("technicien").await;
    let mut input = person("Séjourné", "Hugo", "03/03/1963", "M");
    input.site_id = ids.med.to_string();
    let p = common::typed::create(&app.db, &op(), ids.hsm, &input).await.unwrap();

    let new = format!("/patients/{}/sejours/nouveau", p.id);
    let r = app.get(&new, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    let select = &html[html.find("<select id=\"f-site_id\"").unwrap()..];
    let options: Vec<String> = html_tags(&select[..select.find("</select>").unwrap()])
        .into_iter()
        .filter_map(|(t, a)| (t == "option").then(|| a.get("value").cloned().unwrap_or_default()))
        .collect();
    let mut hsm_sites: Vec<String> = est::list_sites(&app.db, &op(), ids.hsm).await.unwrap().into_iter().map(|s| s.id.to_string()).collect();
    hsm_sites.sort();
    let mut got = options.clone();
    got.sort();
    assert_eq!(got, hsm_sites, "the HSM sites only");
    let mut form = form_fields(&html, &new);
    assert_eq!(field(&form, "care_mode"), Some("hospitalisation_complete"));
    assert_eq!(field(&form, "admission_date"), Some(fr(today()).as_str()), "today by default");
    assert!(field(&form, "version").is_none(), "no version on a new stay");

    // A discharge without its mode, before the admission: errors next to the fields.
    set_field(&mut form, "site_id", &ids.chir.to_string());
    set_field(&mut form, "admission_date", "10/11/2026");
    set_field(&mut form, "admission_time", "10:00");
    set_field(&mut form, "discharge_date", "09/11/2026");
    let r = app.post_form(&new, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert_eq!(field_error(&html, "discharge_mode").as_deref(), Some("Indiquez le mode de sortie."));
    assert_eq!(field_error(&html, "discharge_date").as_deref(), Some("La sortie précède l'admission."));
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM stays WHERE patient_id = $1", &args![p.id]).await, 0);

    set_field(&mut form, "discharge_date", "");
    set_field(&mut form, "planned_discharge_date", "20/11/2026");
    let r = app.post_form(&new, Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to(&format!("/patients/{}", p.id)), "{}: {}", r.status, r.text());
    let list = stays::list(&app.db, &op(), p.id).await.unwrap();
    assert_eq!(list.len(), 1);
    let s = &list[0];
    assert_eq!((s.site_id, s.admission_at.as_str(), s.planned_discharge_date.as_deref(), s.version), (ids.chir, "2026-11-10T10:00", Some("2026-11-20"), 1));
    let files = scalar(&app, "SELECT COUNT(*) FROM patient_sites WHERE patient_id = $1 AND site_id = $2", &args![p.id, ids.chir]).await;
    assert_eq!(files, 1, "the file is attached to the stay's site");
    let page = app.get(&format!("/patients/{}", p.id), Some(&cookie)).await.text();
    assert!(page.contains(&format!("href=\"/patients/{}/sejours/{}/modifier\"", p.id, s.id)));

    // The edit form carries the version as a hidden field.
    let edit = format!("/patients/{}/sejours/{}/modifier", p.id, s.id);
    let html = app.get(&edit, Some(&cookie)).await.text();
    assert!(html.contains("<input type=\"hidden\" name=\"version\" value=\"1\">"), "hidden version");
    let mut form = form_fields(&html, &edit);
    assert_eq!((field(&form, "admission_date"), field(&form, "admission_time"), field(&form, "site_id")), (Some("10/11/2026"), Some("10:00"), Some(ids.chir.to_string().as_str())));
    let stale = form.clone();
    set_field(&mut form, "discharge_date", "18/11/2026");
    set_field(&mut form, "discharge_time", "11:30");
    set_field(&mut form, "discharge_mode", "domicile");
    let r = app.post_form(&edit, Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to(&format!("/patients/{}", p.id)), "{}: {}", r.status, r.text());
    let s2 = stays::get(&app.db, &op(), s.id).await.unwrap();
    assert_eq!((s2.version, s2.discharge_at.as_deref(), s2.discharge_mode.map(|m| m.code())), (2, Some("2026-11-18T11:30"), Some("domicile")));
    let page = plain(&app.get(&format!("/patients/{}", p.id), Some(&cookie)).await.text());
    assert!(page.contains("18/11/2026 11:30 — Retour à domicile"), "{page}");
    // The same form sent again with the old version: a conflict, nothing changed.
    let r = app.post_form(&edit, Some(&cookie), &refs(&stale)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(html_unescape(&r.text()).contains("Ce séjour a été modifié par quelqu'un d'autre"));
    assert_eq!(stays::get(&app.db, &op(), s.id).await.unwrap().version, 2);
    let hist: Vec<String> = patients::history(&app.db, &op(), p.id).await.unwrap().into_iter().map(|h| h.action).collect();
    assert_eq!(&hist[..2], ["update_stay", "add_stay"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_forms_add_and_edit() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    without_pec(&app, ids.hsm).await;
    let cookie = app.login_demo("technicien").await;
    let (p, _) = file_without_coverage(&app, ids.hsm, ids.med, "Droitier").await;
    let new = format!("/patients/{}/droits/nouveau", p.id);
    let r = app.get(&new, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    let payer_select = &html[html.find("id=\"f-payer_id\"").unwrap()..html.find("id=\"f-role\"").unwrap()];
    let labels = plain(payer_select);
    assert!(labels.contains("CPAM du Rhône") && labels.contains("MGEN"), "{labels}");
    assert!(!labels.contains("CAFAT"), "payers of the file's establishment only: {labels}");
    let mut form = form_fields(&html, &new);
    assert_eq!(field(&form, "payer_id"), Some(""), "« choisir »");
    assert_eq!(field(&form, "role"), Some("obligatoire"));

    // A complementary role on the CPAM: refused next to the role.
    set_field(&mut form, "payer_id", &ids.cpam.to_string());
    set_field(&mut form, "role", "complementaire");
    set_field(&mut form, "valid_from", &fr(days(-100)));
    let r = app.post_form(&new, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = field_error(&r.text(), "role").unwrap_or_default();
    assert!(e.contains("ne peut pas porter ce rang"), "{e}");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM coverages WHERE patient_id = $1", &args![p.id]).await, 0);

    // The compulsory coverage with the payer's default rates.
    set_field(&mut form, "role", "obligatoire");
    set_field(&mut form, "member_number", "1750569123001");
    let r = app.post_form(&new, Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to(&format!("/patients/{}", p.id)), "{}: {}", r.status, r.text());
    // The complementary one, with a rate typed in French and an exemption.
    let mut amc = form_fields(&app.get(&new, Some(&cookie)).await.text(), &new);
    set_field(&mut amc, "payer_id", &ids.mgen.to_string());
    set_field(&mut amc, "role", "complementaire");
    set_field(&mut amc, "valid_from", &fr(days(-100)));
    set_field(&mut amc, "valid_to", &fr(days(200)));
    set_field(&mut amc, "rate_sejour", "12,5 %");
    amc.push(("exemptions".into(), "maternite".into()));
    let r = app.post_form(&new, Some(&cookie), &refs(&amc)).await;
    assert!(r.is_redirect_to(&format!("/patients/{}", p.id)), "{}: {}", r.status, r.text());

    let list = coverages::list(&app.db, &op(), p.id, today()).await.unwrap();
    assert_eq!(list.lines.len(), 2);
    let cpam = &list.lines.iter().find(|l| l.coverage.payer_id == ids.cpam).unwrap().coverage;
    assert_eq!((cpam.rate_sejour_bp.0, cpam.rate_actes_bp.0, cpam.member_number.as_deref(), cpam.priority), (8000, 7000, Some("1750569123001"), 1));
    let mgen = &list.lines.iter().find(|l| l.coverage.payer_id == ids.mgen).unwrap().coverage;
    assert_eq!((mgen.rate_sejour_bp.0, mgen.rate_actes_bp.0, mgen.rate_fj_bp.0, coverages::as_input(mgen).exemptions.as_str(), mgen.priority), (1250, 3000, 10000, "maternite", 2));
    let page = app.get(&format!("/patients/{}", p.id), Some(&cookie)).await.text();
    assert!(plain(section(&page, "h-controle")).contains("prêt à facturer"), "coverage completes the file");
    assert!(plain(section(&page, "h-droits")).contains("Maternité"));

    // The edit form shows the coverage and saves a change.
    let edit = format!("/patients/{}/droits/{}/modifier", p.id, mgen.id);
    assert!(page.contains(&format!("href=\"{edit}\"")));
    let html = app.get(&edit, Some(&cookie)).await.text();
    let mut form = form_fields(&html, &edit);
    assert_eq!((field(&form, "rate_sejour"), field(&form, "valid_to"), field(&form, "exemptions")), (Some("12,5 %"), Some(fr(days(200)).as_str()), Some("maternite")));
    set_field(&mut form, "valid_to", &fr(days(-1)));
    let r = app.post_form(&edit, Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to(&format!("/patients/{}", p.id)), "{}: {}", r.status, r.text());
    let page = app.get(&format!("/patients/{}", p.id), Some(&cookie)).await.text();
    assert!(html_unescape(section(&page, "h-droits")).contains(&format!("Droit expiré le {}.", fr(days(-1)))), "the flag follows the change");
    assert!(plain(section(&page, "h-controle")).contains("incomplet"), "the complementary no longer covers the stay");
    let rows = app.audit(filter("patient", "update_coverage", "ok")).await;
    assert!(rows.iter().any(|r| r.actor == "technicien" && r.entity_id.as_deref() == Some(p.id.to_string().as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_roles_get_no_stay_or_coverage_forms() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let (p, stay) = file_without_coverage(&app, ids.hsm, ids.med, "Lecture").await;
    let aud = app.login_demo("auditeur").await;
    let html = app.get(&format!("/patients/{}", p.id), Some(&aud)).await.text();
    assert!(html.contains(">Séjours</h2>") && html.contains(">Droits</h2>"), "the auditor reads them");
    assert!(!html.contains("Nouveau séjour") && !html.contains("Ajouter un droit"), "without buttons to change them");
    assert!(!html.contains(&format!("/patients/{}/sejours/{stay}/modifier", p.id)), "nor edit links");
    for path in [format!("/patients/{}/sejours/nouveau", p.id), format!("/patients/{}/sejours/{stay}/modifier", p.id), format!("/patients/{}/droits/nouveau", p.id)] {
        assert_eq!(app.get(&path, Some(&aud)).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let csrf = csrf_from_html(&html).unwrap();
    let r = app
        .post_form(&format!("/patients/{}/droits/nouveau", p.id), Some(&aud), &[("_csrf", &csrf), ("payer_id", &ids.cpam.to_string()), ("role", "obligatoire"), ("valid_from", "01/01/2026")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM coverages WHERE patient_id = $1", &args![p.id]).await, 0);
    // The comptable has no patient access at all.
    let compta = app.login_demo("comptable").await;
    assert_eq!(app.get(&format!("/patients/{}", p.id), Some(&compta)).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_roles_get_no_fix_links_in_the_checklist() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let (p, _) = file_without_coverage(&app, ids.hsm, ids.med, "Correcteur").await;
    let aud = app.login_demo("auditeur").await;
    let html = app.get(&format!("/patients/{}", p.id), Some(&aud)).await.text();
    let check = section(&html, "h-controle");
    assert!(plain(check).contains("incomplet"), "the auditor sees the checklist");
    let links: Vec<String> = html_tags(check).into_iter().filter_map(|(t, a)| (t == "a").then(|| a.get("href").cloned().unwrap_or_default())).collect();
    for href in &links {
        assert_ne!(app.get(href, Some(&aud)).await.status, StatusCode::FORBIDDEN, "« Corriger » leads the auditor to a refused page: {href}");
    }
    assert!(links.is_empty(), "no « Corriger » link for a read-only role: {links:?}");
}

// ---------------------------------------------------------------- « Dossiers en attente »

/// (label, width, count) of each bar of the « Par motif » chart.
fn bars(html: &str) -> Vec<(String, i64, String)> {
    html.split("<div class=\"bar-row\">")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</div>").unwrap()];
            let between = |a: &str, b: &str| {
                let s = row.find(a).unwrap_or_else(|| panic!("{a} in {row}")) + a.len();
                html_unescape(&row[s..s + row[s..].find(b).unwrap()])
            };
            let fg = html_tags(row).into_iter().find(|(t, a)| t == "rect" && a.get("class").map(String::as_str) == Some("bar-fg")).expect("a foreground bar");
            (between("<span class=\"bar-label\">", "</span>"), fg.1["width"].parse().unwrap(), between("<span class=\"bar-value\">", "</span>"))
        })
        .collect()
}

fn paris_today() -> Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap()).date()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_page_counts_by_reason_without_inline_styles_and_exports() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let cookie = app.login_demo("technicien").await;
    // One more file, incomplete only for its coverage.
    let (extra, _) = file_without_coverage(&app, ids.hsm, ids.med, "Attente").await;
    let queue = readiness::queue(&app.db, &op(), ids.hsm, paris_today()).await.unwrap();
    assert!(queue.iter().any(|p| p.patient_id == extra.id));

    let r = app.get("/dossiers-en-attente", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let html = r.text();
    assert!(html.contains("href=\"/dossiers-en-attente\" aria-current=\"page\""));
    // The CSP forbids inline styles: no style attribute, no <style> element.
    let tags = html_tags(&html);
    let styled: Vec<&String> = tags.iter().filter(|(_, a)| a.contains_key("style")).map(|(t, _)| t).collect();
    assert!(styled.is_empty(), "elements with a style attribute: {styled:?}");
    assert!(!tags.iter().any(|(t, _)| t == "style"), "no <style> element");
    assert!(!html.to_ascii_lowercase().contains("style="), "no style= anywhere");

    // One SVG bar per control, counts as the queue says, widths relative to the largest.
    let got = bars(&html);
    assert_eq!(got.len(), CONTROLS.len(), "{got:?}");
    assert_eq!(tags.iter().filter(|(t, a)| t == "svg" && a.get("class").map(String::as_str) == Some("bar")).count(), CONTROLS.len());
    let counts: Vec<usize> = CONTROLS.iter().map(|(c, _)| queue.iter().filter(|p| p.reasons.iter().any(|r| r == c)).count()).collect();
    let max = counts.iter().copied().max().unwrap().max(1);
    assert!(counts.iter().any(|n| *n > 0));
    for ((label, width, count), ((_, l), n)) in got.iter().zip(CONTROLS.iter().zip(&counts)) {
        assert_eq!(label, l);
        assert_eq!(count, &n.to_string(), "{l}");
        assert_eq!(*width, (n * 100 / max) as i64, "{l}");
    }
    assert!(got.iter().any(|(_, w, _)| *w == 100), "the largest bar is full width");
    assert!(html.contains(&format!("<h2>Dossiers ({})</h2>", queue.len())), "total");
    assert!(html.contains(&format!("href=\"/patients/{}\">{}</a>", extra.id, extra.ipp)), "the new file is listed");
    let by_site = plain(&html[html.find("aria-label=\"Par site\"").unwrap()..]);
    assert!(by_site.contains("Médecine interne"), "{by_site}");

    // CSV export: the same rows.
    let r = app.get("/dossiers-en-attente.csv", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/csv"));
    assert!(r.header("content-disposition").is_some_and(|d| d.contains("dossiers-en-attente.csv")));
    let text = r.text();
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["IPP", "Patient", "Site", "Admission", "Motifs", "Détail"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), queue.len());
    let row = rows.iter().find(|r| &r[0] == extra.ipp.as_str()).expect("the new file in the CSV");
    assert_eq!(&row[1], "ATTENTE CAMILLE");
    assert_eq!(&row[2], "Médecine interne");
    assert_eq!(&row[3], fr(days(-5)));
    assert_eq!(&row[4], "Droits obligatoires absents ou incomplets ; Complémentaire absente");
    assert!(row[5].starts_with("Pas de droit obligatoire"), "{:?}", &row[5]);

    // XLSX export: a workbook with the same rows.
    let r = app.get("/dossiers-en-attente.xlsx", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().contains("spreadsheetml"), "{}", r.content_type());
    assert!(r.body.starts_with(b"PK"));
    let xml = xlsx_text(&r.body);
    assert!(xml.contains("Motifs") && xml.contains("Complémentaire absente") && xml.contains("ATTENTE CAMILLE"));
    for p in &queue {
        assert!(xml.contains(&format!(">{}<", p.ipp)), "IPP {} in the workbook", p.ipp);
    }
    let sheet = common::zip_entries(&r.body).into_iter().find(|(n, _)| n == "xl/worksheets/sheet1.xml").expect("one sheet").1;
    assert_eq!(String::from_utf8_lossy(&sheet).matches("<row ").count(), queue.len() + 1, "a header and one row per stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_page_is_scoped_to_the_secretarys_site_and_refused_to_the_comptable() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let (here, _) = file_without_coverage(&app, ids.dpass, ids.rs, "Ici").await;
    let (there, _) = file_without_coverage(&app, ids.dpass, ids.md, "Labas").await;
    let sec = app.login_demo("secretaire").await;
    let r = app.get("/dossiers-en-attente", Some(&sec)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html.contains("DPASS Province Sud"));
    assert!(html.contains(&format!(">{}</a>", here.ipp)), "her site's file");
    assert!(!html.contains(&there.ipp) && !html.contains("LABAS"), "not the other site's file");
    let by_site = plain(&html[html.find("aria-label=\"Par site\"").unwrap()..]);
    assert!(by_site.contains("CMS de Rivière-Salée") && !by_site.contains("CMS du Mont-Dore"), "no other site in the counts: {by_site}");
    let csv = app.get("/dossiers-en-attente.csv", Some(&sec)).await.text();
    assert!(csv.contains(&here.ipp) && !csv.contains(&there.ipp), "{csv}");
    let xml = xlsx_text(&app.get("/dossiers-en-attente.xlsx", Some(&sec)).await.body);
    assert!(xml.contains(&here.ipp) && !xml.contains(&there.ipp));

    let compta = app.login_demo("comptable").await;
    for path in ["/dossiers-en-attente", "/dossiers-en-attente.csv", "/dossiers-en-attente.xlsx"] {
        let r = app.get(path, Some(&compta)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!r.text().contains(&here.ipp));
    }
    let refused = app.audit(filter("readiness", "queue", "refused")).await;
    assert!(refused.iter().filter(|r| r.actor == "comptable").count() >= 3, "{refused:?}");
}

// ---------------------------------------------------------------- API

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_payers_list_create_get_update() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let key = app.api_key("technicien").await;
    let list = format!("/api/v1/payers?establishment_id={}", ids.hsm);

    let r = app.get_api(&list, &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let codes: Vec<String> = r.json().as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap().to_string()).collect();
    assert_eq!(codes.len(), 5);
    assert!(codes.contains(&"CPAM69".to_string()) && !codes.contains(&"CAFAT".to_string()));

    // Field errors as problem+json.
    let bad = json!({ "code": "API1", "kind": "mutuelle", "name": "Mutuelle API", "email": "pas-une-adresse", "payment_terms_days": "400" });
    let r = app.post_json(&list, Some(&key), &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.content_type().starts_with("application/problem+json"), "{}", r.content_type());
    let j = r.json();
    assert_eq!((j["status"].as_u64(), j["title"].as_str()), (Some(422), Some("Saisie invalide")));
    let mut fields: Vec<&str> = j["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["email", "kind", "payment_terms_days"], "{j}");
    assert!(j["errors"].as_array().unwrap().iter().any(|e| e["message"] == "Type d'organisme inconnu."));
    // Malformed JSON: 400.
    let r = app.send(
        axum::http::Request::builder()
            .method(Method::POST)
            .uri(&list)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{\"code\": "))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let good = json!({ "code": "api1", "kind": "complementaire", "name": "Mutuelle API", "email": "tp@mutuelle-api.fr", "channel": "courriel", "accounting_account": "4112" });
    let r = app.post_json(&list, Some(&key), &good).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let id = created["id"].as_i64().unwrap();
    assert_eq!((created["code"].as_str(), created["establishment_id"].as_i64(), created["payment_terms_days"].as_i64()), (Some("API1"), Some(ids.hsm), Some(30)));
    let r = app.post_json(&list, Some(&key), &good).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "duplicate code");
    assert_eq!(r.json()["errors"][0]["field"], "code");

    let r = app.get_api(&format!("/api/v1/payers/{id}"), &key).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["name"], "Mutuelle API");
    let mut changed = good.clone();
    changed["name"] = json!("Mutuelle API Rhône");
    changed["payment_terms_days"] = json!("60");
    let r = app.send_json(Method::PUT, &format!("/api/v1/payers/{id}?version=1"), Some(&key), Some(&changed)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!((r.json()["name"].as_str(), r.json()["payment_terms_days"].as_i64()), (Some("Mutuelle API Rhône"), Some(60)));
    assert_eq!(payers::get(&app.db, &op(), id).await.unwrap().name, "Mutuelle API Rhône");
    changed["accounting_account"] = json!("compte");
    let r = app.send_json(Method::PUT, &format!("/api/v1/payers/{id}?version=2"), Some(&key), Some(&changed)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.content_type().starts_with("application/problem+json"));
    assert_eq!(r.json()["errors"][0]["field"], "accounting_account");
    let r = app.get_api("/api/v1/payers/999999", &key).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.content_type().starts_with("application/problem+json"));

    // The comptable reads but does not write; another establishment is refused; no key, 401.
    let compta = app.api_key("comptable").await;
    assert_eq!(app.get_api(&list, &compta).await.status, StatusCode::OK);
    let r = app.post_json(&list, Some(&compta), &json!({ "code": "CPTA", "kind": "autre", "name": "Compta" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.content_type().starts_with("application/problem+json"));
    let r = app.send_json(Method::PUT, &format!("/api/v1/payers/{id}?version=2"), Some(&compta), Some(&good)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_api(&format!("/api/v1/payers?establishment_id={}", ids.dpass), &key).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&list, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(payers::get(&app.db, &op(), id).await.unwrap().name, "Mutuelle API Rhône");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_coverages_and_stays() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let key = app.api_key("technicien").await;
    let (p, stay) = file_without_coverage(&app, ids.hsm, ids.med, "Apiste").await;
    let covs = format!("/api/v1/patients/{}/coverages", p.id);
    let stays_url = format!("/api/v1/patients/{}/stays", p.id);

    let r = app.get_api(&covs, &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), json!({ "lines": [], "flags": [] }));
    let r = app.post_json(&covs, Some(&key), &json!({ "payer_id": ids.cpam.to_string(), "role": "complementaire", "valid_from": "01/01/2026" })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.content_type().starts_with("application/problem+json"));
    assert_eq!(r.json()["errors"][0]["field"], "role");
    let r = app.post_json(&covs, Some(&key), &json!({ "payer_id": ids.cafat.to_string(), "role": "obligatoire", "valid_from": "01/01/2026" })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a payer of another establishment");
    assert_eq!(r.json()["errors"][0]["field"], "payer_id");
    let r = app
        .post_json(&covs, Some(&key), &json!({ "payer_id": ids.cpam.to_string(), "role": "obligatoire", "valid_from": "01/01/2025", "valid_to": "31/03/2025", "rate_actes": "75 %" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let c = r.json();
    assert_eq!((c["rate_sejour_bp"].as_i64(), c["rate_actes_bp"].as_i64(), c["valid_to"].as_str()), (Some(8000), Some(7500), Some("2025-03-31")));
    let r = app.get_api(&covs, &key).await.json();
    assert_eq!(r["lines"][0]["payer_name"], "CPAM du Rhône");
    assert_eq!(r["lines"][0]["coverage"]["id"], c["id"]);
    assert_eq!(r["flags"], json!(["Droit expiré le 31/03/2025."]));

    let r = app.get_api(&stays_url, &key).await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!((list[0]["id"].as_i64(), list[0]["site_id"].as_i64(), list[0]["version"].as_i64()), (Some(stay), Some(ids.med), Some(1)));
    let r = app.post_json(&stays_url, Some(&key), &json!({ "site_id": ids.rs.to_string(), "admission_date": "02/01/2026", "care_mode": "consultation" })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a site of another establishment");
    assert_eq!(r.json()["errors"][0]["field"], "site_id");
    let r = app
        .post_json(&stays_url, Some(&key), &json!({ "site_id": ids.chir.to_string(), "admission_date": "02/01/2026", "admission_time": "14:05", "discharge_date": "02/01/2026", "discharge_time": "16:00", "care_mode": "consultation" }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "discharge_mode");
    let r = app
        .post_json(
            &stays_url,
            Some(&key),
            &json!({ "site_id": ids.chir.to_string(), "admission_date": "02/01/2026", "admission_time": "14:05", "discharge_date": "02/01/2026", "discharge_time": "16:00", "discharge_mode": "domicile", "care_mode": "consultation" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let s = r.json();
    assert_eq!((s["admission_at"].as_str(), s["discharge_at"].as_str(), s["establishment_id"].as_i64()), (Some("2026-01-02T14:05"), Some("2026-01-02T16:00"), Some(ids.hsm)));
    assert_eq!(app.get_api(&stays_url, &key).await.json().as_array().unwrap().len(), 2);

    // Roles and sites.
    let compta = app.api_key("comptable").await;
    assert_eq!(app.get_api(&covs, &compta).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_api(&stays_url, &compta).await.status, StatusCode::FORBIDDEN);
    let aud = app.api_key("auditeur").await;
    assert_eq!(app.get_api(&covs, &aud).await.status, StatusCode::OK);
    let r = app.post_json(&covs, Some(&aud), &json!({ "payer_id": ids.cpam.to_string(), "role": "obligatoire", "valid_from": "01/01/2026" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let sec = app.api_key("secretaire").await;
    assert_eq!(app.get_api(&stays_url, &sec).await.status, StatusCode::FORBIDDEN, "a file of another establishment");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM coverages WHERE patient_id = $1", &args![p.id]).await, 1);
    assert_eq!(app.get_api("/api/v1/patients/999999/stays", &key).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_stay_valuation_explains_each_charge() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let key = app.api_key("technicien").await;
    let (p, _) = file_without_coverage(&app, ids.hsm, ids.med, "Valorise").await;
    let r = app
        .post_json(
            &format!("/api/v1/patients/{}/stays", p.id),
            Some(&key),
            &json!({ "site_id": ids.med.to_string(), "admission_date": "26/02/2026", "admission_time": "08:30", "discharge_date": "02/03/2026",
                     "discharge_time": "14:00", "discharge_mode": "domicile", "care_mode": "hospitalisation_complete" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let stay = r.json()["id"].as_i64().unwrap();
    let r = app.get_api(&format!("/api/v1/stays/{stay}/valuation?date=2026-12-01"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let charges = v["charges"].as_array().unwrap();
    let summary: Vec<(String, i64, i64)> =
        charges.iter().map(|c| (c["code"].as_str().unwrap().to_string(), c["day_count"].as_i64().unwrap(), c["amount_minor"].as_i64().unwrap())).collect();
    assert_eq!(summary, vec![("FJ".into(), 3, 6000), ("FJ".into(), 2, 4600), ("TJP".into(), 4, 460_000)], "{v}");
    assert_eq!(charges[1]["amount"], "46,00 €");
    assert!(charges[1]["explanation"].as_str().unwrap().contains("jour de sortie inclus (art. L174-4 CSS)"));
    assert!(charges[2]["explanation"].as_str().unwrap().contains("présence à minuit"));
    assert_eq!(v["until"], "2026-12-01");
    // Bad input names the field; no right, no valuation.
    let r = app.get_api(&format!("/api/v1/stays/{stay}/valuation?date=01/12/2026"), &key).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "date");
    let compta = app.api_key("comptable").await;
    assert_eq!(app.get_api(&format!("/api/v1/stays/{stay}/valuation"), &compta).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_api("/api/v1/stays/999999/valuation", &key).await.status, StatusCode::NOT_FOUND);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'view_valuation' AND outcome = 'ok' AND entity_id = $1", &args![p.id.to_string()]).await, 1);
    // The comptable's attempt is audited as a refused valuation of that file.
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'view_valuation' AND outcome = 'refused' AND entity_id = $1", &args![p.id.to_string()]).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stay_valuation_page_lists_the_charges_and_what_is_not_billed() {
    let app = TestApp::new().await;
    let ids = ids(&app).await;
    let (p, _) = file_without_coverage(&app, ids.hsm, ids.med, "Pagevalo").await;
    let input = StayInput {
        discharge_date: "16/03/2026".into(),
        discharge_time: "04:00".into(),
        discharge_mode: "deces".into(),
        ..stay_input(ids.med, "12/03/2026")
    };
    let stay = stays::save(&app.db, &op(), p.id, None, 0, &input).await.expect("stay").id;
    let tech = app.login_demo("technicien").await;
    let page = format!("/patients/{}/sejours/{stay}/valorisation", p.id);
    let file = app.get(&format!("/patients/{}", p.id), Some(&tech)).await.text();
    assert!(file.contains(&format!("href=\"{page}\"")), "the file links each stay's valuation");
    let r = app.get(&page, Some(&tech)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = html_unescape(&r.text());
    assert!(html.contains("Valorisation du séjour du 12/03/2026 à 08:30"), "{html}");
    assert!(html.contains("Forfait journalier 23,00\u{a0}€ × 4 jours, du 12/03/2026 au 15/03/2026 (art. L174-4 CSS)"), "{html}");
    assert!(html.contains("92,00\u{a0}€"), "4 × 23 €");
    assert!(html.contains("Forfait journalier non facturé le 16/03/2026 : jour de sortie non facturé : décès"), "{html}");
    let compta = app.login_demo("comptable").await;
    assert_eq!(app.get(&page, Some(&compta)).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_the_payer_coverage_and_stay_endpoints() {
    let app = TestApp::new().await;
    let j = common::openapi(&app).await;
    let paths = &j["paths"];
    common::assert_documented(paths, &[
        ("/api/v1/payers", &["get", "post"][..]),
        ("/api/v1/payers/{id}", &["get", "put"][..]),
        ("/api/v1/patients/{id}/coverages", &["get", "post"][..]),
        ("/api/v1/patients/{id}/stays", &["get", "post"][..]),
        ("/api/v1/patients/{id}/coverages/{cid}", &["put"][..]),
        ("/api/v1/patients/{id}/stays/{sid}", &["put"][..]),
    ]);
    let params: Vec<&str> = paths["/api/v1/payers"]["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(params.contains(&"establishment_id"), "{params:?}");
    assert!(paths["/api/v1/payers"]["post"]["responses"]["422"].is_object(), "the 422 answer is documented");
    let put: Vec<(&str, &str)> =
        paths["/api/v1/payers/{id}"]["put"]["parameters"].as_array().unwrap().iter().map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap())).collect();
    assert!(put.contains(&("version", "query")), "an update names the version it read: {put:?}");
    assert!(paths["/api/v1/payers/{id}"]["put"]["responses"]["409"].is_object(), "the 409 answer is documented");
    for s in ["PayerDto", "PayerBody", "CoverageDto", "CoverageBody", "CoverageSummaryDto", "CoverageLineDto", "StayDto", "StayBody"] {
        assert!(j["components"]["schemas"][s].is_object(), "schema {s}");
    }
    for f in ["code", "kind", "payment_terms_days", "statement_period", "channel", "accounting_account"] {
        assert!(j["components"]["schemas"]["PayerBody"]["properties"][f].is_object(), "PayerBody.{f}");
    }
    for f in ["payer_id", "role", "valid_from", "rate_sejour", "exemptions", "priority"] {
        assert!(j["components"]["schemas"]["CoverageBody"]["properties"][f].is_object(), "CoverageBody.{f}");
    }
}
