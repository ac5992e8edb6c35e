//! Care: stays and coverage rights (who pays what share, from when to when).

pub mod coverage;
pub mod stay;
