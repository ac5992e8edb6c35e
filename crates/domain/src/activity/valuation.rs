//! Valuation of CMS acts and annexed services into [`Charge`]s, each priced by the tariff
//! line valid on its day (`billing::tariffs::find`: the site's line before the
//! establishment's) and explained in French.
//!
//! Rules (sources in `docs/billing-activity.md`):
//! - an act: tariff price × coefficient × quantity, the coefficient in hundredths, computed in
//!   integers and rounded half up to the minor unit once, on the act's amount ([`act_amount`]);
//! - television: one day per calendar day from the opening day to the closing day inclusive
//!   (an open subscription up to the last day valued); a day is never counted twice;
//! - telephone: the activation fee once, on the opening day; the call units × the unit price
//!   valid on the day they were used.

use jiff::civil::Date;

use super::{Act, Subscription, Units};
use crate::billing::days::run_text;
use crate::billing::tariffs::{Coefficient, TariffCategory, TariffLine, find};
use crate::billing::valuation::Charge;
use crate::fr::format_date_fr;
use crate::money::{Money, MoneyError};

/// Why activity cannot be valued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityError {
    /// No line of `code` prices that day for the site.
    NoTariff { code: String, day: Date },
    /// The code is priced, but as something else (an act code that is a TV tariff…).
    WrongCategory { code: String, expected: TariffCategory, found: TariffCategory },
    Money(MoneyError),
}

impl ActivityError {
    pub fn message_fr(&self) -> String {
        match self {
            ActivityError::NoTariff { code, day } => format!("Aucun tarif « {code} » en vigueur le {} pour ce site.", format_date_fr(*day)),
            ActivityError::WrongCategory { code, expected, found } => {
                format!("Le code « {code} » est un tarif « {} », pas « {} ».", found.label(), expected.label())
            }
            ActivityError::Money(e) => format!("Montant hors limites : {e}"),
        }
    }
}

impl From<MoneyError> for ActivityError {
    fn from(e: MoneyError) -> Self {
        ActivityError::Money(e)
    }
}

/// The amount of an act: `price × coefficient × quantity`, the coefficient being in hundredths
/// (`150` = 1,5). The product is computed exactly in 128-bit integers, then divided by 100 and
/// **rounded half up** to the minor unit (cent in EUR, franc in XPF): 3 × 1,25 × 1 XPF = 3,75 →
/// 4 XPF; 0,5 → 1. Prices are never negative; a result beyond `i64` is an overflow.
pub fn act_amount(price: Money, coefficient: Coefficient, quantity: u32) -> Result<Money, MoneyError> {
    let product = i128::from(price.minor) * i128::from(coefficient.0) * i128::from(quantity);
    // Half up (towards +∞ on a tie): floor((n + 50) / 100).
    let rounded = (product + 50).div_euclid(100);
    let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
    Ok(Money::new(minor, price.currency))
}

fn line_for<'a>(tariffs: &'a [TariffLine], code: &str, site_id: i64, day: Date, expected: TariffCategory) -> Result<&'a TariffLine, ActivityError> {
    let line = find(tariffs, code, Some(site_id), "", day).ok_or_else(|| ActivityError::NoTariff { code: code.into(), day })?;
    if line.category != expected {
        return Err(ActivityError::WrongCategory { code: code.into(), expected, found: line.category });
    }
    Ok(line)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// The charge of one act (a cancelled act is never valued: see [`value`]). The explanation
/// reads « Acte infirmier (par coefficient) AMI 2 × 380 XPF, le 12/11/2026 ».
pub fn value_act(act: &Act, tariffs: &[TariffLine]) -> Result<Charge, ActivityError> {
    let line = line_for(tariffs, &act.code, act.site_id, act.date, TariffCategory::ActeCms)?;
    let coefficient = act.coefficient.or(line.coefficient).unwrap_or(Coefficient(100));
    let amount = act_amount(line.price, coefficient, act.quantity)?;
    let times = if act.quantity == 1 { String::new() } else { format!(" × {} actes", act.quantity) };
    Ok(Charge {
        tariff_id: line.id,
        code: line.code.clone(),
        label: line.label.clone(),
        category: line.category,
        days: vec![act.date],
        quantity: i64::from(act.quantity),
        unit_price: line.price,
        amount,
        rule: "acte_cms",
        explanation: format!("{} {} {} × {}{times}, le {}", line.label, line.code, coefficient.format_fr(), line.price.format_fr(), format_date_fr(act.date)),
    })
}

/// The days a subscription bears television in `from..=to`: every calendar day from its
/// opening to its closing day inclusive (an open one: up to `to`), each once, sorted.
pub fn tv_days(sub: &Subscription, from: Date, to: Date) -> Vec<Date> {
    let start = sub.opened_on.max(from);
    let end = sub.closed_on.map_or(to, |c| c.min(to));
    let mut out = Vec::new();
    let mut d = start;
    while d <= end {
        out.push(d);
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    out
}

/// Charges of `code` over sorted `days`, one per tariff line met (a price change gives two).
fn daily(days: &[Date], code: &str, site_id: i64, tariffs: &[TariffLine], category: TariffCategory) -> Result<Vec<Charge>, ActivityError> {
    let mut runs: Vec<(&TariffLine, Vec<Date>)> = Vec::new();
    for d in days {
        let line = line_for(tariffs, code, site_id, *d, category)?;
        match runs.last_mut() {
            Some((l, v)) if l.id == line.id => v.push(*d),
            _ => runs.push((line, vec![*d])),
        }
    }
    runs.into_iter()
        .map(|(line, v)| {
            let n = i64::try_from(v.len()).map_err(|_| MoneyError::Overflow)?;
            Ok(Charge {
                tariff_id: line.id,
                code: line.code.clone(),
                label: line.label.clone(),
                category: line.category,
                explanation: format!("{} {} × {}, {} (jours d'ouverture et de clôture inclus)", line.label, line.price.format_fr(), plural(n as u64, "jour", "jours"), run_text(&v)),
                quantity: n,
                unit_price: line.price,
                amount: line.price.checked_mul(n)?,
                days: v,
                rule: "television_par_jour",
            })
        })
        .collect()
}

/// The charges of a subscription in `from..=to`: TV days, the activation fee (when the
/// opening day is in the period) and the call units used in the period, with the notes on
/// what is left out.
pub fn value_subscription(sub: &Subscription, units: &[Units], tariffs: &[TariffLine], from: Date, to: Date) -> Result<(Vec<Charge>, Vec<String>), ActivityError> {
    let mut charges = Vec::new();
    let mut notes = Vec::new();
    if sub.kind.has_tv() && !sub.tv_code.is_empty() {
        let days = tv_days(sub, from, to);
        charges.extend(daily(&days, &sub.tv_code, sub.site_id, tariffs, TariffCategory::Television)?);
        if sub.closed_on.is_none_or(|c| c > to) && !days.is_empty() {
            notes.push(format!("Télévision (abonnement n° {}) en cours : valorisée jusqu'au {}.", sub.id, format_date_fr(to)));
        }
    }
    if sub.kind.has_phone() {
        if !sub.phone_activation_code.is_empty() && sub.opened_on >= from && sub.opened_on <= to {
            let line = line_for(tariffs, &sub.phone_activation_code, sub.site_id, sub.opened_on, TariffCategory::TelephoneActivation)?;
            charges.push(Charge {
                tariff_id: line.id,
                code: line.code.clone(),
                label: line.label.clone(),
                category: line.category,
                days: vec![sub.opened_on],
                quantity: 1,
                unit_price: line.price,
                amount: line.price,
                rule: "telephone_mise_en_service",
                explanation: format!("{} {}, une fois, le {}", line.label, line.price.format_fr(), format_date_fr(sub.opened_on)),
            });
        }
        let mut used: Vec<Units> = units.iter().copied().filter(|u| u.date >= from && u.date <= to).collect();
        used.sort_by_key(|u| u.date);
        if !used.is_empty() && sub.phone_unit_code.is_empty() {
            notes.push(format!("Unités de l'abonnement n° {} non valorisées : l'offre n'a pas de tarif d'unité.", sub.id));
        } else if !used.is_empty() {
            // One charge per tariff line met, in date order.
            let mut runs: Vec<(&TariffLine, Vec<Date>, u64)> = Vec::new();
            for u in &used {
                let line = line_for(tariffs, &sub.phone_unit_code, sub.site_id, u.date, TariffCategory::TelephoneUnite)?;
                match runs.last_mut() {
                    Some((l, days, n)) if l.id == line.id => {
                        if days.last() != Some(&u.date) {
                            days.push(u.date);
                        }
                        *n += u64::from(u.units);
                    }
                    _ => runs.push((line, vec![u.date], u64::from(u.units))),
                }
            }
            for (line, days, n) in runs {
                let q = i64::try_from(n).map_err(|_| MoneyError::Overflow)?;
                charges.push(Charge {
                    tariff_id: line.id,
                    code: line.code.clone(),
                    label: line.label.clone(),
                    category: line.category,
                    explanation: format!("{} {} × {}, {}", line.label, line.price.format_fr(), plural(n, "unité", "unités"), run_text(&days)),
                    days,
                    quantity: q,
                    unit_price: line.price,
                    amount: line.price.checked_mul(q)?,
                    rule: "telephone_unites",
                });
            }
        }
    }
    Ok((charges, notes))
}

/// The charges of a patient's acts and subscriptions in `from..=to` (acts in date order, then
/// each subscription's), and the notes (cancelled acts, services still running).
pub fn value(acts: &[Act], subs: &[(Subscription, Vec<Units>)], tariffs: &[TariffLine], from: Date, to: Date) -> Result<(Vec<Charge>, Vec<String>), ActivityError> {
    let mut charges = Vec::new();
    let mut notes = Vec::new();
    let mut acts: Vec<&Act> = acts.iter().filter(|a| a.date >= from && a.date <= to).collect();
    acts.sort_by_key(|a| (a.date, a.id));
    for a in acts {
        match &a.cancelled {
            Some(reason) => notes.push(format!("Acte {} du {} annulé, non facturé : {reason}.", a.code, format_date_fr(a.date))),
            None => charges.push(value_act(a, tariffs)?),
        }
    }
    for (s, u) in subs {
        let (c, n) = value_subscription(s, u, tariffs, from, to)?;
        charges.extend(c);
        notes.extend(n);
    }
    Ok((charges, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::ServiceKind;
    use crate::billing::Period;
    use crate::money::Currency;
    use jiff::civil::date;

    fn line(id: i64, code: &str, label: &str, category: TariffCategory, minor: i64, cur: Currency, (from, to): (Date, Option<Date>)) -> TariffLine {
        TariffLine {
            id,
            code: code.into(),
            label: label.into(),
            category,
            unit: category.default_unit(),
            price: Money::new(minor, cur),
            coefficient: None,
            site_id: None,
            service: String::new(),
            period: Period { from, to },
            source: "test".into(),
        }
    }

    fn act(code: &str, day: Date, quantity: u32, coefficient: Option<u32>) -> Act {
        Act { id: 1, date: day, site_id: 7, code: code.into(), quantity, coefficient: coefficient.map(Coefficient), cancelled: None }
    }

    #[test]
    fn an_act_is_price_times_coefficient_times_quantity_rounded_half_up() {
        let ami = line(1, "AMI", "Acte infirmier (par coefficient)", TariffCategory::ActeCms, 380, Currency::Xpf, (date(2026, 1, 1), None));
        let c = value_act(&act("AMI", date(2026, 11, 12), 1, Some(200)), std::slice::from_ref(&ami)).unwrap();
        assert_eq!(c.amount, Money::new(760, Currency::Xpf));
        assert_eq!(c.explanation, "Acte infirmier (par coefficient) AMI 2 × 380\u{a0}XPF, le 12/11/2026");
        assert_eq!((c.quantity, c.rule, c.days.clone()), (1, "acte_cms", vec![date(2026, 11, 12)]));
        // 380 × 1,25 × 3 = 1 425; 3 × 1,5 = 4,5 → 5 (half up); 3 × 0,5 = 1,5 → 2.
        assert_eq!(value_act(&act("AMI", date(2026, 11, 12), 3, Some(125)), std::slice::from_ref(&ami)).unwrap().amount.minor, 1425);
        assert_eq!(act_amount(Money::new(3, Currency::Xpf), Coefficient(150), 1).unwrap().minor, 5);
        assert_eq!(act_amount(Money::new(3, Currency::Xpf), Coefficient(50), 1).unwrap().minor, 2);
        assert_eq!(act_amount(Money::new(3, Currency::Xpf), Coefficient(149), 1).unwrap().minor, 4);
        assert!(act_amount(Money::new(i64::MAX, Currency::Eur), Coefficient(999_999), u32::MAX).is_err());
        // No coefficient: the tariff's, else 1.
        let mut with_default = ami.clone();
        with_default.coefficient = Some(Coefficient(300));
        assert_eq!(value_act(&act("AMI", date(2026, 11, 12), 1, None), &[with_default]).unwrap().amount.minor, 1140);
        assert_eq!(value_act(&act("AMI", date(2026, 11, 12), 2, None), std::slice::from_ref(&ami)).unwrap().explanation, "Acte infirmier (par coefficient) AMI 1 × 380\u{a0}XPF × 2 actes, le 12/11/2026");
    }

    #[test]
    fn a_missing_or_foreign_tariff_is_said_in_french() {
        let tv = line(1, "TV", "Télévision", TariffCategory::Television, 450, Currency::Eur, (date(2026, 1, 1), None));
        let e = value_act(&act("C", date(2025, 12, 31), 1, None), std::slice::from_ref(&tv)).unwrap_err();
        assert_eq!(e.message_fr(), "Aucun tarif « C » en vigueur le 31/12/2025 pour ce site.");
        let e = value_act(&act("TV", date(2026, 3, 1), 1, None), &[tv]).unwrap_err();
        assert_eq!(e.message_fr(), "Le code « TV » est un tarif « Télévision », pas « Acte de centre médico-social ».");
    }

    fn sub(opened: Date, closed: Option<Date>) -> Subscription {
        Subscription {
            id: 3,
            site_id: 7,
            kind: ServiceKind::TvTelephone,
            tv_code: "TV".into(),
            phone_activation_code: "TEL-MES".into(),
            phone_unit_code: "TEL-U".into(),
            opened_on: opened,
            closed_on: closed,
        }
    }

    fn hospital_tariffs() -> Vec<TariffLine> {
        vec![
            line(1, "TV", "Télévision", TariffCategory::Television, 450, Currency::Eur, (date(2026, 1, 1), Some(date(2026, 11, 30)))),
            line(2, "TV", "Télévision", TariffCategory::Television, 500, Currency::Eur, (date(2026, 12, 1), None)),
            line(3, "TEL-MES", "Téléphone : mise en service", TariffCategory::TelephoneActivation, 300, Currency::Eur, (date(2026, 1, 1), None)),
            line(4, "TEL-U", "Unité téléphonique", TariffCategory::TelephoneUnite, 15, Currency::Eur, (date(2026, 1, 1), None)),
        ]
    }

    #[test]
    fn tv_counts_opening_and_closing_days_and_a_price_change_splits() {
        let t = hospital_tariffs();
        let s = sub(date(2026, 11, 28), Some(date(2026, 12, 2)));
        let units = [Units { date: date(2026, 11, 29), units: 12 }, Units { date: date(2026, 11, 29), units: 3 }, Units { date: date(2026, 12, 5), units: 9 }];
        let (c, notes) = value_subscription(&s, &units, &t, date(2026, 11, 1), date(2026, 12, 31)).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        let tv: Vec<_> = c.iter().filter(|c| c.category == TariffCategory::Television).collect();
        assert_eq!((tv[0].quantity, tv[0].amount.minor, tv[1].quantity, tv[1].amount.minor), (3, 1350, 2, 1000));
        assert_eq!(tv[0].explanation, "Télévision 4,50\u{a0}€ × 3 jours, du 28/11/2026 au 30/11/2026 (jours d'ouverture et de clôture inclus)");
        let act = c.iter().find(|c| c.category == TariffCategory::TelephoneActivation).unwrap();
        assert_eq!((act.amount.minor, act.explanation.as_str()), (300, "Téléphone : mise en service 3,00\u{a0}€, une fois, le 28/11/2026"));
        let u = c.iter().find(|c| c.category == TariffCategory::TelephoneUnite).unwrap();
        assert_eq!((u.quantity, u.amount.minor), (24, 360));
        assert_eq!(u.explanation, "Unité téléphonique 0,15\u{a0}€ × 24 unités, le 29/11/2026, le 05/12/2026");
        assert_eq!(u.days, vec![date(2026, 11, 29), date(2026, 12, 5)]);
    }

    #[test]
    fn an_open_subscription_is_valued_to_the_end_of_the_period_and_says_so() {
        let t = hospital_tariffs();
        let s = sub(date(2026, 11, 20), None);
        let (c, notes) = value_subscription(&s, &[], &t, date(2026, 11, 25), date(2026, 11, 26)).unwrap();
        assert_eq!(c.len(), 1, "no activation fee outside the period: {c:?}");
        assert_eq!(c[0].quantity, 2);
        assert_eq!(notes, vec!["Télévision (abonnement n° 3) en cours : valorisée jusqu'au 26/11/2026."]);
        // Nothing before the opening day.
        assert!(tv_days(&s, date(2026, 11, 1), date(2026, 11, 19)).is_empty());
    }

    #[test]
    fn cancelled_acts_are_noted_not_billed() {
        let ami = line(1, "AMI", "Acte infirmier", TariffCategory::ActeCms, 380, Currency::Xpf, (date(2026, 1, 1), None));
        let mut a = act("AMI", date(2026, 11, 12), 1, None);
        a.cancelled = Some("doublon".into());
        let b = Act { id: 2, ..act("AMI", date(2026, 11, 13), 1, None) };
        let (c, n) = value(&[a, b], &[], &[ami], date(2026, 11, 1), date(2026, 11, 30)).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(n, vec!["Acte AMI du 12/11/2026 annulé, non facturé : doublon."]);
    }
}
