//! The split (ventilation) of charges between the payers who owe them: the compulsory insurer
//! (AMO, CAFAT), the complementaries (mutuelles), the aid (aide médicale, AME) and the patient
//! or the designated debtor. Every share has its French explanation, and the shares of a charge
//! always add up to the charge (each run of days is cut by subtraction, and amounts spread over
//! several runs or parties by the largest-remainder method).
//!
//! Rules (their texts in `docs/billing.md`):
//! - ticket modérateur (TM) on the daily-tariff base, rate `taux_tm` (or the compulsory
//!   coverage's own rate when it pays more), not due from day `fin_tm_jour` of the stay nor
//!   under an exemption whose effects include `tm` (domain-rules §1.4, §1.2 of part 2);
//! - participation forfaitaire (PF, `montant_pf`) instead of the TM when a costly act (tariff ≥
//!   `seuil_pf_montant` or coefficient ≥ `seuil_pf_coefficient`) was done, once per stay,
//!   unless exempted (`pf`) (art. R160-16 CSS);
//! - forfait journalier never paid by the compulsory insurer except under an exemption whose
//!   effects include `fj`, then by the coverage that carries it (art. L174-4 CSS);
//! - imputation (`imputation_fj_tm`): the smaller of the TM and the FJ left to the patient is
//!   absorbed by the larger, per stay (art. L174-4 CSS; domain-rules-2 §1.5 cases A–D);
//! - complementaries in priority order at their coverage rate for the charge's category, within
//!   what an accepted PEC agreed (items, validity; its cap per day and maximum days bound the
//!   private room);
//! - aide médicale cards A, B, M: the patient keeps `part_carte_a|b|m` of the charge, the aid
//!   pays the rest (domain-rules §6.3).

use std::collections::HashMap;

use jiff::civil::Date;

use super::parameters::{Effect, ParameterKey, ParameterSet};
use super::valuation::{Charge, ValuationError};
use crate::care::coverage::{Category, CoverageRole, Exemption};
use crate::care::movement::StayAct;
use crate::fr::format_date_fr;
use crate::money::{BasisPoints, Currency, Money, MoneyError, Rounding, allocate, apply_rate};
use crate::pec::Item;

/// A coverage right as the split reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub coverage_id: i64,
    pub payer_id: i64,
    pub payer_name: String,
    pub role: CoverageRole,
    pub from: Date,
    pub to: Option<Date>,
    /// Rates by category of charge (séjour, actes, forfait journalier, chambre particulière,
    /// prestations annexes).
    pub rates: [BasisPoints; 5],
    pub exemptions: Vec<Exemption>,
    pub priority: i64,
}

impl Cover {
    pub fn covers(&self, d: Date) -> bool {
        self.from <= d && self.to.is_none_or(|t| d <= t)
    }
    pub fn rate(&self, c: Category) -> BasisPoints {
        let i = Category::ALL.iter().position(|x| *x == c).unwrap_or(0);
        self.rates[i]
    }
}

/// A payer's answer to a PEC request, as the split reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub payer_id: i64,
    /// The PEC's number, quoted in the explanations.
    pub number: String,
    /// Accepted (fully or partly); `false`: refused.
    pub accepted: bool,
    pub items: Vec<Item>,
    pub cap_per_day: Option<Money>,
    pub max_days: Option<i64>,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl Agreement {
    fn covers(&self, d: Date) -> bool {
        self.from.is_none_or(|f| f <= d) && self.to.is_none_or(|t| d <= t)
    }
}

/// Who owes a share.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    Payer { payer_id: i64, coverage_id: i64, role: CoverageRole, name: String },
    /// The patient, or the file's designated debtor.
    Patient,
}

impl Party {
    pub fn name(&self) -> &str {
        match self {
            Party::Payer { name, .. } => name,
            Party::Patient => "Patient",
        }
    }
}

/// One party's share of a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub party: Party,
    pub amount: Money,
    pub explanation: String,
}

/// A charge and its shares (they sum to the charge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitLine {
    pub charge: Charge,
    pub shares: Vec<Share>,
}

/// A line that is not a tariff: the imputation of the forfait journalier on the ticket
/// modérateur (a negative amount), with its shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub code: &'static str,
    pub label: &'static str,
    pub amount: Money,
    pub rule: &'static str,
    pub explanation: String,
    pub shares: Vec<Share>,
}

/// What a stay or a set of acts would bill, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub currency: Currency,
    pub lines: Vec<SplitLine>,
    pub adjustments: Vec<Adjustment>,
    pub notes: Vec<String>,
}

impl Split {
    /// What each party owes in all, in a stable order (compulsory, complementary, aid, patient).
    pub fn totals(&self) -> Vec<(Party, Money)> {
        let mut t: Vec<(Party, Money)> = Vec::new();
        for s in self.lines.iter().flat_map(|l| &l.shares).chain(self.adjustments.iter().flat_map(|a| &a.shares)) {
            match t.iter_mut().find(|(p, _)| *p == s.party) {
                Some((_, m)) => m.minor += s.amount.minor,
                None => t.push((s.party.clone(), s.amount)),
            }
        }
        t.sort_by_key(|(p, _)| party_rank(p));
        t
    }

    /// The sum of all lines and adjustments.
    pub fn total(&self) -> Money {
        Money::new(self.lines.iter().map(|l| l.charge.amount.minor).sum::<i64>() + self.adjustments.iter().map(|a| a.amount.minor).sum::<i64>(), self.currency)
    }
}

fn party_rank(p: &Party) -> (u8, i64) {
    match p {
        Party::Payer { role: CoverageRole::Obligatoire, payer_id, .. } => (0, *payer_id),
        Party::Payer { role: CoverageRole::Complementaire, payer_id, .. } => (1, *payer_id),
        Party::Payer { role: CoverageRole::Aide, payer_id, .. } => (2, *payer_id),
        Party::Patient => (3, 0),
    }
}

/// What the split needs besides the charges.
#[derive(Debug, Clone, Copy)]
pub struct SplitContext<'a> {
    /// Day 1 of the stay (for the day from which the TM stops); `None` for acts and services.
    pub admission: Option<Date>,
    pub covers: &'a [Cover],
    pub agreements: &'a [Agreement],
    /// Costly acts of the stay (the participation forfaitaire).
    pub acts: &'a [StayAct],
    pub currency: Currency,
    /// Write the French sentences of the shares (see `StayActivity::explain`).
    pub explain: bool,
}

fn money_err(e: MoneyError) -> ValuationError {
    ValuationError::Money(e)
}

fn pct(r: BasisPoints) -> String {
    r.format_fr()
}

fn item_for(c: Category) -> Item {
    match c {
        Category::ForfaitJournalier => Item::ForfaitJournalier,
        Category::ChambreParticuliere => Item::ChambreParticuliere,
        Category::PrestationsAnnexes => Item::PrestationsAnnexes,
        Category::Sejour | Category::Actes => Item::TicketModerateur,
    }
}

fn what(c: Category) -> &'static str {
    match c {
        Category::Sejour => "du tarif journalier",
        Category::Actes => "de l'acte",
        Category::ForfaitJournalier => "du forfait journalier",
        Category::ChambreParticuliere => "de la chambre particulière",
        Category::PrestationsAnnexes => "de la prestation",
    }
}

/// A run of days of one charge that share their coverages and their TM rule.
struct Run {
    line: usize,
    day: Date,
    days: i64,
    amount: Money,
    covers: Vec<usize>,
    tm_due: bool,
    pf: Money,
}

/// The participation forfaitaire of a stay, if one is due: the first costly act, its amount
/// and the sentence.
fn participation(ctx: &SplitContext<'_>, params: &ParameterSet<'_>) -> Result<Option<(Money, String)>, ValuationError> {
    for a in ctx.acts {
        let d = a.performed_on;
        let by_amount = params.amount(ParameterKey::SeuilPfMontant, d).ok().is_some_and(|s| a.amount.minor >= s.minor);
        let by_coef = params.count(ParameterKey::SeuilPfCoefficient, d).ok().is_some_and(|s| a.coefficient.is_some_and(|c| i64::from(c.0) >= s * 100));
        if !(by_amount || by_coef) {
            continue;
        }
        let Ok(pf) = params.amount(ParameterKey::MontantPf, d) else { return Ok(None) };
        let exempt = ctx.covers.iter().filter(|c| c.covers(d)).flat_map(|c| c.exemptions.iter()).find(|e| params.effects(**e, d).contains(&Effect::Pf));
        if exempt.is_some() {
            return Ok(None);
        }
        return Ok(Some((pf, format!("participation forfaitaire de {} à la place du ticket modérateur : acte {} du {} (art. R160-16 CSS)", pf.format_fr(), a.code, format_date_fr(d)))));
    }
    Ok(None)
}

/// Splits `charges` between the payers of `ctx`.
pub fn split(charges: Vec<Charge>, ctx: &SplitContext<'_>, params: &ParameterSet<'_>) -> Result<Split, ValuationError> {
    if ctx.covers.len() > 128 {
        return Err(ValuationError::Integrity("plus de 128 droits pour un même patient".into()));
    }
    let mut notes = Vec::new();
    let tm_stop = ctx.admission.and_then(|a| params.count(ParameterKey::FinTmJour, a).ok());
    let pf = participation(ctx, params)?;
    let mut covers: Vec<(usize, &Cover)> = ctx.covers.iter().enumerate().collect();
    covers.sort_by_key(|(_, c)| (c.role, c.priority, c.coverage_id));

    // 1. Runs of days per charge.
    let mut runs: Vec<Run> = Vec::new();
    let mut first_free_day: Option<Date> = None;
    for (li, c) in charges.iter().enumerate() {
        let fallback = [ctx.admission.unwrap_or(Date::MIN)];
        let days: &[Date] = if c.days.is_empty() { &fallback } else { &c.days };
        // The covers open on a day, as a bit set over `covers`' order (no allocation per day).
        let key = |d: Date| {
            let cs: u128 = covers.iter().enumerate().filter(|(_, (_, x))| x.covers(d)).fold(0u128, |m, (k, _)| m | (1u128 << (k % 128)));
            let tm_due = match (ctx.admission, tm_stop) {
                (Some(a), Some(n)) => (d - a).get_days() + 1 < i32::try_from(n).unwrap_or(i32::MAX),
                _ => true,
            };
            (cs, tm_due)
        };
        // Runs of consecutive days with one key: (key, first index, length).
        let mut groups: Vec<((u128, bool), usize, usize)> = Vec::new();
        for (i, d) in days.iter().enumerate() {
            let k = key(*d);
            match groups.last_mut() {
                Some((lk, _, n)) if *lk == k => *n += 1,
                _ => groups.push((k, i, 1)),
            }
        }
        let weights: Vec<u64> = groups.iter().map(|(_, _, n)| *n as u64).collect();
        let per_day = c.days.len() > 1 && c.unit_price.checked_mul(c.days.len() as i64).ok() == Some(c.amount);
        let amounts: Vec<Money> = if groups.len() == 1 {
            vec![c.amount]
        } else if per_day {
            groups.iter().map(|(_, _, n)| c.unit_price.checked_mul(*n as i64)).collect::<Result<_, _>>().map_err(money_err)?
        } else {
            allocate(c.amount, &weights).map_err(money_err)?
        };
        for (((cs, tm_due), start, n), amount) in groups.into_iter().zip(amounts) {
            if c.category.charge_category() == Category::Sejour && !tm_due && first_free_day.is_none() {
                first_free_day = Some(days[start]);
            }
            let cs: Vec<usize> = covers.iter().enumerate().filter(|(k, _)| cs & (1u128 << (k % 128)) != 0).map(|(_, (i, _))| *i).collect();
            runs.push(Run { line: li, day: days[start], days: n as i64, amount, covers: cs, tm_due, pf: Money::zero(ctx.currency) });
        }
    }
    if let (Some(d), Some(n)) = (first_free_day, tm_stop) {
        notes.push(format!("Ticket modérateur non dû à partir du {n}e jour d'hospitalisation, le {}.", format_date_fr(d)));
    }

    // 2. The participation forfaitaire spread over the daily-tariff runs.
    let pf_text = pf.as_ref().map(|(_, t)| t.clone());
    if let Some((amount, text)) = &pf {
        let idx: Vec<usize> = runs.iter().enumerate().filter(|(_, r)| charges[r.line].category.charge_category() == Category::Sejour).map(|(i, _)| i).collect();
        let base: i64 = idx.iter().map(|i| runs[*i].amount.minor).sum();
        if base > 0 {
            let due = Money::new(amount.minor.min(base), ctx.currency);
            let w: Vec<u64> = idx.iter().map(|i| runs[*i].amount.minor.max(0) as u64).collect();
            for (i, m) in idx.iter().zip(allocate(due, &w).map_err(money_err)?) {
                runs[*i].pf = m;
            }
            // « participation forfaitaire de 24,00 € … » as a sentence.
            notes.push(format!("P{}.", text.strip_prefix('p').unwrap_or(text)));
        }
    }

    // 3. The shares of each run.
    let mut used_days: HashMap<(i64, Item), i64> = HashMap::new();
    let mut shares: Vec<Vec<Share>> = vec![Vec::new(); charges.len()];
    // The patient's participation (ticket modérateur, forfait journalier), whoever pays it, for
    // the imputation: not what an insurer pays by law or under an exemption.
    let mut part_tm: Vec<(Party, i64)> = Vec::new();
    let mut part_fj: Vec<(Party, i64)> = Vec::new();
    for r in &runs {
        let c = &charges[r.line];
        let cat = c.category.charge_category();
        let on: Vec<&Cover> = r.covers.iter().map(|i| &ctx.covers[*i]).collect::<Vec<_>>();
        let mut on = on;
        on.sort_by_key(|c| (c.role, c.priority, c.coverage_id));
        let got = split_run(r, cat, &on, ctx, params, pf_text.as_deref(), &mut used_days)?;
        for (s, participation) in got {
            let acc = match cat {
                Category::Sejour => Some(&mut part_tm),
                Category::ForfaitJournalier => Some(&mut part_fj),
                _ => None,
            };
            if let Some(acc) = acc
                && participation
            {
                match acc.iter_mut().find(|(p, _)| *p == s.party) {
                    Some((_, m)) => *m += s.amount.minor,
                    None => acc.push((s.party.clone(), s.amount.minor)),
                }
            }
            let v = &mut shares[r.line];
            match v.iter_mut().find(|x| x.party == s.party) {
                Some(x) => {
                    x.amount.minor += s.amount.minor;
                    if ctx.explain && !x.explanation.split(" ; ").any(|e| e == s.explanation) {
                        x.explanation = format!("{} ; {}", x.explanation, s.explanation);
                    }
                }
                None => v.push(s),
            }
        }
    }
    let lines: Vec<SplitLine> = charges.into_iter().zip(shares).map(|(charge, mut shares)| {
        shares.retain(|s| !s.amount.is_zero());
        shares.sort_by_key(|s| party_rank(&s.party));
        SplitLine { charge, shares }
    }).collect();
    for l in &lines {
        debug_assert_eq!(l.shares.iter().map(|s| s.amount.minor).sum::<i64>(), l.charge.amount.minor);
    }

    // 4. Imputation of the forfait journalier on the ticket modérateur, per stay.
    let mut adjustments = Vec::new();
    let imputation = ctx.admission.and_then(|a| params.flag(ParameterKey::ImputationFjTm, a).ok()).unwrap_or(false);
    if imputation && pf.is_none() {
        let mut tm_shares = part_tm;
        tm_shares.retain(|(_, m)| *m > 0);
        tm_shares.sort_by_key(|(p, _)| party_rank(p));
        let fj: i64 = part_fj.iter().map(|(_, m)| m).sum();
        let tm: i64 = tm_shares.iter().map(|(_, m)| m).sum();
        let imputed = tm.min(fj);
        if imputed > 0 {
            let w: Vec<u64> = tm_shares.iter().map(|(_, m)| *m as u64).collect();
            let parts = allocate(Money::new(-imputed, ctx.currency), &w).map_err(money_err)?;
            let (tm_m, fj_m) = (Money::new(tm, ctx.currency), Money::new(fj, ctx.currency));
            let explanation = if tm >= fj {
                format!("Forfait journalier de {} imputé sur le ticket modérateur de {} : la participation est le ticket modérateur (art. L174-4 CSS)", fj_m.format_fr(), tm_m.format_fr())
            } else {
                format!("Ticket modérateur de {} imputé sur le forfait journalier de {} : la participation est le forfait journalier (art. L174-4 CSS)", tm_m.format_fr(), fj_m.format_fr())
            };
            let shares = tm_shares.into_iter().zip(parts).filter(|(_, m)| !m.is_zero()).map(|((party, _), amount)| Share { party, amount, explanation: explanation.clone() }).collect();
            adjustments.push(Adjustment {
                code: "IMPUTATION_FJ_TM",
                label: "Imputation du forfait journalier sur le ticket modérateur",
                amount: Money::new(-imputed, ctx.currency),
                rule: "imputation_fj_tm",
                explanation,
                shares,
            });
        }
    }
    Ok(Split { currency: ctx.currency, lines, adjustments, notes })
}

fn payer(c: &Cover) -> Party {
    Party::Payer { payer_id: c.payer_id, coverage_id: c.coverage_id, role: c.role, name: c.payer_name.clone() }
}

/// The first exemption among `covers` whose effects include `effect` on `day`, with its cover.
fn exempting<'c>(covers: &[&'c Cover], params: &ParameterSet<'_>, effect: Effect, day: Date) -> Option<(&'c Cover, Exemption)> {
    covers.iter().find_map(|c| c.exemptions.iter().find(|e| params.effects(**e, day).contains(&effect)).map(|e| (*c, *e)))
}

/// `format!` when the split writes its sentences, an empty string otherwise.
macro_rules! say {
    ($on:expr, $($t:tt)*) => {
        if $on { format!($($t)*) } else { String::new() }
    };
}

#[allow(clippy::too_many_arguments)]
fn split_run(
    r: &Run,
    cat: Category,
    covers: &[&Cover],
    ctx: &SplitContext<'_>,
    params: &ParameterSet<'_>,
    pf_text: Option<&str>,
    used_days: &mut HashMap<(i64, Item), i64>,
) -> Result<Vec<(Share, bool)>, ValuationError> {
    let ex = ctx.explain;
    let a = r.amount;
    let d = r.day;
    let cur = ctx.currency;
    let mut out: Vec<(Share, bool)> = Vec::new();
    let mut rest = a;
    let mut patient_why: Vec<String> = Vec::new();
    let compulsory = covers.iter().find(|c| c.role == CoverageRole::Obligatoire).copied();
    // Whether what is left after the insurer is the patient's participation (TM or FJ), which
    // the imputation compares: not for someone without compulsory cover, nor under an exemption.
    let mut participation = match cat {
        Category::Sejour => compulsory.is_some(),
        _ => true,
    };
    let take = |out: &mut Vec<(Share, bool)>, rest: &mut Money, party: Party, m: Money, why: String, part: bool| -> Result<(), ValuationError> {
        let m = Money::new(m.minor.clamp(0, rest.minor.max(0)), cur);
        if !m.is_zero() {
            *rest = rest.checked_sub(m).map_err(money_err)?;
            out.push((Share { party, amount: m, explanation: why }, part));
        }
        Ok(())
    };
    match cat {
        Category::Sejour => match compulsory {
            Some(c) => {
                let tm_rate = params.rate(ParameterKey::TauxTm, d)?;
                let own = c.rate(Category::Sejour);
                let (part, why) = if !r.pf.is_zero() || pf_text.is_some() {
                    (r.pf, say!(ex, "{} : tarif journalier moins la participation forfaitaire (art. R160-16 CSS)", c.payer_name))
                } else if let Some((_, e)) = exempting(covers, params, Effect::Tm, d) {
                    (Money::zero(cur), say!(ex, "{} : 100 % {}, exonération du ticket modérateur : {} (art. L160-14 CSS)", c.payer_name, what(cat), e.label()))
                } else if !r.tm_due {
                    (Money::zero(cur), say!(ex, "{} : 100 % {} à partir du 31e jour d'hospitalisation", c.payer_name, what(cat)))
                } else {
                    let pays = BasisPoints(own.0.max(10_000 - tm_rate.0.min(10_000)));
                    let amo = apply_rate(a, pays, Rounding::HalfUp).map_err(money_err)?;
                    patient_why.push(say!(ex, "ticket modérateur {}", pct(BasisPoints(10_000 - pays.0))));
                    (a.checked_sub(amo).map_err(money_err)?, say!(ex, "{} : {} {} (art. L160-13 CSS)", c.payer_name, pct(pays), what(cat)))
                };
                if !part.is_zero() && pf_text.is_some() {
                    patient_why.push("participation forfaitaire (art. R160-16 CSS)".into());
                }
                let amo = a.checked_sub(part).map_err(money_err)?;
                take(&mut out, &mut rest, payer(c), amo, why, false)?;
            }
            None => patient_why.push("aucune assurance obligatoire ouverte ce jour-là".into()),
        },
        Category::Actes => {
            if let Some(c) = compulsory {
                let (m, why) = match exempting(covers, params, Effect::Tm, d) {
                    Some((_, e)) => (a, say!(ex, "{} : 100 % {}, exonération : {}", c.payer_name, what(cat), e.label())),
                    None => (apply_rate(a, c.rate(cat), Rounding::HalfUp).map_err(money_err)?, say!(ex, "{} : {} {}", c.payer_name, pct(c.rate(cat)), what(cat))),
                };
                take(&mut out, &mut rest, payer(c), m, why, false)?;
            }
        }
        Category::ForfaitJournalier => match exempting(covers, params, Effect::Fj, d) {
            Some((holder, e)) => {
                let to = compulsory.filter(|c| c.exemptions.contains(&e)).unwrap_or(holder);
                participation = false;
                take(&mut out, &mut rest, payer(to), a, say!(ex, "{} : forfait journalier pris en charge, exonération : {} (art. L174-4 CSS)", to.payer_name, e.label()), false)?;
            }
            None => patient_why.push("forfait journalier, jamais remboursé par l'assurance obligatoire (art. L174-4 CSS)".into()),
        },
        Category::ChambreParticuliere => patient_why.push("chambre particulière, non remboursée par l'assurance obligatoire (art. R162-27 CSS)".into()),
        Category::PrestationsAnnexes => patient_why.push("prestation pour exigence particulière du patient (art. R162-27 CSS)".into()),
    }

    // Complementaries, in priority order, within their agreements.
    for c in covers.iter().filter(|c| c.role == CoverageRole::Complementaire) {
        if rest.minor <= 0 {
            break;
        }
        let rate = c.rate(cat);
        if rate.0 == 0 {
            continue;
        }
        let item = item_for(cat);
        let agreements: Vec<&Agreement> = ctx.agreements.iter().filter(|g| g.payer_id == c.payer_id).collect();
        let mut eligible = a;
        let mut why = say!(ex, "{} : {} {}", c.payer_name, pct(rate), what(cat));
        let mut cap: Option<Money> = None;
        let mut covered_days = r.days;
        if !agreements.is_empty() {
            let Some(g) = agreements.iter().find(|g| g.accepted && g.items.contains(&item) && g.covers(d)) else {
                let refused = agreements.iter().any(|g| !g.accepted);
                patient_why.push(if refused { say!(ex, "prise en charge refusée par {}", c.payer_name) } else { say!(ex, "{} non accordé par {} pour ce jour", item.label().to_lowercase(), c.payer_name) });
                continue;
            };
            why = say!(ex, "{why} (accord n° {})", g.number);
            // A PEC's cap per day and maximum days are those of the private room, as mutuelles
            // cap it (domain-rules §2.2); they do not cut the TM or the FJ.
            let capped = cat == Category::ChambreParticuliere;
            if let Some(max) = g.max_days.filter(|_| capped) {
                let used = used_days.entry((c.payer_id, item)).or_insert(0);
                let covered = (max - *used).clamp(0, r.days);
                *used += covered;
                covered_days = covered;
                if covered < r.days {
                    eligible = if covered == 0 { Money::zero(cur) } else { allocate(a, &[covered as u64, (r.days - covered) as u64]).map_err(money_err)?[0] };
                    why = say!(ex, "{why}, {max} jours au plus");
                    patient_why.push(say!(ex, "au-delà des {max} jours accordés par {}", c.payer_name));
                }
            }
            if let Some(cp) = g.cap_per_day.filter(|_| capped) {
                cap = Some(cp.checked_mul(covered_days).map_err(money_err)?);
                why = say!(ex, "{why}, plafond {} par jour", cp.format_fr());
            }
        }
        let mut m = apply_rate(eligible, rate, Rounding::HalfUp).map_err(money_err)?;
        if let Some(cp) = cap
            && m.minor > cp.minor
        {
            m = cp;
            patient_why.push(say!(ex, "au-delà du plafond de {}", c.payer_name));
        }
        take(&mut out, &mut rest, payer(c), m, why, participation)?;
    }

    // Aid: a card leaves its part to the patient; otherwise the aid's rate.
    for c in covers.iter().filter(|c| c.role == CoverageRole::Aide) {
        if rest.minor <= 0 {
            break;
        }
        let card = c.exemptions.iter().find_map(|e| match e {
            Exemption::CarteA => Some((ParameterKey::PartCarteA, "carte A")),
            Exemption::CarteB => Some((ParameterKey::PartCarteB, "carte B")),
            Exemption::CarteM => Some((ParameterKey::PartCarteM, "carte M")),
            _ => None,
        });
        let (m, why) = match card {
            Some((key, name)) => {
                let part = params.rate(key, d)?;
                let keep = apply_rate(a, part, Rounding::HalfUp).map_err(money_err)?;
                let m = Money::new((rest.minor - keep.minor).max(0), cur);
                if part.0 > 0 {
                    patient_why.push(say!(ex, "part du patient {} ({name}, aide médicale)", pct(part)));
                }
                (m, say!(ex, "{} : {name}, part du patient {} (aide médicale, domain-rules §6.3)", c.payer_name, pct(part)))
            }
            None => (apply_rate(a, c.rate(cat), Rounding::HalfUp).map_err(money_err)?, say!(ex, "{} : {} {}", c.payer_name, pct(c.rate(cat)), what(cat))),
        };
        take(&mut out, &mut rest, payer(c), m, why, participation)?;
    }
    if !rest.is_zero() {
        let why = if patient_why.is_empty() { "reste à la charge du patient".to_string() } else { say!(ex, "reste à la charge du patient : {}", patient_why.join(", ")) };
        out.push((Share { party: Party::Patient, amount: rest, explanation: why }, participation));
    }
    Ok(out)
}
