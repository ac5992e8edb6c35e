//! A stay's movements and costly acts over HTTP: the page lists them, the forms re-show their
//! French errors next to the field, a write from a stale page is refused with a notice, a line
//! is cancelled with a reason and stays listed, a role without the right is refused, and the
//! JSON API answers 422 naming the field, 409 on a stale version; the preview then shows the
//! shares.

mod common;

use axum::http::StatusCode;
use common::fixtures::{demo_ids, op};
use common::{TestApp, field_error, html_unescape};
use serde_json::json;

/// A validated HSM file with a stay in Médecine from 02/11/2026 09:00: (patient, stay, version).
async fn file(app: &TestApp) -> (i64, i64, i64) {
    let f = common::browser::JourneyFile {
        name: "MOUVEMENT",
        first_names: "Alice",
        born: "03/04/1961",
        doc_number: "X4RTBPFW4",
        address: "12 rue de la République",
        admitted_days_ago: 3,
        admission_time: "09:00",
        leaves_in_days: 2,
    };
    let (p, sid) = common::browser::journey_file(&app.db, &f).await;
    let s = quittance_store::care::stays::get(&app.db, &op(), sid).await.unwrap();
    (p.id, sid, s.version)
}

#[tokio::test]
async fn movements_are_recorded_checked_and_cancelled_from_the_page() {
    let app = TestApp::new().await;
    let (pid, sid, v) = file(&app).await;
    let cookie = app.login_demo("technicien").await;
    let base = format!("/patients/{pid}/sejours/{sid}");
    let r = app.get(&format!("{base}/mouvements"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(html_unescape(&r.text()).contains("Aucun mouvement enregistré."));
    let csrf = app.session_csrf(&cookie, &format!("{base}/mouvements/nouveau")).await;
    let today = jiff::Zoned::now().date();
    let fr = |d: jiff::civil::Date| quittance_domain::fr::format_date_fr(d);
    let day = |n: i64| fr(today.checked_sub(jiff::Span::new().days(n)).unwrap());

    // A leave of more than 48 hours: the error next to « Fin le », nothing written.
    let leave = [("_csrf", csrf.as_str()), ("version", &v.to_string()), ("kind", "permission"), ("start_date", &day(3)), ("start_time", "10:00"), ("end_date", &day(0)), ("end_time", "10:00")];
    let r = app.post_form(&format!("{base}/mouvements/nouveau"), Some(&cookie), &leave).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&r.text(), "end_date").unwrap_or_default().contains("48 heures"), "{}", r.text());

    // A private room at the patient's written request.
    let vs = v.to_string();
    let room = [("_csrf", csrf.as_str()), ("version", vs.as_str()), ("kind", "chambre_particuliere"), ("start_date", &day(3)), ("start_time", "09:00"), ("written_request", "on")];
    let r = app.post_form(&format!("{base}/mouvements/nouveau"), Some(&cookie), &room).await;
    assert!(r.is_redirect_to(&format!("{base}/mouvements?msg=mouvement")), "{:?} {}", r.status, r.text());
    // The same page sent again (its version is now stale): refused with the notice, 409.
    let r = app.post_form(&format!("{base}/mouvements/nouveau"), Some(&cookie), &room).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(html_unescape(&r.text()).contains("modifié par quelqu'un d'autre"));
    let act = quittance_store::care::movements::activity(&app.db, &op(), sid).await.unwrap();
    assert_eq!(act.movements.len(), 1, "written once");
    let html = html_unescape(&app.get(&format!("{base}/mouvements"), Some(&cookie)).await.text());
    assert!(html.contains("Chambre particulière à la demande du patient") && html.contains("demande écrite du patient au dossier"), "{html}");

    // Cancelling needs a reason; with one, the line stays listed as cancelled.
    let mid = act.movements[0].movement.id;
    let nv = act.stay.version.to_string();
    let r = app.post_form(&format!("{base}/mouvements/{mid}/annuler"), Some(&cookie), &[("_csrf", &csrf), ("version", &nv), ("reason", " ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html_unescape(&r.text()).contains("Indiquez le motif"));
    let r = app.post_form(&format!("{base}/mouvements/{mid}/annuler"), Some(&cookie), &[("_csrf", &csrf), ("version", &nv), ("reason", "saisie en double")]).await;
    assert!(r.is_redirect_to(&format!("{base}/mouvements?msg=annule")), "{:?} {}", r.status, r.text());
    let html = html_unescape(&app.get(&format!("{base}/mouvements"), Some(&cookie)).await.text());
    assert!(html.contains("Annulé : saisie en double"), "{html}");
    // The valuation page says why the stay is not billable yet, with where to fix it.
    let html = html_unescape(&app.get(&format!("{base}/valorisation"), Some(&cookie)).await.text());
    assert!(html.contains("Pas encore facturable") && html.contains(&format!("/patients/{pid}/droits/nouveau")), "{html}");

    // A costly act with a bad amount: the error next to « Tarif de l'acte ».
    let nv = quittance_store::care::stays::get(&app.db, &op(), sid).await.unwrap().version.to_string();
    let r = app.post_form(&format!("{base}/actes/nouveau"), Some(&cookie), &[("_csrf", &csrf), ("version", &nv), ("performed_on", &day(1)), ("code", "ZZQK002"), ("amount", "cent")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&r.text(), "amount").is_some(), "{}", r.text());

    // Without CSRF token: refused, nothing written.
    let r = app.post_form(&format!("{base}/actes/nouveau"), Some(&cookie), &[("version", &nv), ("performed_on", &day(1)), ("code", "ZZQK002"), ("amount", "152,40")]).await;
    assert!(r.status.is_client_error(), "{:?}", r.status);
    assert!(quittance_store::care::movements::activity(&app.db, &op(), sid).await.unwrap().acts.is_empty());
}

#[tokio::test]
async fn an_auditor_reads_but_may_not_record() {
    let app = TestApp::new().await;
    let (pid, sid, v) = file(&app).await;
    let cookie = app.login_demo("auditeur").await;
    let base = format!("/patients/{pid}/sejours/{sid}");
    let r = app.get(&format!("{base}/mouvements/nouveau"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let csrf = app.session_csrf(&cookie, "/").await;
    let today = quittance_domain::fr::format_date_fr(jiff::Zoned::now().date());
    let r = app.post_form(&format!("{base}/mouvements/nouveau"), Some(&cookie), &[("_csrf", &csrf), ("version", &v.to_string()), ("kind", "soins_intensifs"), ("start_date", &today)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(quittance_store::care::movements::activity(&app.db, &op(), sid).await.unwrap().movements.is_empty());
}

#[tokio::test]
async fn the_api_records_movements_and_the_preview_splits_the_stay() {
    let app = TestApp::new().await;
    let (_, sid, v) = file(&app).await;
    let key = app.api_key("technicien").await;
    let today = jiff::Zoned::now().date();
    let day = |n: i64| quittance_domain::fr::format_date_fr(today.checked_sub(jiff::Span::new().days(n)).unwrap());
    // 422 naming the field.
    let r = app.post_json(&format!("/api/v1/stays/{sid}/movements?version={v}"), Some(&key), &json!({ "kind": "bof", "start_date": day(1) })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("\"kind\""), "{}", r.text());
    let body = json!({ "kind": "chambre_particuliere", "start_date": day(3), "start_time": "09:00", "written_request": "oui", "external_id": "GAM-1" });
    let r = app.post_json(&format!("/api/v1/stays/{sid}/movements?version={v}"), Some(&key), &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // Another movement from the stale version: 409. The same external id again (a retried
    // request, a re-import): nothing new, whatever the version.
    let other = json!({ "kind": "soins_intensifs", "start_date": day(2), "start_time": "08:00", "end_date": day(1), "end_time": "08:00" });
    let r = app.post_json(&format!("/api/v1/stays/{sid}/movements?version={v}"), Some(&key), &other).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = app.post_json(&format!("/api/v1/stays/{sid}/movements?version={v}"), Some(&key), &body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["already_there"], json!(true));
    let list = app.get_api(&format!("/api/v1/stays/{sid}/movements"), &key).await.json();
    assert_eq!(list["movements"].as_array().unwrap().len(), 1);
    assert_eq!(list["version"], json!(v + 1));
    // The preview: every charge with its shares, which sum to it.
    let val = app.get_api(&format!("/api/v1/stays/{sid}/valuation"), &key).await.json();
    let charges = val["charges"].as_array().unwrap();
    assert!(charges.iter().any(|c| c["code"] == "CP"), "{val}");
    for c in charges {
        let sum: i64 = c["shares"].as_array().unwrap().iter().map(|s| s["amount_minor"].as_i64().unwrap()).sum();
        assert_eq!(sum, c["amount_minor"].as_i64().unwrap(), "{c}");
    }
    let total: i64 = val["totals"].as_array().unwrap().iter().map(|s| s["amount_minor"].as_i64().unwrap()).sum();
    assert_eq!(total, val["total_minor"].as_i64().unwrap());
    // Why it is not billable yet: no compulsory coverage on the file.
    assert_eq!(val["billable"], json!(false), "{val}");
    let why = val["not_billable_because"].as_array().unwrap();
    assert!(!why.is_empty() && why.iter().all(|m| m.as_str().is_some_and(|m| !m.is_empty())), "{val}");
    // A stay sent by another system under its id: sent again, the same stay, nothing written.
    let ids = demo_ids(&app.db).await;
    let patient = quittance_store::care::stays::get(&app.db, &op(), sid).await.unwrap().patient_id;
    let body = json!({ "site_id": ids.med.to_string(), "admission_date": day(1), "admission_time": "10:00", "care_mode": "hospitalisation_complete", "external_id": "GAM-S-42" });
    let first = app.post_json(&format!("/api/v1/patients/{patient}/stays"), Some(&key), &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let again = app.post_json(&format!("/api/v1/patients/{patient}/stays"), Some(&key), &body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(first.json()["id"], again.json()["id"]);
}
