//! Quittance storage and use cases: SQLite or PostgreSQL behind one `Db`.
//!
//! Each use case takes the acting [`actor::Actor`], checks its permission (a
//! refusal is audited), validates its input, runs in one transaction and writes
//! its audit rows in that same transaction.

pub mod actor;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod coverages;
pub mod db;
pub mod demo;
pub mod demo_care;
pub mod demo_patients;
pub mod documents;
pub mod error;
pub mod establishments;
pub mod migrate;
pub mod numbering;
pub mod patients;
pub mod stays;
pub mod payers;
pub mod pec;
pub mod readiness;

pub use actor::Actor;
pub use db::{Backend, Db, DbOptions, Tx, V};
pub use error::{Error, Result};
