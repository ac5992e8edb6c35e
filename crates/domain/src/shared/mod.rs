//! Shared vocabulary of every capability: money, French formats, legal identifiers,
//! numbering masks and field errors. Re-exported at the crate root (`quittance_domain::money`, …).

pub mod codes;
pub mod dates;
pub mod fr;
pub mod legal_ids;
pub mod money;
pub mod numbering;
pub mod validation;
