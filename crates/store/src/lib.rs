//! Quittance storage and use cases: SQLite or PostgreSQL behind one `Db`.
//!
//! One folder per capability (`access`, `audit`, `billing`, `care`, `documents`, `establishments`, `patients`,
//! `pec`, `readiness`, and `demo` for the training data set); the plumbing they share is in `shared/`
//! (re-exported here as `db`, `migrate`, `actor`, `error`, `numbering`, `backup`).
//!
//! Each use case takes the acting [`actor::Actor`], checks its permission (a refusal is audited),
//! receives parsed input, runs in one transaction and writes its audit rows in that same transaction.

pub mod access;
pub mod activity;
pub mod audit;
pub mod billing;
pub mod care;
pub mod demo;
pub mod documents;
pub mod establishments;
pub mod patients;
pub mod pec;
pub mod readiness;
pub mod shared;

pub use shared::{actor, backup, db, error, migrate, numbering};

pub use actor::Actor;
pub use db::{Backend, Db, DbOptions, Tx, V};
pub use error::{Error, Result};
