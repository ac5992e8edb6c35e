//! The patient use cases from what was typed: parsed first (on the establishment's day), as
//! the pages and the API do, then the use case on the parsed values. The web tests reach
//! this file by `#[path]`.

use quittance_store::patients::{self, Debtor, DebtorEdit, DebtorInput, Identifier, IdentifierInput, Patient, PatientInput};
use quittance_store::{Actor, Db, Error};

pub async fn create(db: &Db, actor: &Actor, establishment_id: i64, raw: &PatientInput) -> Result<Patient, Error> {
    let parsed = patients::parse_new(db, establishment_id, raw).await?;
    patients::create(db, actor, establishment_id, &parsed).await
}

pub async fn update(db: &Db, actor: &Actor, id: i64, version: i64, raw: &PatientInput) -> Result<Patient, Error> {
    let parsed = patients::parse_change(db, id, raw).await?;
    patients::update(db, actor, id, version, &parsed).await
}

pub async fn save_debtor(db: &Db, actor: &Actor, patient_id: i64, edit: Option<DebtorEdit>, raw: &DebtorInput) -> Result<Debtor, Error> {
    let parsed = patients::parse_debtor(raw)?;
    patients::save_debtor(db, actor, patient_id, edit, &parsed).await
}

pub async fn add_identifier(db: &Db, actor: &Actor, patient_id: i64, issuer: &str, value: &str) -> Result<Identifier, Error> {
    let parsed = patients::parse_identifier(&IdentifierInput { issuer: issuer.into(), value: value.into() })?;
    patients::add_identifier(db, actor, patient_id, &parsed).await
}
