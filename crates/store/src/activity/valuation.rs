//! What a patient's CMS acts and annexed services bill over a period: the charges and the
//! notes, valued by the establishment's dated tariffs (`quittance_domain::activity::valuation`).
//! Reading it is a view of the patient's file: it is audited (`view_activity_valuation`).

use jiff::civil::Date;
use quittance_domain::activity::valuation::value;
use quittance_domain::billing::tariffs::TariffLine;
use quittance_domain::billing::valuation::Charge;
use quittance_domain::money::Currency;

use super::{acts, services};
use crate::actor::Actor;
use crate::db::{Db, Tx};
use crate::error::Error;
use crate::patients;

/// The valuation of a patient's activity over `from..=to`.
#[derive(Debug, Clone)]
pub struct ActivityValuation {
    pub patient: patients::Patient,
    pub from: Date,
    pub to: Date,
    pub currency: Currency,
    /// Acts in date order, then each subscription's TV, activation and units.
    pub charges: Vec<Charge>,
    /// Cancelled acts, services still running (valued to `to`), units without a tariff.
    pub notes: Vec<String>,
    /// The same charges split between the patient's payers (aide médicale cards included).
    pub split: quittance_domain::billing::split::Split,
    /// The file's designated debtor, who the patient's shares are billed to.
    pub debtor: Option<(i64, String)>,
}

/// Values a patient's acts and services over `from..=to` (both days included); a day without
/// a valid tariff stops the valuation with a French message (field `valuation`).
pub async fn patient(db: &Db, actor: &Actor, patient_id: i64, from: Date, to: Date) -> Result<ActivityValuation, Error> {
    if to < from {
        return Err(Error::invalid("to", "La fin de la période est avant son début."));
    }
    let file = patients::checked(db, actor, patient_id, "view_activity_valuation").await?;
    let mut tx = db.read().await?;
    let currency = crate::billing::currency_of(&mut tx, file.establishment_id()).await?;
    let r = charges_in(&mut tx, file.id(), file.establishment_id(), from, to).await;
    let (charges, notes) = match r {
        Ok(x) => x,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    let split = crate::billing::valuation::split_outside_stays(&mut tx, file.id(), currency, charges.clone(), file.establishment_id()).await;
    let debtor = crate::billing::valuation::designated_debtor(&mut tx, file.id()).await;
    tx.rollback().await?;
    let (split, debtor) = (split?, debtor?);
    patients::audit_view(db, actor, &file, "view_activity_valuation", serde_json::json!({ "du": from.to_string(), "au": to.to_string() })).await?;
    Ok(ActivityValuation { patient: file.patient().clone(), from, to, currency, charges, notes, split, debtor })
}

/// The charges and notes of a patient's activity in the caller's transaction (for a billing
/// run that already checked the access).
pub async fn charges_in(tx: &mut Tx, patient_id: i64, establishment_id: i64, from: Date, to: Date) -> Result<(Vec<Charge>, Vec<String>), Error> {
    let lines: Vec<TariffLine> = crate::billing::tariffs::all_in(tx, establishment_id).await?.into_iter().map(|t| t.line).collect();
    let acts: Vec<acts::StoredAct> = tx
        .all(&format!("SELECT {} FROM cms_acts WHERE patient_id = $1 AND act_date >= $2 AND act_date <= $3", acts::COLS), &crate::args![patient_id, from.to_string(), to.to_string()])
        .await?;
    let acts: Vec<_> = acts.iter().map(acts::StoredAct::act).collect();
    let subs: Vec<_> = services::of_patient(tx, patient_id)
        .await?
        .into_iter()
        .map(|s| (s.subscription.sub, s.units.into_iter().map(|u| u.units).collect::<Vec<_>>()))
        .collect();
    value(&acts, &subs, &lines, from, to).map_err(|e| Error::invalid("valuation", e.message_fr()))
}
