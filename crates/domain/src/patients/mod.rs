//! The patient administrative file: search keys and debtors (identity rules live in `identity`).

pub mod debtors;
pub mod input;
pub mod search;
