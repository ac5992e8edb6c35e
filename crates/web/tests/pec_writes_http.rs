//! PEC pages and API through the router: access decided without writing, stale
//! submits re-shown with their message, parse errors next to their field with the
//! form as submitted.

mod common;

use axum::http::StatusCode;
use common::fixtures::op;
use common::{TestApp, field, form_fields, html_unescape};
use quittance_store::{Db, V, args};

/// A draft request of HSM, sent now: (patient, pec, version).
async fn sent_pec(db: &Db) -> (i64, i64, i64) {
    let mut tx = db.read().await.unwrap();
    let (id, patient): (i64, i64) = tx
        .one(
            "SELECT c.id, c.patient_id FROM cover_authorizations c JOIN establishments e ON e.id = c.establishment_id \
             WHERE e.code = 'HSM' AND c.status = 'brouillon' ORDER BY c.id LIMIT 1",
            &[],
        )
        .await
        .expect("the demo has draft requests at HSM");
    tx.rollback().await.unwrap();
    let d = quittance_store::pec::get(db, &op(), id).await.unwrap();
    let sent = quittance_store::pec::send(db, &op(), id, d.version).await.unwrap();
    (patient, id, sent.version)
}

async fn count(db: &Db, sql: &str, a: Vec<V>) -> i64 {
    let mut tx = db.read().await.unwrap();
    let n = tx.int(sql, &a).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

async fn refusals(db: &Db) -> i64 {
    count(db, "SELECT COUNT(*) FROM audit_log WHERE outcome = 'refused'", args![]).await
}

#[tokio::test]
async fn a_read_only_role_opens_a_pec_page_without_buttons_and_without_a_refusal_row() {
    let app = TestApp::new().await;
    let (patient, id, _) = sent_pec(&app.db).await;
    let page = format!("/patients/{patient}/pec/{id}");

    let auditeur = app.login_demo("auditeur").await;
    let before = refusals(&app.db).await;
    let r = app.get(&page, Some(&auditeur)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(!html.contains("Enregistrer la réponse"), "no answer form for a read-only role");
    assert!(!html.contains("Joindre"), "no attach button for a read-only role");
    assert_eq!(refusals(&app.db).await, before, "opening a page writes no 'refused' audit row");

    let technicien = app.login_demo("technicien").await;
    let html = app.get(&page, Some(&technicien)).await.text();
    assert!(html.contains("Enregistrer la réponse"), "the answer form for a role that may change the file");
    assert_eq!(refusals(&app.db).await, before);
}

#[tokio::test]
async fn a_stale_answer_is_re_shown_with_the_conflict_message_and_what_was_typed() {
    let app = TestApp::new().await;
    let (patient, id, version) = sent_pec(&app.db).await;
    let page = format!("/patients/{patient}/pec/{id}");
    let action = format!("{page}/reponse");
    let cookie = app.login_demo("technicien").await;
    let html = app.get(&page, Some(&cookie)).await.text();
    let mut pairs = form_fields(&html, &action);
    assert_eq!(field(&pairs, "version"), Some(version.to_string().as_str()));
    common::set_field(&mut pairs, "version", &(version - 1).to_string());
    common::set_field(&mut pairs, "status", "acceptee");
    common::set_field(&mut pairs, "agreement_number", "ACC-TAPE");
    common::set_field(&mut pairs, "valid_from", "01/12/2026");
    common::set_field(&mut pairs, "valid_to", "31/12/2026");
    let refs = common::refs(&pairs);
    let r = app.post_form(&action, Some(&cookie), &refs).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let html = html_unescape(&r.text());
    assert!(html.contains("modifié(e) par quelqu'un d'autre"), "the French conflict message: {html}");
    let again = form_fields(&html, &action);
    assert_eq!(field(&again, "agreement_number"), Some("ACC-TAPE"), "what was typed is re-shown");
    assert_eq!(field(&again, "version"), Some(version.to_string().as_str()), "the form now carries the current version");
    let stored = quittance_store::pec::get(&app.db, &op(), id).await.unwrap();
    assert_eq!(stored.version, version, "nothing was written");
    assert!(stored.agreement_number.is_none());
}

#[tokio::test]
async fn a_parse_error_is_shown_next_to_its_field_with_the_boxes_as_submitted() {
    let app = TestApp::new().await;
    let (patient, id, version) = sent_pec(&app.db).await;
    let page = format!("/patients/{patient}/pec/{id}");
    let action = format!("{page}/reponse");
    let cookie = app.login_demo("technicien").await;
    let html = app.get(&page, Some(&cookie)).await.text();
    let fresh = form_fields(&html, &action);
    assert!(fresh.iter().any(|(k, _)| k == "agreed_items"), "a fresh form proposes the requested items");
    // Every box unchecked, a bad date: the page comes back with the boxes unchecked.
    let mut pairs: Vec<(String, String)> = fresh.into_iter().filter(|(k, _)| k != "agreed_items").collect();
    common::set_field(&mut pairs, "status", "partielle");
    common::set_field(&mut pairs, "agreement_number", "ACC-42");
    common::set_field(&mut pairs, "valid_from", "31/02/2026");
    common::set_field(&mut pairs, "valid_to", "31/12/2026");
    let refs = common::refs(&pairs);
    let r = app.post_form(&action, Some(&cookie), &refs).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = html_unescape(&r.text());
    let again = form_fields(&html, &action);
    assert!(!again.iter().any(|(k, _)| k == "agreed_items"), "the boxes are re-shown as submitted (none checked): {again:?}");
    assert_eq!(field(&again, "agreement_number"), Some("ACC-42"));
    assert_eq!(field(&again, "valid_from"), Some("31/02/2026"));
    assert_eq!(field(&again, "status"), Some("partielle"));
    let at = html.find("id=\"f-valid_from\"").expect("the valid_from field");
    let before_field = &html[..at];
    let field_start = before_field.rfind("<div class=\"field").expect("its field block");
    assert!(html[field_start..at].contains("class=\"error\""), "the error sits next to the field");
    assert!(html.contains("href=\"#f-valid_from\">Accord valable du"), "and in the summary with its French label");
    assert!(html.contains("href=\"#f-agreed_items\">Éléments accordés"), "a partial agreement needs at least one item");
    assert_eq!(quittance_store::pec::get(&app.db, &op(), id).await.unwrap().version, version, "nothing was written");
}

#[tokio::test]
async fn the_api_answers_a_stale_version_with_a_french_409_and_keeps_the_json_shape() {
    let app = TestApp::new().await;
    let (_, id, version) = sent_pec(&app.db).await;
    let key = app.api_key("technicien").await;
    let body = serde_json::json!({
        "status": "acceptee", "agreement_number": "ACC-API", "agreed_items": "forfait_journalier",
        "valid_from": "01/12/2026", "valid_to": "31/12/2026"
    });
    let stale = app.post_json(&format!("/api/v1/pec/{id}/answer?version={}", version - 1), Some(&key), &body).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text());
    assert!(stale.content_type().starts_with("application/problem+json"), "{}", stale.content_type());
    assert!(stale.json()["detail"].as_str().unwrap_or_default().contains("par quelqu'un d'autre"), "{}", stale.text());
    let ok = app.post_json(&format!("/api/v1/pec/{id}/answer?version={version}"), Some(&key), &body).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let j = ok.json();
    assert_eq!(j["status"], "acceptee");
    assert_eq!(j["agreement_number"], "ACC-API");
    assert_eq!(j["version"], version + 1);
    assert!(j["estimate_minor"].is_i64() && j["currency"].is_string(), "{j}");
    let bad = app.post_json(&format!("/api/v1/pec/{id}/answer?version={}", version + 1), Some(&key), &serde_json::json!({"status": "oui"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text());
}
