//! Activity over HTTP: the patient's activity page (acts, subscriptions, valuation in French),
//! recording an act as the DPASS's medical secretary, the form re-shown with the French error
//! next to its field, a role without the right refused; the offers page; the JSON API (acts,
//! subscriptions, units, valuation): 422 naming the field, 409 on a stale version, 403.

mod common;

use axum::http::StatusCode;
use common::fixtures::demo_ids;
use common::{TestApp, field, field_error, form_fields, html_unescape, refs, set_field};
use quittance_store::args;
use serde_json::json;

/// The first DPASS patient with demo acts (attached to CMS-RS) and an HSM patient with the demo
/// TV + telephone subscription.
async fn demo_patients(app: &TestApp) -> (i64, i64, i64) {
    let d = demo_ids(&app.db).await;
    let mut tx = app.db.read().await.unwrap();
    let (cms,): (i64,) = tx.one("SELECT MIN(patient_id) FROM cms_acts WHERE establishment_id = $1", &args![d.dpass]).await.unwrap();
    let (sub, hsm): (i64, i64) = tx.one("SELECT id, patient_id FROM service_subscriptions WHERE establishment_id = $1", &args![d.hsm]).await.unwrap();
    tx.rollback().await.unwrap();
    (cms, hsm, sub)
}

#[tokio::test]
async fn the_activity_page_lists_acts_and_values_them_in_french() {
    let app = TestApp::new().await;
    let (cms, _, _) = demo_patients(&app).await;
    let cookie = app.login_demo("secretaire").await;
    let r = app.get(&format!("/patients/{cms}/activite?du=01%2F11%2F2026&au=30%2F11%2F2026"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = html_unescape(&r.text());
    assert!(html.contains("Valorisation du 01/11/2026 au 30/11/2026"), "{html}");
    assert!(html.contains("Acte infirmier (par coefficient) AMI 2 × 380\u{a0}XPF, le 12/11/2026"), "{html}");
    assert!(html.contains("3\u{202f}500\u{a0}XPF"), "French amounts: {html}");
    assert!(html.contains("Annulé : Saisi en double"), "the cancelled act is shown: {html}");
    assert!(html.contains("href=\"/patients/{cms}/actes/nouveau\"".replace("{cms}", &cms.to_string()).as_str()), "the secretary may record");
    assert!(!html.contains("/prestations/nouveau"), "no TV or telephone offer at the CMS: no « Nouvel abonnement »");
    // The view is audited.
    let rows = app.audit(quittance_store::audit::AuditFilter { action: Some("view_activity".into()), entity_id: Some(cms.to_string()), ..Default::default() }).await;
    assert_eq!(rows.len(), 1);
    // An unreadable period is said above the valuation, which stays shown.
    let r = app.get(&format!("/patients/{cms}/activite?du=31%2F02%2F2026"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html_unescape(&r.text()).contains("Du : Date invalide"), "{}", r.text());
    // The patient file links to it.
    let file = app.get(&format!("/patients/{cms}"), Some(&cookie)).await.text();
    assert!(file.contains(&format!("/patients/{cms}/activite")), "{file}");
}

#[tokio::test]
async fn a_secretary_records_an_act_and_a_bad_date_is_said_next_to_its_field() {
    let app = TestApp::new().await;
    let (cms, _, _) = demo_patients(&app).await;
    let d = demo_ids(&app.db).await;
    let cookie = app.login_demo("secretaire").await;
    let path = format!("/patients/{cms}/actes/nouveau");
    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut form = form_fields(&r.text(), &path);
    for (k, v) in [("site_id", d.rs.to_string().as_str()), ("act_date", "31/02/2026"), ("practitioner", "IDE Tein"), ("code", "AMI"), ("coefficient", "3")] {
        set_field(&mut form, k, v);
    }
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    assert_eq!(field_error(&html, "act_date").as_deref(), Some("Date invalide : le 31/02/2026 n'existe pas"), "{html}");
    assert!(field_error(&html, "code").is_none(), "only the bad field is flagged");
    let again = form_fields(&html, &path);
    assert_eq!((field(&again, "act_date"), field(&again, "coefficient")), (Some("31/02/2026"), Some("3")), "what was typed is kept");
    set_field(&mut form, "act_date", "25/11/2026");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to(&format!("/patients/{cms}/activite")), "{} {}", r.status, r.text());
    let html = html_unescape(&app.get(&format!("/patients/{cms}/activite?du=25%2F11%2F2026&au=25%2F11%2F2026"), Some(&cookie)).await.text());
    assert!(html.contains("AMI 3 × 380\u{a0}XPF, le 25/11/2026") && html.contains("1\u{202f}140\u{a0}XPF"), "{html}");
    // A code without a tariff that day: on the code.
    set_field(&mut form, "act_date", "31/12/2025");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&r.text(), "code").as_deref(), Some("Aucun tarif « AMI » en vigueur le 31/12/2025 pour ce site."));
}

#[tokio::test]
async fn a_role_without_the_right_is_refused() {
    let app = TestApp::new().await;
    let (cms, _, _) = demo_patients(&app).await;
    let cookie = app.login_demo("regisseur").await;
    assert_eq!(app.get(&format!("/patients/{cms}/activite"), Some(&cookie)).await.status, StatusCode::OK, "the régisseur reads the file");
    let page = app.get(&format!("/patients/{cms}/activite"), Some(&cookie)).await.text();
    assert!(!page.contains("/actes/nouveau"), "no button without the right");
    assert_eq!(app.get(&format!("/patients/{cms}/actes/nouveau"), Some(&cookie)).await.status, StatusCode::FORBIDDEN);
    let csrf = app.session_csrf(&cookie, &format!("/patients/{cms}/activite")).await;
    let r = app.post_form(&format!("/patients/{cms}/actes/nouveau"), Some(&cookie), &[("_csrf", &csrf), ("act_date", "25/11/2026"), ("code", "C")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let key = app.api_key("regisseur").await;
    let r = app.post_json(&format!("/api/v1/patients/{cms}/acts"), Some(&key), &json!({ "act_date": "25/11/2026" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // Offers: the technicien reads them, may not add one.
    let tech = app.login_demo("technicien").await;
    let r = app.get("/prestations-annexes", Some(&tech)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = html_unescape(&r.text());
    assert!(html.contains("Médecine interne") && html.contains("TV — Télévision (4,50\u{a0}€)"), "{html}");
    assert!(!html.contains("/prestations-annexes/nouveau"));
    assert_eq!(app.get("/prestations-annexes/nouveau", Some(&tech)).await.status, StatusCode::FORBIDDEN);
    assert!(!app.audit(common::filter("service_offer", "add", "refused")).await.is_empty(), "the refusal is audited");
}

#[tokio::test]
async fn the_api_records_acts_names_the_field_and_values_a_period() {
    let app = TestApp::new().await;
    let (cms, _, _) = demo_patients(&app).await;
    let d = demo_ids(&app.db).await;
    let key = app.api_key("secretaire").await;
    let base = format!("/api/v1/patients/{cms}/acts");
    let body = json!({ "site_id": d.rs.to_string(), "act_date": "2026-11-26", "practitioner": "Dr Wakolo", "code": "c", "coefficient": "abc", "external_id": "API-1" });
    let r = app.post_json(&base, Some(&key), &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.content_type().starts_with("application/problem+json"));
    assert_eq!(r.json()["errors"][0]["field"], "coefficient", "{}", r.text());
    let mut ok = body.clone();
    ok["coefficient"] = json!("");
    let r = app.post_json(&base, Some(&key), &ok).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let act = r.json();
    assert_eq!((act["code"].as_str(), act["date"].as_str()), (Some("C"), Some("2026-11-26")));
    let r = app.post_json(&base, Some(&key), &ok).await;
    assert_eq!((r.status, r.json()["id"].clone()), (StatusCode::OK, act["id"].clone()), "the same external id: the same act");
    // Cancel: a stale version is 409, a missing reason 422.
    let cancel = format!("{base}/{}/cancel", act["id"]);
    let v = act["version"].as_i64().unwrap();
    assert_eq!(app.post_json(&format!("{cancel}?version={}", v + 1), Some(&key), &json!({ "reason": "erreur" })).await.status, StatusCode::CONFLICT);
    let r = app.post_json(&format!("{cancel}?version={v}"), Some(&key), &json!({ "reason": " " })).await;
    assert_eq!((r.status, r.json()["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")));
    // The valuation: charges with French amounts and minor units, notes; dates AAAA-MM-JJ.
    let r = app.get_api(&format!("/api/v1/patients/{cms}/valuation?from=2026-11-01&to=2026-11-30"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let c = v["charges"].as_array().unwrap();
    assert!(c.iter().any(|c| c["code"] == "AMI" && c["amount_minor"] == 760 && c["amount"] == "760 XPF" && c["days"][0] == "2026-11-12"), "{v}");
    assert_eq!(v["currency"], "XPF");
    assert_eq!(v["total_minor"].as_i64(), Some(c.iter().map(|c| c["amount_minor"].as_i64().unwrap()).sum::<i64>()));
    let r = app.get_api(&format!("/api/v1/patients/{cms}/valuation?from=01-11-2026&to=2026-11-31"), &key).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, vec!["from", "to"]);
    assert_eq!(app.get_api(&format!("/api/v1/patients/{cms}/acts"), &key).await.json().as_array().map(Vec::len), Some(6));
}

#[tokio::test]
async fn the_api_opens_closes_subscriptions_and_adds_units() {
    let app = TestApp::new().await;
    let (_, hsm, sub) = demo_patients(&app).await;
    let d = demo_ids(&app.db).await;
    let key = app.api_key("technicien").await;
    let list = app.get_api(&format!("/api/v1/patients/{hsm}/subscriptions"), &key).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let s = list.json()[0].clone();
    assert_eq!((s["id"].as_i64(), s["kind"].as_str(), s["units"].as_array().map(Vec::len)), (Some(sub), Some("tv_telephone"), Some(2)));
    let opened = s["opened_on"].as_str().unwrap().to_string();
    // Units on a day before the opening: 422 on `used_on`.
    let r = app.post_json(&format!("/api/v1/patients/{hsm}/subscriptions/{sub}/units"), Some(&key), &json!({ "used_on": "01/01/2026", "units": "3" })).await;
    assert_eq!((r.status, r.json()["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("used_on")), "{}", r.text());
    let r = app.post_json(&format!("/api/v1/patients/{hsm}/subscriptions/{sub}/units"), Some(&key), &json!({ "used_on": opened, "units": "5" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // Close: stale 409, then closed.
    let v = s["version"].as_i64().unwrap();
    let close = format!("/api/v1/patients/{hsm}/subscriptions/{sub}/close");
    assert_eq!(app.post_json(&format!("{close}?version={}", v + 1), Some(&key), &json!({ "closed_on": opened })).await.status, StatusCode::CONFLICT);
    let r = app.post_json(&format!("{close}?version={v}"), Some(&key), &json!({ "closed_on": opened })).await;
    assert_eq!((r.status, r.json()["closed_on"].as_str()), (StatusCode::OK, Some(opened.as_str())), "{}", r.text());
    // A new subscription at a site without a telephone offer: 422 on `site_id`.
    let r = app.post_json(&format!("/api/v1/patients/{hsm}/subscriptions"), Some(&key), &json!({ "site_id": d.med.to_string(), "kind": "radio", "opened_on": "01/12/2026" })).await;
    assert_eq!((r.status, r.json()["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")));
    // Offers through the API: the technicien reads, may not write.
    let r = app.get_api(&format!("/api/v1/establishments/{}/service-offers", d.hsm), &key).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2), "{}", r.text());
    let r = app.post_json(&format!("/api/v1/establishments/{}/service-offers", d.hsm), Some(&key), &json!({ "site_id": d.med.to_string(), "tv_code": "TV" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_activity_route_is_in_the_openapi_document() {
    let app = TestApp::new().await;
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    for p in [
        "/api/v1/patients/{id}/acts",
        "/api/v1/patients/{id}/acts/{aid}/cancel",
        "/api/v1/establishments/{id}/service-offers",
        "/api/v1/establishments/{id}/service-offers/{oid}",
        "/api/v1/patients/{id}/subscriptions",
        "/api/v1/patients/{id}/subscriptions/{sid}/close",
        "/api/v1/patients/{id}/subscriptions/{sid}/units",
        "/api/v1/patients/{id}/valuation",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing");
    }
}

#[tokio::test]
async fn the_subscription_forms_say_their_errors_and_a_stale_close_is_a_conflict() {
    let app = TestApp::new().await;
    let (cms, hsm, sub) = demo_patients(&app).await;
    let d = demo_ids(&app.db).await;
    let cookie = app.login_demo("technicien").await;
    let path = format!("/patients/{hsm}/prestations/nouveau");
    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut form = form_fields(&r.text(), &path);
    for (k, v) in [("site_id", d.med.to_string().as_str()), ("kind", "tv"), ("debtor", "autre"), ("debtor_name", ""), ("opened_on", "demain")] {
        set_field(&mut form, k, v);
    }
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    assert_eq!(field_error(&html, "debtor_name").as_deref(), Some("Indiquez le nom de la personne qui paie."));
    assert!(field_error(&html, "opened_on").is_some(), "{html}");
    set_field(&mut form, "debtor_name", "Mme Martin (fille)");
    set_field(&mut form, "opened_on", "28/11/2026");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to(&format!("/patients/{hsm}/activite")), "{} {}", r.status, r.text());
    let page = html_unescape(&app.get(&format!("/patients/{hsm}/activite?du=28%2F11%2F2026&au=29%2F11%2F2026"), Some(&cookie)).await.text());
    assert!(page.contains("Mme Martin (fille)") && page.contains("Télévision 4,50\u{a0}€ × 2 jours, du 28/11/2026 au 29/11/2026"), "{page}");
    // Closing with a version read before someone else's change: 409 and the notice.
    let close = format!("/patients/{hsm}/prestations/{sub}/clore");
    let mut form = form_fields(&app.get(&close, Some(&cookie)).await.text(), &close);
    let key = app.api_key("technicien").await;
    let units = app.post_json(&format!("/api/v1/patients/{hsm}/subscriptions/{sub}/units"), Some(&key), &json!({ "used_on": "30/11/2026", "units": "1" })).await;
    assert_eq!(units.status, StatusCode::CREATED, "{}", units.text());
    let v: i64 = field(&form, "version").unwrap().parse().unwrap();
    set_field(&mut form, "version", &(v - 1).to_string());
    set_field(&mut form, "closed_on", "30/11/2026");
    let r = app.post_form(&close, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(html_unescape(&r.text()).contains("modifié par quelqu'un d'autre"));
    // A date before the units: next to the field.
    set_field(&mut form, "version", &v.to_string());
    set_field(&mut form, "closed_on", "29/11/2026");
    let r = app.post_form(&close, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(field_error(&r.text(), "closed_on").is_some_and(|e| e.contains("30/11/2026")), "{}", r.text());
    // The technicien of the hospital may not open a DPASS file's activity.
    assert_eq!(app.get(&format!("/patients/{cms}/activite"), Some(&cookie)).await.status, StatusCode::FORBIDDEN);
}
