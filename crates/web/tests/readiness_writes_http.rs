//! The readiness rules form carries its version: a stale submit is re-shown with what was
//! typed and the French message, nothing saved.

mod common;

use axum::http::StatusCode;
use common::{TestApp, field, form_fields, html_unescape, set_field};
use quittance_domain::readiness::Rules;
use quittance_store::{Actor, readiness};

#[tokio::test]
async fn a_stale_rules_form_is_re_shown_with_the_message_and_what_was_typed() {
    let app = TestApp::new().await;
    let hsm = app.establishments().await.into_iter().find(|e| e.code == "HSM").expect("HSM").id;
    let page = format!("/admin/etablissements/{hsm}/regles-facturation");
    let admin = app.login_demo("admin").await;
    let html = app.get(&page, Some(&admin)).await.text();
    let mut form = form_fields(&html, &page);
    let shown = field(&form, "version").expect("the form carries the version").to_string();
    // Someone else saves meanwhile.
    let other = Rules { pec_answer_days: 9, ..readiness::current_rules(&app.db, hsm).await.unwrap() };
    readiness::save_rules(&app.db, &Actor::system("autre"), hsm, &other).await.unwrap();
    set_field(&mut form, "pec_answer_days", "44");
    let refs = common::refs(&form);
    let r = app.post_form(&page, Some(&admin), &refs).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = html_unescape(&r.text());
    assert!(html.contains("Ces règles a été modifié(e) par quelqu'un d'autre"), "{html}");
    let again = form_fields(&html, &page);
    assert_eq!(field(&again, "pec_answer_days"), Some("44"), "what was typed is re-shown");
    assert_ne!(field(&again, "version"), Some(shown.as_str()), "with the current version");
    assert_eq!(readiness::current_rules(&app.db, hsm).await.unwrap().pec_answer_days, 9, "the other save is kept");
}
