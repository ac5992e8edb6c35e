//! Plumbing every capability uses: sessions and CSRF (`session`), page chrome, forms and error pages
//! (`render`), CSV/XLSX exports (`export`), form bodies (`form`), the extractors (`extract`), the API's
//! problem documents, key check and OpenAPI assembly (`api`), metrics.
//! Re-exported at the crate root.

pub mod api;
pub mod export;
pub mod extract;
pub mod form;
pub mod metrics;
pub mod render;
pub mod session;
