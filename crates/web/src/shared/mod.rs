//! Plumbing every capability uses: sessions and CSRF (`session`), page chrome, forms, error pages and
//! exports (`render`), the API's problem documents, key check and OpenAPI assembly (`api`), metrics.
//! Re-exported at the crate root.

pub mod api;
pub mod extract;
pub mod metrics;
pub mod render;
pub mod session;
