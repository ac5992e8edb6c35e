//! Stale forms and field errors of the patients, establishments and users pages over HTTP:
//! a form submitted after someone else changed the record is re-shown (409) with what was
//! typed, a French message at the top and the current version; a refused field is shown
//! next to the field. The JSON API answers a stale `?version=` with 409 problem+json.

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;

use axum::http::{Method, StatusCode};
use common::fixtures::{at_site, op, person};
use common::{Resp, TestApp, field, form_fields, html_unescape, refs, set_field};
use quittance_store::access as store_auth;
use flow::establishments::{self as est, EstablishmentInput, SiteInput};
use quittance_store::patients::{self, DebtorEdit, DebtorInput};
use serde_json::json;

async fn hsm(app: &TestApp) -> i64 {
    app.establishments().await.iter().find(|e| e.code == "HSM").expect("HSM").id
}

/// Asserts a stale re-show: 409, the French message at the top, the typed value kept and the
/// form now carrying `version`.
fn assert_stale_reshown(r: &Resp, action: &str, typed: (&str, &str), version: i64) {
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let text = html_unescape(&r.text());
    assert!(text.contains("modifié") && text.contains("quelqu'un d'autre"), "French conflict message: {text}");
    assert!(text.contains("Vos saisies sont conservées") || text.contains("tel qu'il est"), "{text}");
    let form = form_fields(&r.text(), action);
    assert_eq!(field(&form, typed.0), Some(typed.1), "what was typed is re-shown: {form:?}");
    assert_eq!(field(&form, "version"), Some(version.to_string().as_str()), "the current version: {form:?}");
}

#[tokio::test]
async fn a_stale_patient_form_is_reshown_with_what_was_typed() {
    let app = TestApp::new().await;
    let cookie = app.login_demo("technicien").await;
    let est_id = hsm(&app).await;
    let sites = est::list_sites(&app.db, &op(), est_id).await.unwrap();
    let input = at_site(person("Allard", "Jules", "09/09/1979", "M"), sites[0].id);
    let p = common::typed::create(&app.db, &op(), est_id, &input).await.unwrap();
    let path = format!("/patients/{}/modifier", p.id);
    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut form = form_fields(&r.text(), &path);
    assert_eq!(field(&form, "version"), Some("1"));

    // Someone else saves first.
    let mut other = patients::patient_input(&p);
    other.city = "Bron".into();
    common::typed::update(&app.db, &op(), p.id, p.version, &other).await.unwrap();

    set_field(&mut form, "city", "Vénissieux");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_stale_reshown(&r, &path, ("city", "Vénissieux"), 2);
    let now = patients::get(&app.db, &op(), p.id).await.unwrap().patient;
    assert_eq!(now.city.as_deref(), Some("Bron"), "the other change is kept");

    // Not a dead end: the re-shown form saves.
    let form = form_fields(&r.text(), &path);
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(patients::get(&app.db, &op(), p.id).await.unwrap().patient.city.as_deref(), Some("Vénissieux"));
}

#[tokio::test]
async fn debtor_forms_carry_their_version_and_show_errors_next_to_fields() {
    let app = TestApp::new().await;
    let cookie = app.login_demo("technicien").await;
    let est_id = hsm(&app).await;
    let sites = est::list_sites(&app.db, &op(), est_id).await.unwrap();
    let input = at_site(person("Blanc", "Léa", "01/01/1990", "F"), sites[0].id);
    let p = common::typed::create(&app.db, &op(), est_id, &input).await.unwrap();
    let d = common::typed::save_debtor(&app.db, &op(), p.id, None, &DebtorInput { kind: "patient".into(), guarantees: "sejour".into(), ..Default::default() })
        .await
        .unwrap();
    let path = format!("/patients/{}/debiteurs/{}/modifier", p.id, d.id);
    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut form = form_fields(&r.text(), &path);
    assert_eq!(field(&form, "version"), Some("1"));

    // A relative without the relationship: 422, the error next to the field, the name kept.
    set_field(&mut form, "kind", "proche");
    set_field(&mut form, "name", "Paul Blanc");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("id=\"e-relationship\""), "error next to the field: {}", r.text());
    assert!(html_unescape(&r.text()).contains("Lien avec le patient : Précisez le lien"), "and in the summary with its label");
    assert_eq!(field(&form_fields(&r.text(), &path), "name"), Some("Paul Blanc"));

    // Someone else changes the debtor; the form (version 1) is stale.
    let other = DebtorInput { city: "Bron".into(), ..patients::debtor_input(&d) };
    common::typed::save_debtor(&app.db, &op(), p.id, Some(DebtorEdit { id: d.id, version: d.version }), &other).await.unwrap();
    set_field(&mut form, "relationship", "frère");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_stale_reshown(&r, &path, ("name", "Paul Blanc"), 2);
    let now = patients::get(&app.db, &op(), p.id).await.unwrap().debtors;
    assert_eq!((now[0].city.as_deref(), now[0].kind.code()), (Some("Bron"), "patient"), "the stale form changed nothing");
}

#[tokio::test]
async fn stale_establishment_site_and_series_forms_and_duplicate_codes() {
    let app = TestApp::new().await;
    let cookie = app.login_demo("admin").await;
    let est_id = hsm(&app).await;
    let e = est::get(&app.db, &op(), est_id).await.unwrap();

    // Establishment: stale form re-shown, then a duplicate code next to the field.
    let path = format!("/admin/etablissements/{est_id}/modifier");
    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut form = form_fields(&r.text(), &path);
    assert_eq!(field(&form, "version"), Some(e.version.to_string().as_str()));
    let mut other = est::as_input(&e);
    other.phone = "04 00 00 00 00".into();
    est::update(&app.db, &op(), est_id, e.version, &other).await.unwrap();
    set_field(&mut form, "name", "Hôpital renommé");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_stale_reshown(&r, &path, ("name", "Hôpital renommé"), e.version + 1);
    let mut form = form_fields(&r.text(), &path);
    set_field(&mut form, "code", "DPASS-PS");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a duplicate code is a field error, not a 500: {}", r.text());
    assert!(r.text().contains("id=\"e-code\"") && html_unescape(&r.text()).contains("Ce code est déjà utilisé"), "{}", r.text());

    // Site.
    let s = est::list_sites(&app.db, &op(), est_id).await.unwrap().remove(0);
    let path = format!("/admin/etablissements/{est_id}/sites/{}/modifier", s.id);
    let r = app.get(&path, Some(&cookie)).await;
    let mut form = form_fields(&r.text(), &path);
    est::update_site(&app.db, &op(), est_id, s.id, s.version, &SiteInput { city: "Bron".into(), ..est::site_as_input(&s) }).await.unwrap();
    set_field(&mut form, "name", "Site renommé");
    let r = app.post_form(&path, Some(&cookie), &refs(&form)).await;
    assert_stale_reshown(&r, &path, ("name", "Site renommé"), s.version + 1);

    // Series: the edit link fills the form with the series and its version; a stale save
    // is re-shown; a new series with an existing code is a field error.
    let page = format!("/admin/etablissements/{est_id}");
    let action = format!("/admin/etablissements/{est_id}/series");
    let series = est::list_series(&app.db, &op(), est_id).await.unwrap();
    let fac = series.iter().find(|s| s.code == "FAC").expect("FAC series");
    let r = app.get(&format!("{page}?serie=FAC"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut form = form_fields(&r.text(), &action);
    assert_eq!((field(&form, "code"), field(&form, "version")), (Some("FAC"), Some(fac.version.to_string().as_str())));
    est::save_series(&app.db, &op(), est_id, Some(fac.version), "FAC", "Factures patients", &fac.mask).await.unwrap();
    set_field(&mut form, "label", "Factures (nouveau libellé)");
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert_stale_reshown(&r, &action, ("label", "Factures (nouveau libellé)"), fac.version + 1);
    let r = app.post_form(&action, Some(&cookie), &[("_csrf", field(&form, "_csrf").unwrap()), ("code", "FAC"), ("label", "Autre"), ("mask", "X-{N:4}")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("id=\"e-code\""), "{}", r.text());
    let now = est::list_series(&app.db, &op(), est_id).await.unwrap();
    assert_eq!(now.iter().find(|s| s.code == "FAC").unwrap().label, "Factures patients");
}

#[tokio::test]
async fn a_stale_user_action_reshows_the_account_as_it_is() {
    let app = TestApp::new().await;
    let cookie = app.login_demo("admin").await;
    let id = app.user_id("technicien").await;
    let path = format!("/admin/utilisateurs/{id}");
    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let toggle = form_fields(&r.text(), &format!("{path}/etat"));
    let (u, _) = store_auth::get_user(&app.db, &op(), id).await.unwrap();
    assert_eq!(field(&toggle, "version"), Some(u.version.to_string().as_str()));
    // Someone else renames the account meanwhile: the « disable » click is stale.
    store_auth::update_user(&app.db, &op(), id, u.version, "Technicien renommé", "").await.unwrap();
    let r = app.post_form(&format!("{path}/etat"), Some(&cookie), &refs(&toggle)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let text = html_unescape(&r.text());
    assert!(text.contains("quelqu'un d'autre") && text.contains("Technicien renommé"), "{text}");
    assert!(!store_auth::get_user(&app.db, &op(), id).await.unwrap().0.disabled, "nothing changed");
    // The page re-shown carries the current version: the click now goes through.
    let toggle = form_fields(&r.text(), &format!("{path}/etat"));
    let r = app.post_form(&format!("{path}/etat"), Some(&cookie), &refs(&toggle)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(store_auth::get_user(&app.db, &op(), id).await.unwrap().0.disabled);
}

#[tokio::test]
async fn api_updates_take_the_version_and_answer_409() {
    let app = TestApp::new().await;
    let key = app.api_key("admin").await;
    let est_id = hsm(&app).await;
    let e = est::get(&app.db, &op(), est_id).await.unwrap();
    let body = serde_json::to_value(EstablishmentInput { phone: "04 11 11 11 11".into(), ..est::as_input(&e) }).unwrap();
    let path = format!("/api/v1/establishments/{est_id}?version={}", e.version);
    let r = app.send_json(Method::PUT, &path, Some(&key), Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["version"], json!(e.version + 1));
    let r = app.send_json(Method::PUT, &path, Some(&key), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.content_type().starts_with("application/problem+json"), "{}", r.content_type());
    assert!(r.text().contains("modifié"), "{}", r.text());
    // A duplicate code over the API: 422 naming the field.
    let dup = serde_json::to_value(EstablishmentInput { code: "DPASS-PS".into(), ..est::as_input(&e) }).unwrap();
    let r = app.send_json(Method::PUT, &format!("/api/v1/establishments/{est_id}?version={}", e.version + 1), Some(&key), Some(&dup)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("\"code\""), "{}", r.text());
}
