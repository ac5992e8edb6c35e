//! Care's write path over HTTP: a stale coverage, stay or payer form is re-shown with what
//! was typed and a French message (409), never a dead end; a parse error is re-shown next
//! to its field; the API's updates take `?version=N` and answer 409 problem+json.

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;

use axum::http::{Method, StatusCode};
use common::fixtures::{self, at_site, person};
use common::{TestApp, field, field_error, form_fields, html_unescape, refs, set_field};
use flow::coverages::{self, CoverageInput};
use flow::payers;
use flow::stays::{self, StayInput};
use quittance_store::{Actor};
use flow::establishments as est;
use serde_json::json;

fn op() -> Actor {
    Actor::system("autre-agent")
}

struct Place {
    hsm: i64,
    med: i64,
    cpam: i64,
    patient: i64,
}

async fn place(app: &TestApp) -> Place {
    let list = app.establishments().await;
    let hsm = list.iter().find(|e| e.code == "HSM").expect("HSM").id;
    let med = est::list_sites(&app.db, &op(), hsm).await.unwrap().into_iter().find(|s| s.code == "MED").expect("MED").id;
    let cpam = fixtures::payer_id(&app.db, hsm, "CPAM69").await;
    let input = at_site(person("CONCURRENT", "Alix", "12/05/1975", "F"), med);
    let patient = common::typed::create(&app.db, &op(), hsm, &input).await.expect("create the file").id;
    Place { hsm, med, cpam, patient }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_coverage_form_is_reshown_with_what_was_typed() {
    let app = TestApp::new().await;
    let p = place(&app).await;
    let c = coverages::save(
        &app.db,
        &op(),
        p.patient,
        None,
        0,
        &CoverageInput { payer_id: p.cpam.to_string(), role: "obligatoire".into(), valid_from: "01/01/2026".into(), ..Default::default() },
    )
    .await
    .unwrap();
    let cookie = app.login_demo("technicien").await;
    let edit = format!("/patients/{}/droits/{}/modifier", p.patient, c.id);
    let mut form = form_fields(&app.get(&edit, Some(&cookie)).await.text(), &edit);
    assert_eq!(field(&form, "version"), Some("1"), "the form carries the version it shows");

    // Another agent changes the coverage meanwhile.
    let other = CoverageInput { member_number: "999".into(), ..coverages::as_input(&c) };
    coverages::save(&app.db, &op(), p.patient, Some(c.id), c.version, &other).await.unwrap();

    set_field(&mut form, "member_number", "1750569123001");
    let r = app.post_form(&edit, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let html = html_unescape(&r.text());
    assert!(html.contains("Ce droit a été modifié par quelqu'un d'autre"), "{html}");
    let again = form_fields(&r.text(), &edit);
    assert_eq!(field(&again, "member_number"), Some("1750569123001"), "what was typed is kept");
    assert_eq!(field(&again, "version"), Some("2"), "the form now names the current version");
    let now = coverages::get(&app.db, &op(), p.patient, c.id).await.unwrap();
    assert_eq!((now.member_number.as_deref(), now.version), (Some("999"), 2), "the other agent's change is not reverted");

    // Saving the re-shown form replaces it knowingly.
    let r = app.post_form(&edit, Some(&cookie), &refs(&again)).await;
    assert!(r.is_redirect_to(&format!("/patients/{}", p.patient)), "{}: {}", r.status, r.text());
    let now = coverages::get(&app.db, &op(), p.patient, c.id).await.unwrap();
    assert_eq!((now.member_number.as_deref(), now.version), (Some("1750569123001"), 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coverage_parse_error_is_reshown_next_to_its_field() {
    let app = TestApp::new().await;
    let p = place(&app).await;
    let cookie = app.login_demo("technicien").await;
    let new = format!("/patients/{}/droits/nouveau", p.patient);
    let mut form = form_fields(&app.get(&new, Some(&cookie)).await.text(), &new);
    set_field(&mut form, "payer_id", &p.cpam.to_string());
    set_field(&mut form, "member_number", "1750569123001");
    set_field(&mut form, "valid_from", "31/02/2026");
    set_field(&mut form, "rate_sejour", "120 %");
    let r = app.post_form(&new, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text();
    assert!(field_error(&html, "valid_from").is_some(), "error next to the date: {html}");
    assert!(field_error(&html, "rate_sejour").unwrap_or_default().contains("100"), "error next to the rate");
    assert!(html_unescape(&html).contains("Droits ouverts du :"), "the summary names the field by its French label");
    let again = form_fields(&html, &new);
    assert_eq!((field(&again, "valid_from"), field(&again, "member_number")), (Some("31/02/2026"), Some("1750569123001")), "re-shown as typed");
    assert!(coverages::list(&app.db, &op(), p.patient, jiff::civil::date(2026, 6, 1)).await.unwrap().lines.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_stay_form_is_reshown_with_409() {
    let app = TestApp::new().await;
    let p = place(&app).await;
    let input = StayInput {
        site_id: p.med.to_string(),
        admission_date: "02/03/2026".into(),
        admission_time: "08:30".into(),
        care_mode: "hospitalisation_complete".into(),
        ..Default::default()
    };
    let s = stays::save(&app.db, &op(), p.patient, None, 0, &input).await.unwrap();
    let cookie = app.login_demo("technicien").await;
    let edit = format!("/patients/{}/sejours/{}/modifier", p.patient, s.id);
    let mut form = form_fields(&app.get(&edit, Some(&cookie)).await.text(), &edit);
    stays::save(&app.db, &op(), p.patient, Some(s.id), s.version, &StayInput { planned_discharge_date: "10/03/2026".into(), ..input.clone() })
        .await
        .unwrap();
    set_field(&mut form, "planned_discharge_date", "20/03/2026");
    let r = app.post_form(&edit, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(html_unescape(&r.text()).contains("Ce séjour a été modifié par quelqu'un d'autre"));
    assert_eq!(field(&form_fields(&r.text(), &edit), "planned_discharge_date"), Some("20/03/2026"));
    assert_eq!(stays::get(&app.db, &op(), s.id).await.unwrap().planned_discharge_date.as_deref(), Some("2026-03-10"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payer_forms_and_api_refuse_a_stale_version() {
    let app = TestApp::new().await;
    let p = place(&app).await;
    let cookie = app.login_demo("technicien").await;
    let edit = format!("/organismes/{}/modifier", p.cpam);
    let mut form = form_fields(&app.get(&edit, Some(&cookie)).await.text(), &edit);
    let v = payers::get(&app.db, &op(), p.cpam).await.unwrap().version;
    assert_eq!(field(&form, "version"), Some(v.to_string().as_str()));

    // A rate added from another page bumps the payer's version: the edit form is stale.
    let page = format!("/organismes/{}", p.cpam);
    let mut rate = form_fields(&app.get(&page, Some(&cookie)).await.text(), &format!("/organismes/{}/taux", p.cpam));
    assert_eq!(field(&rate, "version"), Some(v.to_string().as_str()));
    set_field(&mut rate, "category", "sejour");
    set_field(&mut rate, "rate", "85");
    set_field(&mut rate, "valid_from", "01/01/2030");
    let r = app.post_form(&format!("/organismes/{}/taux", p.cpam), Some(&cookie), &refs(&rate)).await;
    assert!(r.is_redirect_to(&page), "{}: {}", r.status, r.text());
    // The same rate form submitted twice (stale): 409, the typed values kept.
    let r = app.post_form(&format!("/organismes/{}/taux", p.cpam), Some(&cookie), &refs(&rate)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("value=\"01/01/2030\""), "the typed date is re-shown");

    set_field(&mut form, "name", "CPAM de Lyon");
    let r = app.post_form(&edit, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(html_unescape(&r.text()).contains("Cet organisme a été modifié par quelqu'un d'autre"));
    assert_eq!(field(&form_fields(&r.text(), &edit), "name"), Some("CPAM de Lyon"));
    assert_ne!(payers::get(&app.db, &op(), p.cpam).await.unwrap().name, "CPAM de Lyon");

    // A rate parse error is shown next to its field, with what was typed.
    set_field(&mut rate, "version", &(v + 1).to_string());
    set_field(&mut rate, "rate", "douze");
    let r = app.post_form(&format!("/organismes/{}/taux", p.cpam), Some(&cookie), &refs(&rate)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&r.text(), "rate").is_some(), "{}", r.text());
    assert!(r.text().contains("value=\"douze\""));

    // API: the version read, or 409 problem+json.
    let key = app.api_key("technicien").await;
    let body = json!({ "code": "CPAM69", "kind": "obligatoire", "name": "CPAM (API)" });
    let r = app.send_json(Method::PUT, &format!("/api/v1/payers/{}?version=1", p.cpam), Some(&key), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.content_type().starts_with("application/problem+json"));
    let now = payers::get(&app.db, &op(), p.cpam).await.unwrap();
    let r = app.send_json(Method::PUT, &format!("/api/v1/payers/{}?version={}", p.cpam, now.version), Some(&key), Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["version"].as_i64(), Some(now.version + 1));
    assert_eq!(payers::get(&app.db, &op(), p.cpam).await.unwrap().establishment_id, p.hsm);
}
