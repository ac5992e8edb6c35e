//! The OpenAPI document is true to the router: every documented path and method is routed, every API
//! route is documented, parameters sit where the router reads them, and every error is problem+json.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;

fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_answers_as_documented() {
    let app = TestApp::new().await;
    let keys = [app.api_key("admin").await, app.api_key("technicien").await];
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    let ops = operations(&doc);
    assert!(ops.len() >= 40, "{} operations documented", ops.len());
    let mut seen = std::collections::BTreeSet::new();
    for ((path, method, op), key) in ops.iter().flat_map(|o| keys.iter().map(move |k| (o, k))) {
        // Path parameters become 1 (a record that may or may not exist); the route must exist.
        let mut concrete = String::new();
        let mut rest = path.as_str();
        while let Some(open) = rest.find('{') {
            concrete.push_str(&rest[..open]);
            concrete.push('1');
            rest = &rest[rest[open..].find('}').map_or(rest.len(), |c| open + c + 1)..];
        }
        concrete.push_str(rest);
        // Required query parameters get a plausible value, so the handler itself runs.
        let query: Vec<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| match p["name"].as_str().unwrap_or("") {
                "establishment_id" | "version" => format!("{}=1", p["name"].as_str().unwrap_or("")),
                n => format!("{n}=a"),
            })
            .collect();
        if !query.is_empty() {
            concrete = format!("{concrete}?{}", query.join("&"));
        }
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let body = matches!(m, Method::POST | Method::PUT).then(|| serde_json::json!({}));
        let r = app.send_json(m, &concrete, Some(&key), body.as_ref()).await;
        seen.insert(r.status.as_u16());
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: documented but not routed");
        let ct = r.content_type();
        if r.status.is_client_error() || r.status.is_server_error() {
            assert!(ct.starts_with("application/problem+json"), "{method} {path} → {} in {ct}: {}", r.status, r.text());
            let j = r.json();
            assert!(!j["type"].as_str().unwrap_or("").ends_with("/no-route"), "{method} {path}: documented but not routed: {j}");
        }
        assert!(r.status != StatusCode::INTERNAL_SERVER_ERROR, "{method} {path} → 500: {}", r.text());
        let documented = op["responses"].as_object().expect("responses");
        assert!(
            documented.contains_key(r.status.as_str()),
            "{method} {path} answered {} which is not documented ({:?})",
            r.status,
            documented.keys().collect::<Vec<_>>()
        );
    }
    // The run reached the handlers, not only the extractors: successes and refusals were both seen.
    assert!(seen.contains(&200) && seen.contains(&403) && seen.contains(&422), "statuses seen: {seen:?}");
}

#[tokio::test]
async fn the_document_declares_parameters_where_they_are_read_and_errors_as_problems() {
    let app = TestApp::new().await;
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or("");
            let expected = if path.contains(&format!("{{{name}}}")) { "path" } else { "query" };
            assert_eq!(p["in"], expected, "{method} {path}: parameter {name} declared in {}", p["in"]);
        }
        let responses = op["responses"].as_object().expect("responses");
        for code in ["401", "403"] {
            assert!(responses.contains_key(code), "{method} {path}: {code} undocumented");
        }
        if path.contains('{') {
            assert!(responses.contains_key("404"), "{method} {path}: 404 undocumented");
        }
        if op.get("requestBody").is_some() {
            assert!(responses.contains_key("422"), "{method} {path}: 422 undocumented");
        }
        for (code, r) in responses {
            if code.as_str() >= "400" {
                let content = r["content"].as_object().expect("error content");
                assert!(
                    content.keys().all(|k| k == "application/problem+json"),
                    "{method} {path} {code}: error media types {:?}",
                    content.keys().collect::<Vec<_>>()
                );
            }
        }
    }
    assert!(doc["components"]["schemas"].get("Problem").is_some());
}

/// Every API route is registered through `routes!` (which takes its path from the handler's
/// `#[utoipa::path]`), so none can be routed without being documented: no capability's `api.rs`
/// may add a route by hand.
#[test]
fn no_api_route_is_added_outside_the_documented_routers() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).expect("src") {
        let api = entry.expect("entry").path().join("api.rs");
        if api.parent().and_then(|p| p.file_name()).is_some_and(|n| n == "shared") || !api.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&api).expect("api.rs");
        assert!(!text.contains(".route("), "{}: a route added by hand is not in the OpenAPI document", api.display());
        assert!(text.contains("routes!("), "{}: no documented route", api.display());
    }
}
