//! Tariffs and billing parameters over HTTP: the lists of the demo establishments (dated
//! versions, the « en vigueur le » filter, the CSV export), who may add or close a version,
//! the form re-shown with its French errors, the close confirmation and its 409, and the JSON
//! API (list, create, close; 422 naming the field, 409 on a stale version).

mod common;

use axum::http::StatusCode;
use common::fixtures::{demo_ids, op};
use common::{TestApp, field, field_error, filter, form_fields, html_unescape, plain, refs, set_field};
use quittance_store::billing::tariffs::{self, Tariff, TariffFilter};
use quittance_store::billing::{TariffInput, parameters};
use serde_json::json;

const NBSP: char = '\u{a0}';

/// The text of each `<tr>` of the page's body rows whose code cell is `code`.
fn rows_of(html: &str, code: &str) -> Vec<String> {
    let marker = format!("<td><strong>{code}</strong></td>");
    html.split("<tr").filter(|r| r.contains(&marker)).map(|r| plain(&format!("<tr{r}"))).collect()
}

async fn fj_lines(app: &TestApp, establishment_id: i64) -> Vec<Tariff> {
    let f = TariffFilter { code: Some("FJ".into()), ..Default::default() };
    tariffs::list(&app.db, &op(), establishment_id, &f).await.unwrap().into_iter().filter(|t| t.line.code == "FJ").collect()
}

async fn open_fj(app: &TestApp, establishment_id: i64) -> Tariff {
    fj_lines(app, establishment_id).await.into_iter().find(|t| t.line.period.to.is_none()).expect("an open FJ line")
}

fn eur(s: &str) -> String {
    s.replace(' ', &NBSP.to_string())
}

#[tokio::test]
async fn the_list_shows_the_dated_versions_and_filters_on_a_day() {
    let app = TestApp::new().await;
    let cookie = app.login_demo("technicien").await;
    let r = app.get("/tarifs", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html_unescape(&html).contains("Tarifs — Hôpital Sainte-Marie"), "{html}");
    let fj = rows_of(&html, "FJ");
    assert_eq!(fj.len(), 3, "{fj:?}");
    let current = fj.iter().find(|r| r.contains("23,00 €")).expect("the 23,00 € version");
    assert!(current.contains("Forfait journalier") && current.contains("01/03/2026 —"), "{current}");
    let before = fj.iter().find(|r| r.contains("20,00 €")).expect("the 20,00 € version");
    assert!(before.contains("01/01/2018 28/02/2026"), "closed the day before the next one: {before}");

    // « En vigueur le 15/02/2026 »: the 20,00 € version, not the 23,00 € one.
    let html = app.get("/tarifs?categorie=&le=15%2F02%2F2026&code=", Some(&cookie)).await.text();
    let fj = rows_of(&html, "FJ");
    assert_eq!(fj.len(), 1, "{fj:?}");
    assert!(fj[0].contains("20,00 €") && !html.contains(&eur("23,00 €")), "{fj:?}");
    // Category filter by its code, labels shown; a bad date is said, not a dead end.
    let html = html_unescape(&app.get("/tarifs?categorie=chambre_particuliere", Some(&cookie)).await.text());
    assert!(rows_of(&html, "FJ").is_empty() && html.contains("Chambre particulière"), "{html}");
    let r = app.get("/tarifs?le=31%2F02%2F2026", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html_unescape(&r.text()).contains("En vigueur le :"), "{}", r.text());
    // Sorted by price, descending: the first FJ row is the dearest.
    let html = app.get("/tarifs?code=FJ&tri=prix&ordre=desc", Some(&cookie)).await.text();
    let fj = rows_of(&html, "FJ");
    assert!(fj[0].contains("23,00 €") && fj[2].contains("18,00 €"), "{fj:?}");
    assert!(html.contains("aria-sort=\"descending\""), "the sorted column says so");
}

#[tokio::test]
async fn a_technician_reads_but_may_not_add_or_close() {
    let app = TestApp::new().await;
    let ids = demo_ids(&app.db).await;
    let cookie = app.login_demo("technicien").await;
    let html = app.get("/tarifs", Some(&cookie)).await.text();
    assert!(!html.contains("Nouveau tarif") && !html.contains("/tarifs/nouveau") && !html.contains("/clore"), "no write buttons");
    assert!(html.contains("href=\"/tarifs\"") && html.contains("Paramètres de facturation"), "the navigation lists both pages");
    let refused_before = app.audit(filter("tariff", "add", "refused")).await.len();
    assert_eq!(refused_before, 0, "showing the buttons writes no refusal");

    assert_eq!(app.get("/tarifs/nouveau", Some(&cookie)).await.status, StatusCode::FORBIDDEN);
    let csrf = app.session_csrf(&cookie, "/tarifs").await;
    let r = app
        .post_form(
            "/tarifs/nouveau",
            Some(&cookie),
            &[("_csrf", &csrf), ("code", "FJ"), ("label", "Forfait journalier"), ("category", "forfait_journalier"), ("price", "25,00"), ("valid_from", "01/01/2027")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let fj = open_fj(&app, ids.hsm).await;
    let r = app.post_form(&format!("/tarifs/{}/clore", fj.id), Some(&cookie), &[("_csrf", &csrf), ("version", &fj.version.to_string()), ("au", "31/12/2026")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(open_fj(&app, ids.hsm).await.id, fj.id, "nothing changed");
    assert_eq!(app.audit(filter("tariff", "add", "refused")).await.len(), 2, "the refused page and post are audited");
}

#[tokio::test]
async fn an_administrator_adds_a_version_from_a_line_and_the_open_one_ends_the_day_before() {
    let app = TestApp::new().await;
    let ids = demo_ids(&app.db).await;
    let cookie = app.login_demo("admin").await;
    let html = app.get("/tarifs", Some(&cookie)).await.text();
    assert!(html.contains("href=\"/tarifs/nouveau\""), "the administrator sees « Nouveau tarif »");
    let fj = open_fj(&app, ids.hsm).await;
    let page = app.get(&format!("/tarifs/nouveau?depuis={}", fj.id), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(html_unescape(&page.text()).contains("depuis le 01/03/2026, sera close la veille"), "the form says what happens to the open version");
    let mut form = form_fields(&page.text(), "/tarifs/nouveau");
    assert_eq!((field(&form, "code"), field(&form, "category"), field(&form, "unit")), (Some("FJ"), Some("forfait_journalier"), Some("jour")));
    assert_eq!((field(&form, "price"), field(&form, "valid_from")), (Some(""), Some("")), "a new price and date are typed");
    set_field(&mut form, "price", "25,00");
    set_field(&mut form, "valid_from", "01/01/2027");
    set_field(&mut form, "source", "Arrêté de test");
    let r = app.post_form("/tarifs/nouveau", Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to("/tarifs"), "{}: {}", r.status, r.text());
    let html = app.get(&r.location().unwrap(), Some(&cookie)).await.text();
    assert!(html.contains("Tarif enregistré."), "the flash");
    let fj = rows_of(&html, "FJ");
    let old = fj.iter().find(|r| r.contains("23,00 €")).unwrap();
    assert!(old.contains("01/03/2026 31/12/2026"), "{old}");
    let new = fj.iter().find(|r| r.contains("25,00 €")).unwrap();
    assert!(new.contains("01/01/2027 —") && new.contains("Arrêté de test"), "{new}");
}

#[tokio::test]
async fn a_bad_price_reshows_the_form_with_the_error_next_to_the_price_and_what_was_typed() {
    let app = TestApp::new().await;
    let cookie = app.login_demo("admin").await;
    let mut form = form_fields(&app.get("/tarifs/nouveau", Some(&cookie)).await.text(), "/tarifs/nouveau");
    for (k, v) in [("code", "tv2"), ("label", "Télévision (chambre double)"), ("category", "television"), ("price", "douze euros"), ("valid_from", "01/01/2027")] {
        set_field(&mut form, k, v);
    }
    let r = app.post_form("/tarifs/nouveau", Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let html = r.text();
    assert!(field_error(&html, "price").is_some_and(|e| !e.is_empty()), "{html}");
    assert!(html_unescape(&html).contains("Prix :"), "the summary names « Prix »");
    let again = form_fields(&html, "/tarifs/nouveau");
    assert_eq!((field(&again, "price"), field(&again, "label"), field(&again, "category")), (Some("douze euros"), Some("Télévision (chambre double)"), Some("television")));
    assert!(field_error(&html, "code").is_none(), "only the bad field is flagged");
}

#[tokio::test]
async fn the_csv_export_has_the_rows_of_the_filters_and_neutralises_formulas() {
    let app = TestApp::new().await;
    let ids = demo_ids(&app.db).await;
    let input = TariffInput {
        code: "TVX".into(),
        label: "=HYPERLINK(\"http://x\")".into(),
        category: "television".into(),
        price: "4,50".into(),
        valid_from: "01/01/2026".into(),
        ..Default::default()
    };
    let parsed = tariffs::parse_for(&app.db, ids.hsm, &input).await.unwrap();
    tariffs::add(&app.db, &op(), ids.hsm, &parsed).await.unwrap();
    let cookie = app.login_demo("technicien").await;
    let r = app.get("/tarifs.csv", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/csv"), "{}", r.content_type());
    let csv = r.text();
    assert!(csv.contains("Code;Libellé;Catégorie"), "{csv}");
    assert!(csv.contains("FJ;Forfait journalier;Forfait journalier;Tous;;par jour;23,00;EUR;;01/03/2026;;"), "{csv}");
    assert!(csv.contains("TVX;\"'=HYPERLINK("), "the formula is neutralised: {csv}");
    let csv = app.get("/tarifs.csv?le=15%2F02%2F2026&code=FJ", Some(&cookie)).await.text();
    assert!(csv.contains(";20,00;EUR;") && !csv.contains(";23,00;"), "{csv}");
}

#[tokio::test]
async fn closing_asks_the_last_day_and_a_stale_version_is_said_on_the_page() {
    let app = TestApp::new().await;
    let ids = demo_ids(&app.db).await;
    let cookie = app.login_demo("admin").await;
    let fj = open_fj(&app, ids.hsm).await;
    let html = app.get("/tarifs", Some(&cookie)).await.text();
    assert!(html.contains(&format!("href=\"/tarifs/{}/clore\"", fj.id)), "« Clore » on the open line");
    let action = format!("/tarifs/{}/clore", fj.id);
    let page = app.get(&action, Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(html_unescape(&page.text()).contains("Dernier jour de validité"), "a confirmation step");
    let mut form = form_fields(&page.text(), &action);
    assert_eq!(field(&form, "version"), Some(fj.version.to_string().as_str()));

    // A date before the start: next to the field.
    set_field(&mut form, "au", "01/01/2020");
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&r.text(), "au").is_some_and(|e| e.contains("01/03/2026")), "{}", r.text());

    // Another agent closes it meanwhile: 409, the French message, the form again.
    tariffs::close(&app.db, &op(), ids.hsm, fj.id, fj.version, jiff::civil::date(2026, 6, 30)).await.unwrap();
    set_field(&mut form, "au", "31/12/2026");
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let html = html_unescape(&r.text());
    assert!(html.contains("Ce tarif a été modifié(e) par quelqu'un d'autre"), "{html}");
    let again = form_fields(&r.text(), &action);
    assert_eq!(field(&again, "au"), Some("31/12/2026"), "what was typed is kept");
    assert_eq!(field(&again, "version"), Some((fj.version + 1).to_string().as_str()));
    let r = app.post_form(&action, Some(&cookie), &refs(&again)).await;
    assert!(field_error(&r.text(), "au").is_some_and(|e| e.contains("déjà close")), "{}", r.text());

    // A normal close.
    let fjpsy = tariffs::list(&app.db, &op(), ids.hsm, &TariffFilter { code: Some("FJPSY".into()), ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.line.period.to.is_none())
        .unwrap();
    let action = format!("/tarifs/{}/clore", fjpsy.id);
    let mut form = form_fields(&app.get(&action, Some(&cookie)).await.text(), &action);
    set_field(&mut form, "au", "31/12/2026");
    let r = app.post_form(&action, Some(&cookie), &refs(&form)).await;
    assert!(r.is_redirect_to("/tarifs"), "{}: {}", r.status, r.text());
    let html = app.get(&r.location().unwrap(), Some(&cookie)).await.text();
    assert!(html.contains("Version close.") && rows_of(&html, "FJPSY").iter().any(|r| r.contains("01/03/2026 31/12/2026")), "{html}");
}

#[tokio::test]
async fn the_api_lists_creates_and_closes_tariffs() {
    let app = TestApp::new().await;
    let ids = demo_ids(&app.db).await;
    let key = app.api_key("admin").await;
    let base = format!("/api/v1/establishments/{}/tariffs", ids.hsm);
    let r = app.get_api(&format!("{base}?code=FJ&on=2026-02-15&category=forfait_journalier"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let list = r.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0]["code"].as_str(), list[0]["price_minor"].as_i64(), list[0]["currency"].as_str()), (Some("FJ"), Some(2000), Some("EUR")));
    assert_eq!((list[0]["price"].as_str(), list[0]["valid_to"].as_str()), (Some(eur("20,00 €").as_str()), Some("2026-02-28")));
    let r = app.get_api(&format!("{base}?category=piscine"), &key).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "category");
    let r = app.get_api(&format!("{base}?on=15/02/2026"), &key).await;
    assert_eq!((r.status, r.json()["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("on")));

    let body = json!({ "code": "TV", "label": "Télévision", "category": "television", "price": "trois", "valid_from": "01/01/2027" });
    let r = app.post_json(&base, Some(&key), &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.content_type().starts_with("application/problem+json"));
    assert!(r.json()["errors"].as_array().unwrap().iter().any(|e| e["field"] == "price"), "{}", r.text());
    let body = json!({ "code": "tv9", "label": "Télévision", "category": "television", "price": "3,50", "valid_from": "01/01/2027", "source": "Délibération 12" });
    let r = app.post_json(&base, Some(&key), &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let t = r.json();
    assert_eq!((t["code"].as_str(), t["unit"].as_str(), t["price_minor"].as_i64(), t["valid_from"].as_str()), (Some("TV9"), Some("jour"), Some(350), Some("2027-01-01")));
    let (id, version) = (t["id"].as_i64().unwrap(), t["version"].as_i64().unwrap());

    let close = format!("{base}/{id}/close");
    let r = app.post_json(&format!("{close}?version={}", version + 1), Some(&key), &json!({ "valid_to": "31/12/2027" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.content_type().starts_with("application/problem+json"));
    let r = app.post_json(&format!("{close}?version={version}"), Some(&key), &json!({ "valid_to": "32/12/2027" })).await;
    assert_eq!((r.status, r.json()["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("valid_to")));
    let r = app.post_json(&format!("{close}?version={version}"), Some(&key), &json!({ "valid_to": "31/12/2027" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!((r.json()["valid_to"].as_str(), r.json()["version"].as_i64()), (Some("2027-12-31"), Some(version + 1)));

    // A technician's key reads, and is refused the writes.
    let tech = app.api_key("technicien").await;
    assert_eq!(app.get_api(&base, &tech).await.status, StatusCode::OK);
    let body = json!({ "code": "TV8", "label": "Télévision", "category": "television", "price": "3,50", "valid_from": "01/01/2027" });
    assert_eq!(app.post_json(&base, Some(&tech), &body).await.status, StatusCode::FORBIDDEN);
    // Not one of the technician's establishments.
    assert_eq!(app.get_api(&format!("/api/v1/establishments/{}/tariffs", ids.dpass), &tech).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_parameters_of_each_territory_are_listed_and_a_version_is_added_and_closed() {
    let app = TestApp::new().await;
    let ids = demo_ids(&app.db).await;
    let cookie = app.login_demo("technicien").await;
    let html = app.get("/parametres-facturation", Some(&cookie)).await.text();
    let text = plain(&html);
    assert!(text.contains("Taux du ticket modérateur 20 % 01/01/2000 —"), "{text}");
    assert!(!html.contains("/parametres-facturation/nouveau"), "no button for a technician");
    // The New Caledonian establishment (the finance controller's).
    let nc = app.login_demo("controleur").await;
    let html = app.get("/parametres-facturation", Some(&nc)).await.text();
    assert!(plain(&html).contains("Taux du ticket modérateur 30 %"), "{}", plain(&html));
    assert!(html.contains("href=\"/parametres-facturation/nouveau\""), "the controller may add one");

    // The form: the key's hint, the errors next to their fields.
    let tm = parameters::list(&app.db, &op(), ids.dpass, None).await.unwrap().into_iter().find(|p| p.parameter.key.code() == "taux_tm").unwrap();
    let page = app.get(&format!("/parametres-facturation/nouveau?depuis={}", tm.parameter.id), Some(&nc)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(html_unescape(&page.text()).contains("un taux, ex. 20 %"), "the key's hint");
    let mut form = form_fields(&page.text(), "/parametres-facturation/nouveau");
    assert_eq!(field(&form, "key"), Some("taux_tm"));
    set_field(&mut form, "value", "beaucoup");
    set_field(&mut form, "valid_from", "01/01/2027");
    let r = app.post_form("/parametres-facturation/nouveau", Some(&nc), &refs(&form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&r.text(), "value").is_some() && field_error(&r.text(), "source").is_some(), "{}", r.text());
    assert!(html_unescape(&r.text()).contains("Nouvelle version de « Taux du ticket modérateur »"), "the form still says which version it follows");
    let mut form = form_fields(&r.text(), "/parametres-facturation/nouveau");
    set_field(&mut form, "value", "25 %");
    set_field(&mut form, "source", "Délibération du congrès");
    let r = app.post_form("/parametres-facturation/nouveau", Some(&nc), &refs(&form)).await;
    assert!(r.is_redirect_to("/parametres-facturation"), "{}: {}", r.status, r.text());
    assert!(app.get(&r.location().unwrap(), Some(&nc)).await.text().contains("Paramètre enregistré."), "the flash");
    let html = app.get("/parametres-facturation?le=15%2F01%2F2027", Some(&nc)).await.text();
    let text = plain(&html);
    assert!(text.contains("Taux du ticket modérateur 25 % 01/01/2027 —") && !text.contains("30 %"), "{text}");

    // The API: list on a day, create (422 naming the field), close (409 when stale).
    let key = app.api_key("admin").await;
    let base = format!("/api/v1/establishments/{}/billing-parameters", ids.hsm);
    let r = app.get_api(&format!("{base}?on=2026-06-01"), &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let list = r.json();
    let tm = list.as_array().unwrap().iter().find(|p| p["key"] == "taux_tm").expect("taux_tm");
    assert_eq!((tm["value"].as_str(), tm["value_fr"].as_str()), (Some("2000"), Some(format!("20{NBSP}%").as_str())));
    let r = app.post_json(&base, Some(&key), &json!({ "key": "exoneration", "value": "fj", "valid_from": "01/01/2027", "source": "x" })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "subject");
    let r = app.post_json(&base, Some(&key), &json!({ "key": "montant_pf", "value": "26,00", "valid_from": "01/01/2027", "source": "Décret de test" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let p = r.json();
    assert_eq!((p["value"].as_str(), p["value_fr"].as_str()), (Some("2600"), Some(format!("26,00{NBSP}€").as_str())));
    let (id, version) = (p["id"].as_i64().unwrap(), p["version"].as_i64().unwrap());
    let r = app.post_json(&format!("{base}/{id}/close?version={}", version + 3), Some(&key), &json!({ "valid_to": "31/12/2027" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // A technician's key reads the parameters but may neither add nor close one.
    let tech = app.api_key("technicien").await;
    assert_eq!(app.get_api(&base, &tech).await.status, StatusCode::OK);
    let r = app.post_json(&base, Some(&tech), &json!({ "key": "montant_pf", "value": "27,00", "valid_from": "01/01/2028", "source": "x" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = app.post_json(&format!("{base}/{id}/close?version={version}"), Some(&tech), &json!({ "valid_to": "31/12/2027" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = app.post_json(&format!("{base}/{id}/close?version={version}"), Some(&key), &json!({ "valid_to": "31/12/2027" })).await;
    assert_eq!((r.status, r.json()["valid_to"].as_str()), (StatusCode::OK, Some("2027-12-31")), "{}", r.text());

    // The CSV export of the list, with its filter.
    let r = app.get("/parametres-facturation.csv?le=01%2F06%2F2026", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/csv"), "{}", r.content_type());
    let csv = r.text();
    assert!(csv.contains("Paramètre;Exonération concernée;Valeur;Du;Au;Source"), "{csv}");
    assert!(csv.contains("Taux du ticket modérateur;;20"), "{csv}");
    assert_eq!(app.get("/parametres-facturation.csv?le=demain", Some(&cookie)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_api_routes_are_documented() {
    let app = TestApp::new().await;
    let doc = common::openapi(&app).await;
    common::assert_documented(
        &doc["paths"],
        &[
            ("/api/v1/establishments/{id}/tariffs", &["get", "post"]),
            ("/api/v1/establishments/{id}/tariffs/{tid}/close", &["post"]),
            ("/api/v1/establishments/{id}/billing-parameters", &["get", "post"]),
            ("/api/v1/establishments/{id}/billing-parameters/{pid}/close", &["post"]),
        ],
    );
    let close = &doc["paths"]["/api/v1/establishments/{id}/tariffs/{tid}/close"]["post"]["responses"];
    for code in ["200", "409", "422"] {
        assert!(close[code].is_object(), "close documents {code}");
    }
}
