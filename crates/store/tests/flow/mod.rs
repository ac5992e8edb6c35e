//! What a page or the API does before calling a use case: parse what was typed (in the
//! domain), then call the use case with the parsed values. The tests drive the use cases
//! through these, so that a field error reads as it does for a user. Each module re-exports
//! the store's and shadows its writes with a function taking the as-typed input.
#![allow(dead_code)]

pub mod stays {
    pub use quittance_store::care::stays::*;
    use quittance_store::{Actor, Db, Error};

    pub async fn save(db: &Db, actor: &Actor, patient_id: i64, stay_id: Option<i64>, version: i64, raw: &StayInput) -> Result<Stay, Error> {
        let parsed = parse(db, actor, patient_id, raw).await?;
        quittance_store::care::stays::save(db, actor, patient_id, stay_id, version, &parsed).await
    }
}

pub mod coverages {
    pub use quittance_store::care::coverages::*;
    use quittance_store::{Actor, Db, Error};

    pub async fn save(db: &Db, actor: &Actor, patient_id: i64, coverage_id: Option<i64>, version: i64, raw: &CoverageInput) -> Result<Coverage, Error> {
        let parsed = parse(db, patient_id, raw).await?;
        quittance_store::care::coverages::save(db, actor, patient_id, coverage_id, version, &parsed).await
    }
}

pub mod payers {
    pub use quittance_store::care::payers::*;
    use quittance_store::{Actor, Db, Error};

    pub async fn create(db: &Db, actor: &Actor, establishment_id: i64, raw: &PayerInput) -> Result<Payer, Error> {
        quittance_store::care::payers::create(db, actor, establishment_id, &parse_payer(raw)?).await
    }

    pub async fn update(db: &Db, actor: &Actor, id: i64, version: i64, raw: &PayerInput) -> Result<Payer, Error> {
        quittance_store::care::payers::update(db, actor, id, version, &parse_payer(raw)?).await
    }

    pub async fn import(db: &Db, actor: &Actor, establishment_id: i64, rows: Vec<(usize, PayerInput)>, dry_run: bool) -> Result<ImportReport, Error> {
        quittance_store::care::payers::import(db, actor, establishment_id, parse_rows(rows), dry_run).await
    }

    pub async fn add_rate(db: &Db, actor: &Actor, payer_id: i64, version: i64, category: &str, rate: &str, valid_from: &str) -> Result<PayerRate, Error> {
        let raw = RateInput { category: category.into(), rate: rate.into(), valid_from: valid_from.into() };
        quittance_store::care::payers::add_rate(db, actor, payer_id, version, &parse_rate(&raw)?).await
    }
}

pub mod establishments {
    pub use quittance_store::establishments::*;
    use quittance_store::{Actor, Db, Error};

    pub async fn create(db: &Db, actor: &Actor, raw: &EstablishmentInput) -> Result<Establishment, Error> {
        quittance_store::establishments::create(db, actor, &parse_establishment(raw)?).await
    }

    pub async fn update(db: &Db, actor: &Actor, id: i64, version: i64, raw: &EstablishmentInput) -> Result<Establishment, Error> {
        quittance_store::establishments::update(db, actor, id, version, &parse_establishment(raw)?).await
    }

    pub async fn create_site(db: &Db, actor: &Actor, establishment_id: i64, raw: &SiteInput) -> Result<Site, Error> {
        quittance_store::establishments::create_site(db, actor, establishment_id, &parse_site(raw)?).await
    }

    pub async fn update_site(db: &Db, actor: &Actor, establishment_id: i64, site_id: i64, version: i64, raw: &SiteInput) -> Result<Site, Error> {
        quittance_store::establishments::update_site(db, actor, establishment_id, site_id, version, &parse_site(raw)?).await
    }

    pub async fn save_series(db: &Db, actor: &Actor, establishment_id: i64, version: Option<i64>, code: &str, label: &str, mask: &str) -> Result<Series, Error> {
        let raw = SeriesInput { code: code.into(), label: label.into(), mask: mask.into() };
        quittance_store::establishments::save_series(db, actor, establishment_id, version, &parse_series(&raw)?).await
    }
}
