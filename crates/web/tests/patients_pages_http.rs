//! The patient search's pages over HTTP: « Page suivante » carries a cursor (keyset
//! pagination), following the links from page to page shows every result once, in order;
//! a forged cursor starts again at the first page; the API hands out `next` and takes
//! `after`.

mod common;

use axum::http::StatusCode;
use common::TestApp;

/// The files listed on a results page, in order (a row links its file twice: IPP and name).
fn files(html: &str) -> Vec<String> {
    let mut v: Vec<String> = html
        .split("href=\"/patients/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    v.dedup();
    v
}

fn next_link(html: &str) -> Option<String> {
    let i = html.find("rel=\"next\"")?;
    let start = html[..i].rfind("href=\"")? + 6;
    Some(html[start..].split('"').next()?.replace("&amp;", "&").replace("&#38;", "&"))
}

#[tokio::test]
async fn next_page_links_walk_the_whole_list_once() {
    let app = TestApp::new().await;
    let cookie = app.login_demo("technicien").await;
    // A one-letter prefix gives several pages of the demo hospital.
    let mut best: Option<(String, usize)> = None;
    for q in ["m", "b", "l", "d", "c"] {
        let r = app.get(&format!("/patients?q={q}"), Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK);
        if next_link(&r.text()).is_some() {
            let n = files(&r.text()).len();
            best = Some((q.to_string(), n));
            break;
        }
    }
    let (q, first_len) = best.expect("a search with more than one page");
    assert!(first_len > 0);

    let mut seen = Vec::new();
    let mut path = format!("/patients?q={q}");
    let mut pages = 0;
    loop {
        let r = app.get(&path, Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let html = r.text();
        seen.extend(files(&html));
        pages += 1;
        if pages > 1 {
            assert!(html.contains("Première page"), "a way back to the first page: {path}\n{}", &html[html.find("pager").unwrap_or(0)..]);
            assert!(html.contains(&format!("Page {pages}")), "page {pages} is numbered");
        }
        match next_link(&html) {
            Some(next) => {
                assert!(next.contains("apres="), "the next page starts at a cursor: {next}");
                path = next;
            }
            None => break,
        }
        assert!(pages < 1000, "the walk ends");
    }
    assert!(pages >= 2);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "each file once over the pages");

    // The export holds the same files (one row each, whatever page it was asked from).
    let csv = app.get(&format!("/patients/export.csv?q={q}&apres=x"), Some(&cookie)).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.text().lines().count() - 1, seen.len(), "export: every result, not one page");

    // A forged cursor is the first page again, not an error.
    let forged = app.get(&format!("/patients?q={q}&page=7&apres=%27%3B--"), Some(&cookie)).await;
    assert_eq!(forged.status, StatusCode::OK);
    assert_eq!(files(&forged.text()).len(), first_len);
    assert!(!forged.text().contains("Première page"));
}

#[tokio::test]
async fn api_pages_by_cursor() {
    let app = TestApp::new().await;
    let key = app.api_key("technicien").await;
    let mut tx = app.db.read().await.unwrap();
    let hsm = tx.int("SELECT id FROM establishments WHERE code = 'HSM'", &[]).await.unwrap();
    tx.rollback().await.unwrap();

    let all = app.get_api(&format!("/api/v1/patients?establishment_id={hsm}&q=m&limit=500"), &key).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    let all_ids: Vec<i64> = all.json()["items"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert!(all_ids.len() > 2, "enough files to page through");

    let mut walked = Vec::new();
    let mut after = String::new();
    loop {
        let path = if after.is_empty() {
            format!("/api/v1/patients?establishment_id={hsm}&q=m&limit=2")
        } else {
            format!("/api/v1/patients?establishment_id={hsm}&q=m&limit=2&after={}", quittance_web::session::url_encode(&after))
        };
        let r = app.get_api(&path, &key).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let j = r.json();
        walked.extend(j["items"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()));
        assert_eq!(j["more"].as_bool().unwrap(), j["next"].is_string(), "{j}");
        match j["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(walked, all_ids);

    let r = app.get_api(&format!("/api/v1/patients?establishment_id={hsm}&q=m&after=nope"), &key).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "after");
}
