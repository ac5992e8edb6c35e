//! The patient administrative file: search keys (identity rules live in `identity`).

pub mod search;
