//! Care: payers and their dated default rates, stays, coverage rights.

pub mod coverages;
pub mod payers;
pub mod stays;
