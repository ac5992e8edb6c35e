//! Quittance domain: pure rules, no IO, no async.
//!
//! Each module is one bounded context. Everything here is deterministic and
//! unit/property tested in milliseconds.

pub mod access;
pub mod audit;
pub mod coverage;
pub mod documents;
pub mod fr;
pub mod identity;
pub mod legal_ids;
pub mod money;
pub mod numbering;
pub mod patient_search;
pub mod pec;
pub mod readiness;
pub mod validation;
