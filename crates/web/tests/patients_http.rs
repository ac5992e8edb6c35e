//! The patient administrative file over HTTP: pages, forms, exports and the JSON
//! API, driven through the router without a socket (one seeded SQLite per test).

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::fixtures::{self, at_site, op, person};
use common::{Resp, TestApp, csrf_from_html, field, filter, form_body, form_fields, html_unescape, refs, scalar, set_field, zip_entries};
use quittance_domain::identity::nir_key;
use quittance_store::patients::{self, Patient, PatientInput};
use quittance_store::args;
use serde_json::json;

// ---------------------------------------------------------------- helpers

fn hidden(mut p: PatientInput) -> PatientInput {
    p.non_disclosure = true;
    p
}

/// Creates a file as the local operator.
async fn create(app: &TestApp, est_id: i64, p: PatientInput) -> Patient {
    common::typed::create(&app.db, &op(), est_id, &p).await.unwrap_or_else(|e| panic!("create {}: {e:?}", p.birth_name))
}

async fn patient_count(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM patients", &[]).await
}

async fn stored(app: &TestApp, id: i64) -> Patient {
    let mut tx = app.db.read().await.unwrap();
    let cols = "id, establishment_id, ipp, birth_name, used_name, birth_first_names, first_name, used_first_name, birth_date, \
        birth_date_incomplete, sex, birth_place_code, birth_place_label, identity_status, doc_type, doc_number, doc_expiry, insi_checked, \
        attributes, nir, cafat_number, address_line1, address_line2, postcode, city, country, phone, mobile, email, language, \
        legal_rep_name, legal_rep_relation, legal_rep_phone, date_of_death, non_disclosure, version";
    let p: Patient = tx.one(&format!("SELECT {cols} FROM patients WHERE id = $1"), &args![id]).await.unwrap();
    tx.rollback().await.unwrap();
    p
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Patient ids linked from the `#resultats` block, in order, each once.
fn result_ids(html: &str) -> Vec<i64> {
    let start = html.find("id=\"resultats\"").unwrap_or_else(|| panic!("no #resultats in {html}"));
    let mut out: Vec<i64> = Vec::new();
    let mut rest = &html[start..];
    while let Some(i) = rest.find("href=\"/patients/") {
        rest = &rest[i + "href=\"/patients/".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(id) = digits.parse::<i64>()
            && rest[digits.len()..].starts_with('"')
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

/// The id in a `Location: /patients/{id}?…` redirect.
fn created_id(r: &Resp) -> i64 {
    let loc = r.location().unwrap_or_else(|| panic!("a redirect, got {}: {}", r.status, r.text()));
    loc.trim_start_matches("/patients/").split(['?', '/']).next().unwrap().parse().unwrap_or_else(|_| panic!("location {loc}"))
}

fn nir(body13: &str) -> String {
    format!("{body13}{:02}", nir_key(body13).unwrap())
}

fn nir_wrong_key(body13: &str) -> String {
    let k = nir_key(body13).unwrap();
    format!("{body13}{:02}", if k == 97 { 1 } else { k + 1 })
}

/// The new-file form as the technicien fills it.
fn new_file_form(csrf: &str, site: i64) -> Vec<(String, String)> {
    owned(&[
        ("_csrf", csrf),
        ("site_id", &site.to_string()),
        ("birth_name", "Kerbrat-Ouvrard"),
        ("birth_first_names", "Yann Erwan"),
        ("birth_date", "14/07/1988"),
        ("sex", "M"),
        ("birth_place_code", "69123"),
        ("birth_place_label", "Lyon"),
        ("used_name", ""),
        ("used_first_name", ""),
        ("identity_status", "provisoire"),
        ("doc_type", ""),
        ("doc_number", ""),
        ("doc_expiry", ""),
        ("nir", ""),
        ("cafat_number", ""),
        ("address_line1", "3 rue Victor-Hugo"),
        ("postcode", "69003"),
        ("city", "Lyon"),
        ("country", "France"),
        ("mobile", "06 11 22 33 44"),
        ("date_of_death", ""),
    ])
}

// ---------------------------------------------------------------- search

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_page_and_live_results_fragment() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let cookie = app.login_demo("technicien").await;

    let page = app.get("/patients", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("<h1>Patients</h1>"), "{html}");
    assert!(html.contains("data-live-search=\"/patients/resultats\""));
    assert!(html.contains("id=\"naissance\"") && html.contains("id=\"q\""));
    assert!(html.contains("id=\"resultats\""));
    assert!(html.contains("href=\"/patients/nouveau\""), "the technicien may open files");
    assert!(html.contains("href=\"/patients\" aria-current=\"page\""), "« Patients » in the navigation");
    assert!(!html.contains("Aucun dossier"), "nothing searched yet");

    let a = create(&app, ids.hsm, at_site(person("Quenehervé", "Ana", "12/12/1977", "F"), ids.med)).await;
    let b = create(&app, ids.hsm, person("Quenot", "Bruno", "12/12/1977", "M")).await;
    let c = create(&app, ids.hsm, person("Quentin", "Cyril", "13/12/1977", "M")).await;

    let qs = form_body(&[("q", "que"), ("naissance", "12/12/1977")]);
    let r = app.get(&format!("/patients/resultats?{qs}"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/html"), "{}", r.content_type());
    let body = r.text();
    assert!(body.trim_start().starts_with("<div id=\"resultats\""), "the fragment alone: {body}");
    assert!(!body.contains("<html") && !body.contains("<nav class=\"main-nav\""), "no layout in the fragment");
    assert_eq!(result_ids(&body), [a.id, b.id], "birth date + three letters, ordered by name");
    assert!(body.contains("2 dossier(s)"), "{body}");
    for p in [&a, &b] {
        assert!(body.contains(&format!(">{}</a>", p.ipp)), "IPP {} shown", p.ipp);
    }
    assert!(body.contains("QUENEHERVE") && body.contains("ANA") && body.contains("12/12/1977"), "{body}");
    assert!(!body.contains(&c.ipp));

    // The full page with the same query shows the same rows and keeps what was typed.
    let full = app.get(&format!("/patients?{qs}"), Some(&cookie)).await.text();
    assert_eq!(result_ids(&full), [a.id, b.id]);
    assert!(full.contains("value=\"que\"") && full.contains("value=\"12/12/1977\""), "typed values kept");
    let export = full.find("/patients/export.csv?").map(|i| html_unescape(&full[i..i + full[i..].find('"').unwrap()]));
    assert_eq!(export.as_deref(), Some("/patients/export.csv?q=que&naissance=12/12/1977"), "export links carry the search");

    // Without the date, the three letters find all three.
    let r = app.get("/patients/resultats?q=QUEN&naissance=", Some(&cookie)).await;
    assert_eq!(result_ids(&r.text()), [a.id, b.id, c.id]);
    // A malformed date is explained, and no search runs.
    let r = app.get("/patients/resultats?q=que&naissance=1977", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html_unescape(&r.text()).contains("Date de naissance : format attendu JJ/MM/AAAA"), "{}", r.text());
    assert!(result_ids(&r.text()).is_empty());
    let r = app.get("/patients/resultats?q=quezzz&naissance=", Some(&cookie)).await;
    assert!(r.text().contains("Aucun dossier ne correspond."));

    // The searches are audited with their criteria.
    let rows = app.audit(filter("patient", "search", "ok")).await;
    assert!(rows.iter().any(|r| r.actor == "technicien" && r.changes.contains("1977-12-12") && r.changes.contains("\"que\"")), "{rows:?}");

    // Not logged in: to the login page. No patient access: refused.
    let r = app.get("/patients/resultats?q=que", None).await;
    assert!(r.is_redirect_to("/login"), "{} {:?}", r.status, r.location());
    let compta = app.login_demo("comptable").await;
    let r = app.get("/patients", Some(&compta)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!app.get("/", Some(&compta)).await.text().contains("href=\"/patients\""), "no « Patients » link for the comptable");
}

// ---------------------------------------------------------------- creation

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_file_form_errors_then_creation() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let cookie = app.login_demo("technicien").await;
    let page = app.get("/patients/nouveau", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for f in ["birth_name", "birth_first_names", "birth_date", "sex", "birth_place_code", "site_id", "confirm_duplicate"] {
        assert!(html.contains(&format!("id=\"f-{f}\"")), "field {f} in the form");
    }
    let csrf = csrf_from_html(&html).expect("csrf");
    let before = patient_count(&app).await;
    let creates_before = app.audit(filter("patient", "create", "ok")).await.len();

    // Every strict trait missing: 422, each message next to its field, what was typed kept.
    let mut bad = new_file_form(&csrf, ids.med);
    for f in ["birth_name", "birth_first_names", "birth_date", "sex", "birth_place_code"] {
        set_field(&mut bad, f, "");
    }
    set_field(&mut bad, "city", "Bron");
    let r = app.post_form("/patients/nouveau", Some(&cookie), &refs(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = html_unescape(&r.text());
    for (f, msg) in [
        ("birth_name", "Le nom de naissance est obligatoire."),
        ("birth_first_names", "Au moins un prénom de naissance est obligatoire."),
        ("birth_date", "La date de naissance est obligatoire"),
        ("sex", "Le sexe est obligatoire"),
        ("birth_place_code", "Le lieu de naissance est obligatoire"),
    ] {
        assert!(html.contains(&format!("<p class=\"error\" id=\"e-{f}\">{msg}")), "{f}: {msg}");
        assert!(html.contains(&format!("aria-invalid=\"true\" aria-describedby=\"e-{f}\"")), "{f} marked invalid");
    }
    assert!(html.contains("5 erreurs empêchent l'enregistrement"));
    let kept = form_fields(&r.text(), "/patients/nouveau");
    assert_eq!(field(&kept, "city"), Some("Bron"));
    assert_eq!(field(&kept, "site_id"), Some(ids.med.to_string().as_str()));
    assert_eq!(patient_count(&app).await, before, "nothing created");

    // A wrong NIR key.
    let mut bad = new_file_form(&csrf, ids.med);
    set_field(&mut bad, "nir", &nir_wrong_key("1880769123045"));
    let r = app.post_form("/patients/nouveau", Some(&cookie), &refs(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("<p class=\"error\" id=\"e-nir\">Clé NIR invalide</p>"), "{}", r.text());
    // Without the CSRF token: refused.
    let mut no_csrf = new_file_form(&csrf, ids.med);
    no_csrf.retain(|(k, _)| k != "_csrf");
    assert_eq!(app.post_form("/patients/nouveau", Some(&cookie), &refs(&no_csrf)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(patient_count(&app).await, before);
    assert_eq!(app.audit(filter("patient", "create", "ok")).await.len(), creates_before);

    // Valid: redirect to the new file, which shows its IPP.
    let mut good = new_file_form(&csrf, ids.med);
    set_field(&mut good, "nir", &nir("1880769123045"));
    let r = app.post_form("/patients/nouveau", Some(&cookie), &refs(&good)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let id = created_id(&r);
    assert_eq!(r.location().as_deref(), Some(format!("/patients/{id}?msg=cree").as_str()));
    let p = stored(&app, id).await;
    assert_eq!((p.birth_name.as_str(), p.first_name.as_str(), p.birth_date.as_str()), ("KERBRAT-OUVRARD", "YANN", "1988-07-14"));
    assert_eq!(p.establishment_id, ids.hsm);
    assert_eq!(scalar(&app, "SELECT site_id FROM patient_sites WHERE patient_id = $1", &args![id]).await, ids.med);
    let view = app.get(&r.location().unwrap(), Some(&cookie)).await;
    assert_eq!(view.status, StatusCode::OK);
    let v = view.text();
    assert!(v.contains(&format!("<small>IPP {}</small>", p.ipp)), "{v}");
    assert!(v.contains("KERBRAT-OUVRARD YANN") && v.contains("Enregistrement créé."));
    assert!(v.contains(&nir("1880769123045")));
    assert_eq!(patient_count(&app).await, before + 1);
    let rows = app.audit(filter("patient", "create", "ok")).await;
    assert!(rows.iter().any(|r| r.actor == "technicien" && r.entity_id.as_deref() == Some(id.to_string().as_str())), "{rows:?}");

    // The same traits again: refused, naming the existing IPP; confirmed: flagged.
    let again = new_file_form(&csrf, ids.med);
    let r = app.post_form("/patients/nouveau", Some(&cookie), &refs(&again)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let msg = html_unescape(&r.text());
    let e = msg.find("id=\"e-birth_name\"").expect("error next to the birth name");
    let error = &msg[e..e + msg[e..].find("</p>").expect("end of the error")];
    assert!(error.contains(&format!("IPP {}", p.ipp)) && error.contains("Créer quand même"), "{error}");
    assert_eq!(patient_count(&app).await, before + 1);
    let mut confirmed = again.clone();
    confirmed.push(("confirm_duplicate".into(), "on".into()));
    let r = app.post_form("/patients/nouveau", Some(&cookie), &refs(&confirmed)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let twin = created_id(&r);
    assert_ne!(twin, id);
    assert!(stored(&app, twin).await.attributes.contains(&quittance_domain::identity::IdentityAttribute::DoublonPotentiel));
    assert!(app.get(&format!("/patients/{twin}"), Some(&cookie)).await.text().contains("Doublon potentiel"));
}

// ---------------------------------------------------------------- access

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secretary_only_opens_files_of_her_site() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let cookie = app.login_demo("secretaire").await;
    let hsm = create(&app, ids.hsm, at_site(person("Perimetre", "Hugues", "01/01/1971", "M"), ids.med)).await;
    let md = create(&app, ids.dpass, at_site(person("Perimetre", "Maud", "02/02/1972", "F"), ids.md)).await;
    let rs = create(&app, ids.dpass, at_site(person("Perimetre", "Rose", "03/03/1973", "F"), ids.rs)).await;

    let r = app.get(&format!("/patients/{}", rs.id), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains(&format!("IPP {}", rs.ipp)));
    for p in [&hsm, &md] {
        for path in [format!("/patients/{}", p.id), format!("/patients/{}/modifier", p.id), format!("/patients/{}/debiteurs/nouveau", p.id)] {
            let r = app.get(&path, Some(&cookie)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert!(!r.text().contains(&p.ipp), "nothing of the file leaks on {path}");
        }
        let refused: Vec<_> = app
            .audit(filter("patient", "view", "refused"))
            .await
            .into_iter()
            .filter(|r| r.actor == "secretaire")
            .collect();
        assert!(!refused.is_empty(), "the refusal is audited");
        assert!(refused.iter().all(|r| r.changes.contains("read_patients")), "{refused:?}");
    }
    assert!(app.audit(filter("patient", "view", "refused")).await.iter().any(|r| r.establishment_id == Some(ids.hsm)));
    assert!(app.audit(filter("patient", "view", "refused")).await.iter().any(|r| r.establishment_id == Some(ids.dpass)));
    // Changing it is refused too, and nothing changes.
    let csrf = app.session_csrf(&cookie, "/patients").await;
    let mut f = owned(&[("_csrf", csrf.as_str()), ("version", "1"), ("reason", "essai")]);
    f.extend(owned(&[("birth_name", "Autre"), ("birth_first_names", "Maud"), ("birth_date", "02/02/1972"), ("sex", "F"), ("birth_place_code", "69123")]));
    let r = app.post_form(&format!("/patients/{}/modifier", md.id), Some(&cookie), &refs(&f)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&app, md.id).await.birth_name, "PERIMETRE");

    // Her searches and exports only list the file of her site.
    let r = app.get("/patients/resultats?q=perimetre&naissance=", Some(&cookie)).await;
    assert_eq!(result_ids(&r.text()), [rs.id]);
    let r = app.get(&format!("/patients/resultats?q={}&naissance=", md.ipp), Some(&cookie)).await;
    assert!(result_ids(&r.text()).is_empty());
    let csv = app.get("/patients/export.csv?q=perimetre&naissance=", Some(&cookie)).await.text();
    assert!(csv.contains(&rs.ipp) && !csv.contains(&md.ipp) && !csv.contains(&hsm.ipp), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_disclosure_files_do_not_exist_for_the_secretary() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let nd = create(&app, ids.dpass, hidden(at_site(person("Xolotlan", "Anne", "03/03/1983", "F"), ids.rs))).await;
    let shown = create(&app, ids.dpass, at_site(person("Xolotlan", "Marie", "04/04/1984", "F"), ids.rs)).await;
    let hsm_nd = create(&app, ids.hsm, hidden(at_site(person("Xolotlan", "Paul", "05/05/1985", "M"), ids.med))).await;

    let sec = app.login_demo("secretaire").await;
    let exact = form_body(&[("q", "Xolotlan Anne"), ("naissance", "03/03/1983")]);
    let r = app.get(&format!("/patients/resultats?{exact}"), Some(&sec)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Aucun dossier ne correspond."), "{}", r.text());
    assert!(result_ids(&r.text()).is_empty());
    assert_eq!(result_ids(&app.get("/patients/resultats?q=xolotlan&naissance=", Some(&sec)).await.text()), [shown.id]);
    assert!(result_ids(&app.get(&format!("/patients/resultats?q={}&naissance=", nd.ipp), Some(&sec)).await.text()).is_empty());
    let r = app.get(&format!("/patients/{}", nd.id), Some(&sec)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "as if it did not exist");
    assert!(!r.text().contains("XOLOTLAN") && !r.text().contains(&nd.ipp));
    // The demo's own non-disclosure file at her site is hidden too.
    let demo_nd = scalar(
        &app,
        "SELECT MIN(p.id) FROM patients p JOIN patient_sites s ON s.patient_id = p.id WHERE p.non_disclosure = $1 AND s.site_id = $2 AND p.id <> $3",
        &args![true, ids.rs, nd.id],
    )
    .await;
    assert_eq!(app.get(&format!("/patients/{demo_nd}"), Some(&sec)).await.status, StatusCode::NOT_FOUND);

    // The technicien finds (and opens) the one of his establishment.
    let tech = app.login_demo("technicien").await;
    let r = app.get("/patients/resultats?q=xolotlan+paul&naissance=05%2F05%2F1985", Some(&tech)).await;
    assert_eq!(result_ids(&r.text()), [hsm_nd.id]);
    assert!(r.text().contains("non-divulgation"), "flagged in the results");
    let r = app.get(&format!("/patients/{}", hsm_nd.id), Some(&tech)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Non-divulgation de présence"));
}

// ---------------------------------------------------------------- exports

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_exports_csv_and_xlsx() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let cookie = app.login_demo("technicien").await;
    let mut made = Vec::new();
    for first in ["Alice", "Bruno", "Chloé"] {
        made.push(create(&app, ids.hsm, person("Exportable", first, "01/02/1990", "F")).await);
    }
    let other = create(&app, ids.hsm, person("Exportateur", "Denis", "01/02/1990", "M")).await;

    let r = app.get("/patients/export.csv?q=exportable&naissance=", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/csv"), "{}", r.content_type());
    assert!(r.header("content-disposition").is_some_and(|d| d.contains("attachment") && d.contains("patients.csv")));
    assert!(r.body.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM for spreadsheets");
    let text = r.text();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "IPP;Nom de naissance;Nom utilisé;Prénom;Date de naissance;Sexe;Statut d'identité;NIR;N° CAFAT;Ville;Décès");
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(';').collect()).collect();
    assert_eq!(rows.len(), 3, "{text}");
    for (row, p) in rows.iter().zip(&made) {
        assert_eq!(row[0], p.ipp);
        assert_eq!(row[1], "EXPORTABLE");
        assert_eq!(row[3], p.first_name);
        assert_eq!(row[4], "01/02/1990");
        assert_eq!(row[6], "Identité provisoire");
    }
    assert!(!text.contains(&other.ipp));

    let r = app.get("/patients/export.xlsx?q=exportable&naissance=", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().contains("spreadsheetml"), "{}", r.content_type());
    assert!(r.body.starts_with(b"PK"), "a ZIP file");
    let entries = zip_entries(&r.body);
    assert!(entries.iter().any(|(n, _)| n == "xl/worksheets/sheet1.xml"), "{:?}", entries.iter().map(|e| &e.0).collect::<Vec<_>>());
    let xml: String = entries.iter().filter(|(n, _)| n.ends_with(".xml")).map(|(_, c)| String::from_utf8_lossy(c).into_owned()).collect();
    assert!(xml.contains("Nom de naissance") && xml.contains("EXPORTABLE") && xml.contains("CHLOE"));
    for p in &made {
        assert!(xml.contains(&format!(">{}<", p.ipp)), "IPP {} in the workbook", p.ipp);
    }
    assert!(!xml.contains(&other.ipp), "only the search results");
    let sheet = &entries.iter().find(|(n, _)| n == "xl/worksheets/sheet1.xml").unwrap().1;
    assert_eq!(String::from_utf8_lossy(sheet).matches("<row ").count(), 4, "a header and three rows");
}

// ---------------------------------------------------------------- edit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_form_round_trip_and_reason() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let cookie = app.login_demo("technicien").await;
    let mut p = at_site(person("Allard", "Jules Marcel", "09/09/1979", "M"), ids.med);
    p.identity_status = "validee".into();
    p.doc_type = "carte_identite".into();
    p.doc_number = "123456789012".into();
    p.doc_expiry = "01/01/2031".into();
    p.attributes = "homonyme".into();
    p.city = "Lyon".into();
    p.postcode = "69003".into();
    p.country = "France".into();
    p.mobile = "06 12 34 56 78".into();
    p.email = "jules.allard@example.invalid".into();
    p.legal_rep_name = "Claire Allard".into();
    p.legal_rep_relation = "curatrice".into();
    let p = create(&app, ids.hsm, p).await;
    let path = format!("/patients/{}/modifier", p.id);

    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let form = form_fields(&r.text(), &path);
    for (k, v) in [
        ("version", "1"),
        ("birth_name", "ALLARD"),
        ("birth_first_names", "JULES MARCEL"),
        ("birth_date", "09/09/1979"),
        ("sex", "M"),
        ("identity_status", "validee"),
        ("doc_type", "carte_identite"),
        ("doc_expiry", "01/01/2031"),
        ("attributes", "homonyme"),
        ("reason", ""),
    ] {
        assert_eq!(field(&form, k), Some(v), "{k} in {form:?}");
    }
    assert!(field(&form, "insi_checked").is_none() && field(&form, "non_disclosure").is_none(), "unchecked boxes are not sent");

    // Sent back untouched: accepted and nothing changes (the form loses nothing).
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location().as_deref(), Some(format!("/patients/{}?msg=modifie", p.id).as_str()));
    assert_eq!(stored(&app, p.id).await.version, 1, "no change, no new version");
    let hist = patients::history(&app.db, &op(), p.id).await.unwrap();
    assert_eq!(hist.iter().map(|h| h.action.as_str()).collect::<Vec<_>>(), ["create"]);

    // A strict trait changed without a reason: 422 next to the reason, nothing saved.
    let mut changed = form.clone();
    set_field(&mut changed, "birth_name", "Allart");
    let r = app.post_form(&path, Some(&cookie), &refs(&changed)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = html_unescape(&r.text());
    assert!(html.contains("<p class=\"error\" id=\"e-reason\">Indiquez le motif"), "{html}");
    let again = form_fields(&r.text(), &path);
    assert_eq!((field(&again, "version"), field(&again, "birth_name")), (Some("1"), Some("Allart")), "typed values and version kept");
    assert_eq!(stored(&app, p.id).await.birth_name, "ALLARD");

    // With a reason: saved, shown, and in the history with the reason.
    set_field(&mut changed, "reason", "Nom mal orthographié à l'admission");
    let r = app.post_form(&path, Some(&cookie), &refs(&changed)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let now = stored(&app, p.id).await;
    assert_eq!((now.birth_name.as_str(), now.version), ("ALLART", 2));
    assert_eq!((now.attributes.as_slice(), now.doc_expiry.as_deref()), (&[quittance_domain::identity::IdentityAttribute::Homonyme][..], Some("2031-01-01")), "the rest is kept");
    let page = html_unescape(&app.get(&r.location().unwrap(), Some(&cookie)).await.text());
    assert!(page.contains("ALLART JULES") && page.contains("Modifications enregistrées."), "{page}");
    assert!(page.contains("Modification d'un trait strict") && page.contains("Nom mal orthographié à l'admission"), "history on the page");
    assert!(page.contains(r#""birth_name":["ALLARD","ALLART"]"#), "before and after in the history");
    let rows = app.audit(filter("patient", "identity_change", "ok")).await;
    assert!(rows.iter().any(|r| r.actor == "technicien" && r.changes.contains("\"motif\"")), "{rows:?}");

    // Someone else's form still holding version 1 (with a reason, see the store's
    // ignored test on the order of the checks): conflict, nothing saved.
    let mut stale = form.clone();
    set_field(&mut stale, "city", "Bron");
    set_field(&mut stale, "reason", "Déménagement");
    let r = app.post_form(&path, Some(&cookie), &refs(&stale)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(html_unescape(&r.text()).contains("modifié par quelqu'un d'autre"));
    assert_eq!(stored(&app, p.id).await.city.as_deref(), Some("Lyon"));
}

// ---------------------------------------------------------------- debtors

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debtor_added_through_the_form() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let cookie = app.login_demo("technicien").await;
    let p = create(&app, ids.hsm, at_site(person("Garant", "Lucie", "07/07/2015", "F"), ids.med)).await;
    let path = format!("/patients/{}/debiteurs/nouveau", p.id);
    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let form = form_fields(&r.text(), &path);
    let checked: Vec<&str> = form.iter().filter(|(k, _)| k == "guarantees").map(|(_, v)| v.as_str()).collect();
    assert_eq!(checked, ["sejour", "actes", "forfait_journalier", "chambre_particuliere", "prestations_annexes"], "all guaranteed by default");
    let csrf = field(&form, "_csrf").unwrap().to_string();

    // Several boxes with the same name; a relative's link missing.
    let mut f = owned(&[
        ("_csrf", &csrf),
        ("kind", "assure"),
        ("name", "Marie Garant"),
        ("relationship", ""),
        ("postcode", "69003"),
        ("city", "Lyon"),
        ("guarantees", "sejour"),
        ("guarantees", "actes"),
    ]);
    let r = app.post_form(&path, Some(&cookie), &refs(&f)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("<p class=\"error\" id=\"e-relationship\">Précisez le lien avec le patient.</p>"), "{}", r.text());
    let kept = form_fields(&r.text(), &path);
    let checked: Vec<&str> = kept.iter().filter(|(k, _)| k == "guarantees").map(|(_, v)| v.as_str()).collect();
    assert_eq!(checked, ["sejour", "actes"], "the boxes ticked are kept");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM debtors WHERE patient_id = $1", &args![p.id]).await, 0);

    set_field(&mut f, "relationship", "mère");
    f.push(("guarantees".into(), "forfait_journalier".into()));
    let r = app.post_form(&path, Some(&cookie), &refs(&f)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location().as_deref(), Some(format!("/patients/{}?msg=debiteur", p.id).as_str()));
    let file = patients::get(&app.db, &op(), p.id).await.unwrap();
    assert_eq!(file.debtors.len(), 1);
    let d = &file.debtors[0];
    assert_eq!((d.kind.code(), d.name.as_str(), d.relationship.as_deref()), ("assure", "Marie Garant", Some("mère")));
    assert_eq!(quittance_store::shared::rows::codes_text(&d.guarantees), "actes,forfait_journalier,sejour", "every ticked box");
    assert!(d.is_default, "the first debtor is the default one");
    let page = app.get(&format!("/patients/{}", p.id), Some(&cookie)).await.text();
    assert!(page.contains("Marie Garant") && page.contains("par défaut") && page.contains("Actes, Forfait journalier, Séjour"), "{page}");

    // A second one marked default takes over.
    let second = owned(&[("_csrf", &csrf), ("kind", "patient"), ("name", ""), ("guarantees", "chambre_particuliere"), ("is_default", "on")]);
    let r = app.post_form(&path, Some(&cookie), &refs(&second)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let file = patients::get(&app.db, &op(), p.id).await.unwrap();
    let defaults: Vec<&str> = file.debtors.iter().filter(|d| d.is_default).map(|d| d.name.as_str()).collect();
    assert_eq!(defaults, ["GARANT LUCIE"]);
    let rows = app.audit(filter("patient", "add_debtor", "ok")).await;
    assert_eq!(rows.iter().filter(|r| r.actor == "technicien" && r.entity_id.as_deref() == Some(p.id.to_string().as_str())).count(), 2);

    // The first debtor's form, sent back with another name: only the name changes.
    let first = file.debtors.iter().find(|d| d.kind.code() == "assure").expect("the insured parent").clone();
    let edit = format!("/patients/{}/debiteurs/{}/modifier", p.id, first.id);
    let r = app.get(&edit, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut form = form_fields(&r.text(), &edit);
    assert_eq!(field(&form, "relationship"), Some("mère"));
    assert!(field(&form, "is_default").is_none(), "no longer the default one");
    set_field(&mut form, "name", "Marie Garant-Lopez");
    let r = app.post_form(&edit, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let after = patients::get(&app.db, &op(), p.id).await.unwrap();
    let changed = after.debtors.iter().find(|d| d.id == first.id).unwrap();
    assert_eq!(changed.name, "Marie Garant-Lopez");
    assert_eq!((&changed.guarantees, changed.is_default), (&first.guarantees, false));
    assert_eq!(after.debtors.iter().filter(|d| d.is_default).count(), 1, "still one default debtor");
    let rows = app.audit(filter("patient", "update_debtor", "ok")).await;
    assert!(rows.iter().any(|r| r.changes.contains("Marie Garant-Lopez")), "{rows:?}");
}

// ---------------------------------------------------------------- API

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_create_read_search_update() {
    let app = TestApp::new().await;
    let ids = fixtures::demo_ids(&app.db).await;
    let key = app.api_key("technicien").await;
    let base = format!("/api/v1/patients?establishment_id={}", ids.hsm);

    // No key.
    let r = app.send_json(Method::GET, &format!("{base}&q=apiela"), None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.content_type().starts_with("application/problem+json"));
    assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));

    // Create.
    let input = json!({
        "birth_name": "Apiéla", "birth_first_names": "Jeanne Louise", "birth_date": "21/06/1991", "sex": "F",
        "birth_place_code": "98818", "birth_place_label": "Nouméa", "city": "Lyon", "site_id": ids.med.to_string()
    });
    let r = app.post_json(&base, Some(&key), &input).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let j = r.json();
    let id = j["id"].as_i64().expect("id");
    let ipp = j["ipp"].as_str().expect("ipp").to_string();
    assert_eq!(ipp.len(), 8);
    assert_eq!((j["birth_name"].as_str(), j["first_name"].as_str(), j["version"].as_i64()), (Some("APIELA"), Some("JEANNE"), Some(1)));
    assert_eq!(j["establishment_id"].as_i64(), Some(ids.hsm));

    // Read (audited).
    let r = app.get_api(&format!("/api/v1/patients/{id}"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let file = r.json();
    assert_eq!(file["patient"]["ipp"].as_str(), Some(ipp.as_str()));
    assert_eq!(file["sites"], json!([ids.med]));
    assert_eq!(file["debtors"], json!([]));
    let views = app.audit(filter("patient", "view", "ok")).await;
    assert!(views.iter().any(|v| v.actor.starts_with("technicien#cle") && v.entity_id.as_deref() == Some(id.to_string().as_str())));

    // Search.
    let r = app.get_api(&format!("{base}&q=APIELA"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect::<Vec<_>>(), [id]);
    assert_eq!(j["more"], json!(false));
    let r = app.get_api(&format!("{base}&q=api&birth_date=21%2F06%2F1991"), &key).await;
    assert_eq!(r.json()["items"][0]["ipp"].as_str(), Some(ipp.as_str()));
    let r = app.get_api(&format!("{base}&q={ipp}"), &key).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let r = app.get_api(&base, &key).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"].as_str(), Some("q"));

    // Update with the version read; a stale version is a conflict.
    let patient: Patient = serde_json::from_value(file["patient"].clone()).expect("a Patient");
    let mut change = patients::patient_input(&patient);
    change.city = "Bron".into();
    let r = app.send_json(Method::PUT, &format!("/api/v1/patients/{id}?version=1"), Some(&key), Some(&json!(change))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!((r.json()["city"].as_str(), r.json()["version"].as_i64()), (Some("Bron"), Some(2)));
    change.city = "Vénissieux".into();
    let r = app.send_json(Method::PUT, &format!("/api/v1/patients/{id}?version=1"), Some(&key), Some(&json!(change))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.content_type().starts_with("application/problem+json"));
    assert!(r.json()["type"].as_str().unwrap().ends_with("/conflict"));
    change.city = "Bron".into();
    change.sex = "I".into();
    let r = app.send_json(Method::PUT, &format!("/api/v1/patients/{id}?version=2"), Some(&key), Some(&json!(change))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"].as_str(), Some("reason"));
    change.reason = "Erreur de saisie".into();
    let r = app.send_json(Method::PUT, &format!("/api/v1/patients/{id}?version=2"), Some(&key), Some(&json!(change))).await;
    assert_eq!((r.status, r.json()["sex"].as_str()), (StatusCode::OK, Some("I")));

    // Validation errors name the fields.
    let before = patient_count(&app).await;
    let r = app.post_json(&base, Some(&key), &json!({"city": "Lyon"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.content_type().starts_with("application/problem+json"));
    let j = r.json();
    assert_eq!(j["status"], json!(422));
    let named: BTreeSet<&str> = j["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(named, BTreeSet::from(["birth_name", "birth_first_names", "birth_date", "sex", "birth_place_code"]));
    let mut bad = input.clone();
    bad["nir"] = json!(nir_wrong_key("2910698818001"));
    bad["birth_first_names"] = json!("Odile");
    let r = app.post_json(&base, Some(&key), &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"], json!([{"field": "nir", "message": "Clé NIR invalide"}]));
    assert_eq!(patient_count(&app).await, before);

    // A key without patient access.
    let compta = app.api_key("comptable").await;
    let r = app.post_json(&base, Some(&compta), &input).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.content_type().starts_with("application/problem+json"));
    assert_eq!(app.get_api(&format!("{base}&q=apiela"), &compta).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_api(&format!("/api/v1/patients/{id}"), &compta).await.status, StatusCode::FORBIDDEN);
    let r = app.send_json(Method::PUT, &format!("/api/v1/patients/{id}?version=3"), Some(&compta), Some(&json!(change))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(patient_count(&app).await, before);
    let refused = app.audit(filter("patient", "create", "refused")).await;
    assert!(refused.iter().any(|r| r.actor.starts_with("comptable#cle")), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_the_patient_endpoints() {
    let app = TestApp::new().await;
    let j = common::openapi(&app).await;
    let paths = &j["paths"];
    common::assert_documented(paths, &[
        ("/api/v1/patients", &["get", "post"][..]),
        ("/api/v1/patients/{id}", &["get", "put"][..]),
        ("/api/v1/patients/{id}/debtors", &["post"][..]),
        ("/api/v1/patients/{id}/identifiers", &["post"][..]),
    ]);
    let params: Vec<&str> =
        paths["/api/v1/patients"]["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for p in ["establishment_id", "q", "birth_date", "limit", "offset"] {
        assert!(params.contains(&p), "search parameter {p} in {params:?}");
    }
    let put: Vec<&str> = paths["/api/v1/patients/{id}"]["put"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(put.contains(&"version"), "{put:?}");
    for s in ["Patient", "PatientInput", "PatientFile", "SearchPage", "DebtorInput"] {
        assert!(j["components"]["schemas"][s].is_object(), "schema {s}");
    }
    assert!(j["components"]["schemas"]["PatientInput"]["properties"]["birth_name"].is_object());
}

// ---------------------------------------------------------------- read-only roles

/// A file of the HSM and the auditor's session.
async fn auditor_and_file(app: &TestApp) -> (String, Patient) {
    let ids = fixtures::demo_ids(&app.db).await;
    let p = create(app, ids.hsm, at_site(person("Lecteur", "Paul", "01/01/1970", "M"), ids.med)).await;
    (app.login_demo("auditeur").await, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditor_reads_files_but_cannot_change_them() {
    let app = TestApp::new().await;
    let (aud, p) = auditor_and_file(&app).await;
    let r = app.get(&format!("/patients/{}", p.id), Some(&aud)).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(page.contains(&format!("IPP {}", p.ipp)));
    assert!(!page.contains(&format!("/patients/{}/modifier", p.id)), "no « Modifier » button");
    assert!(!page.contains("/debiteurs/nouveau") && !page.contains("/identifiants"), "no change forms on the page");
    assert!(!app.get("/patients", Some(&aud)).await.text().contains("href=\"/patients/nouveau\""), "no « Nouveau dossier »");
    let csrf = app.session_csrf(&aud, "/patients").await;
    let mut f = owned(&[("_csrf", csrf.as_str()), ("version", "1"), ("reason", "essai")]);
    f.extend(owned(&[("birth_name", "Autre"), ("birth_first_names", "Paul"), ("birth_date", "01/01/1970"), ("sex", "M"), ("birth_place_code", "69123")]));
    let r = app.post_form(&format!("/patients/{}/modifier", p.id), Some(&aud), &refs(&f)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let d = owned(&[("_csrf", csrf.as_str()), ("kind", "patient"), ("guarantees", "sejour")]);
    let r = app.post_form(&format!("/patients/{}/debiteurs/nouveau", p.id), Some(&aud), &refs(&d)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/patients/nouveau", Some(&aud)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&app, p.id).await.version, 1);
    let refused = app.audit(filter("patient", "update", "refused")).await;
    assert!(refused.iter().any(|r| r.actor == "auditeur" && r.changes.contains("write_patients")), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditor_gets_no_change_forms() {
    let app = TestApp::new().await;
    let (aud, p) = auditor_and_file(&app).await;
    for path in [format!("/patients/{}/modifier", p.id), format!("/patients/{}/debiteurs/nouveau", p.id)] {
        assert_eq!(app.get(&path, Some(&aud)).await.status, StatusCode::FORBIDDEN, "{path}");
    }
}
