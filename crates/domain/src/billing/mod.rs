//! Billing: the dated tariffs and rule parameters that activity is priced with.
//!
//! Both are dated rows per establishment, never constants in code: a price or a rule changes by
//! a new row from a date, and the row valid on a day is what prices that day. The lookups and
//! the planning of a new version are pure functions here; `store` holds the rows.

pub mod dated;
pub mod days;
pub mod input;
pub mod parameters;
pub mod split;
pub mod tariffs;
pub mod valuation;

pub use dated::{Period, PlanError, VersionPlan, plan_version};
