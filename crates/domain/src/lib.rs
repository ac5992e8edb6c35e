//! Quittance domain: pure rules, no IO, no async.
//!
//! One folder per capability (`access`, `audit`, `billing`, `care`, `documents`, `establishments`, `identity`, `patients`, `pec`,
//! `readiness`); the vocabulary they share (code lists, money, French formats, legal identifiers, numbering, field
//! errors) is in `shared/` and re-exported here. Everything is deterministic and unit/property tested
//! in milliseconds.

pub mod access;
pub mod activity;
pub mod audit;
pub mod billing;
pub mod care;
pub mod documents;
pub mod establishments;
pub mod identity;
pub mod patients;
pub mod pec;
pub mod readiness;
pub mod shared;

pub use shared::{codes, dates, fr, legal_ids, money, numbering, validation};
