//! Care: stays and coverage rights (who pays what share, from when to when), and the
//! parsing of what people type for them and for payers (`input`).

pub mod coverage;
pub mod input;
pub mod stay;
pub mod movement;
