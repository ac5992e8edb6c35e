//! The dated tariffs and parameters a new establishment starts with, by territory (France,
//! New Caledonia): data files shipped with the program (`crates/store/data/territory/`), in
//! the format of `quittance import tariffs`, each row naming its source. An establishment
//! changes them afterwards like any other version.

use quittance_domain::money::Currency;

use super::{parameters, tariffs};
use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::db::Tx;
use crate::error::Error;

/// A territory's set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Territory {
    France,
    NouvelleCaledonie,
}

impl Territory {
    /// The territory an establishment bills in, from its currency.
    pub fn of(currency: Currency) -> Territory {
        match currency {
            Currency::Eur => Territory::France,
            Currency::Xpf => Territory::NouvelleCaledonie,
        }
    }

    fn files(self) -> (&'static str, &'static str) {
        match self {
            Territory::France => (include_str!("../../data/territory/fr-tarifs.csv"), include_str!("../../data/territory/fr-parametres.csv")),
            Territory::NouvelleCaledonie => {
                (include_str!("../../data/territory/nc-tarifs.csv"), include_str!("../../data/territory/nc-parametres.csv"))
            }
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Territory::France => "France",
            Territory::NouvelleCaledonie => "Nouvelle-Calédonie",
        }
    }
}

/// The rows of a data file shipped with the program (`;`-separated, header = field names).
pub(crate) fn rows<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, Error> {
    let mut r = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
    r.deserialize().collect::<Result<Vec<T>, _>>().map_err(|e| Error::Integrity(format!("fichier de données illisible : {e}")))
}

/// Writes the territory's set for a new establishment, in the caller's transaction (its
/// creation), audited as one event.
pub async fn seed(tx: &mut Tx, actor: &Actor, establishment_id: i64, currency: Currency) -> Result<(), Error> {
    let territory = Territory::of(currency);
    let (t, p) = territory.files();
    let bad = |what: &str, e: quittance_domain::validation::FieldErrors| Error::Integrity(format!("jeu du territoire, {what} : {e:?}"));
    let lines: Vec<tariffs::TariffCsvRow> = rows(t)?;
    let mut parsed_t = Vec::new();
    for l in &lines {
        parsed_t.push(tariffs::parse_row(l, currency, &[]).map_err(|e| bad("tarif", e))?);
    }
    let params: Vec<parameters::ParameterCsvRow> = rows(p)?;
    let mut parsed_p = Vec::new();
    for r in &params {
        parsed_p.push(parameters::parse_row(r, currency).map_err(|e| bad("paramètre", e))?);
    }
    tariffs::add_all_in(tx, actor, establishment_id, &parsed_t).await?;
    for r in &parsed_p {
        parameters::add_in(tx, actor, establishment_id, r).await?;
    }
    tx.audit(
        actor,
        AuditEvent::new("establishment", "seed_billing")
            .id(establishment_id)
            .at(Some(establishment_id), None)
            .changes(serde_json::json!({ "territoire": [null, territory.label()], "tarifs": [null, parsed_t.len()], "parametres": [null, parsed_p.len()] })),
    );
    Ok(())
}

/// Seeds, at start-up, the establishments that have neither tariffs nor parameters (created
/// before the billing engine): each gets its territory's set, once. Several servers starting
/// at once on one PostgreSQL database seed each establishment once: each one is re-checked
/// under its lock.
pub async fn seed_missing(db: &crate::db::Db) -> Result<usize, Error> {
    const BARE: &str = "NOT EXISTS (SELECT 1 FROM tariffs t WHERE t.establishment_id = e.id) \
        AND NOT EXISTS (SELECT 1 FROM billing_parameters p WHERE p.establishment_id = e.id)";
    let mut tx = db.read().await?;
    let bare: Vec<(i64,)> = tx.all(&format!("SELECT id FROM establishments e WHERE {BARE} ORDER BY id"), &[]).await?;
    tx.rollback().await?;
    let actor = Actor::system("demarrage");
    let mut seeded = 0;
    for (id,) in bare {
        let mut tx = db.begin().await?;
        let currency = super::lock_establishment(&mut tx, id).await?;
        let still: Option<(i64,)> = tx.opt(&format!("SELECT id FROM establishments e WHERE e.id = $1 AND {BARE}"), &crate::args![id]).await?;
        if still.is_some() {
            seed(&mut tx, &actor, id, currency).await?;
            seeded += 1;
        }
        tx.commit().await?;
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_every_territory_parses() {
        for (territory, currency) in [(Territory::France, Currency::Eur), (Territory::NouvelleCaledonie, Currency::Xpf)] {
            let (t, p) = territory.files();
            let lines: Vec<tariffs::TariffCsvRow> = rows(t).unwrap();
            assert!(!lines.is_empty());
            for l in &lines {
                let parsed = tariffs::parse_row(l, currency, &[]).unwrap_or_else(|e| panic!("{l:?}: {e:?}"));
                assert!(!parsed.source.is_empty(), "a tariff names its source: {l:?}");
            }
            let params: Vec<parameters::ParameterCsvRow> = rows(p).unwrap();
            for r in &params {
                parameters::parse_row(r, currency).unwrap_or_else(|e| panic!("{r:?}: {e:?}"));
            }
        }
    }
}
