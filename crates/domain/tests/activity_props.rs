//! Property tests for `quittance_domain::activity`: an act's amount is price × coefficient ×
//! quantity exactly (rounded half up once, to the minor unit); a subscription never counts a
//! day twice, however the period is cut; no parser panics on any input.

mod common;

use common::wild_string;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use quittance_domain::activity::input::{ActInput, SubscriptionInput, UnitsInput, parse_act, parse_subscription, parse_units};
use quittance_domain::activity::valuation::{act_amount, tv_days, value_act};
use quittance_domain::activity::{Act, ServiceKind, Subscription};
use quittance_domain::billing::Period;
use quittance_domain::billing::tariffs::{Coefficient, TariffCategory, TariffLine, Unit};
use quittance_domain::money::{Currency, Money};

fn day(n: i64) -> Date {
    date(2026, 1, 1).checked_add(jiff::Span::new().days(n)).expect("a day of 2026-2030")
}

fn act_line(minor: i64, currency: Currency) -> TariffLine {
    TariffLine {
        id: 1,
        code: "AMI".into(),
        label: "Acte infirmier".into(),
        category: TariffCategory::ActeCms,
        unit: Unit::Acte,
        price: Money::new(minor, currency),
        coefficient: None,
        site_id: None,
        service: String::new(),
        period: Period { from: date(2000, 1, 1), to: None },
        source: String::new(),
    }
}

proptest! {
    #[test]
    fn an_act_is_price_times_coefficient_times_quantity(minor in 0i64..100_000_000, coef in 1u32..=999_999, quantity in 1u32..=999, xpf in any::<bool>()) {
        let currency = if xpf { Currency::Xpf } else { Currency::Eur };
        let exact = i128::from(minor) * i128::from(coef) * i128::from(quantity);
        let amount = act_amount(Money::new(minor, currency), Coefficient(coef), quantity).unwrap();
        // 100 × amount is the exact product rounded half up: within (-50, +50] of it (a tie goes up).
        let diff = i128::from(amount.minor) * 100 - exact;
        prop_assert!((-49..=50).contains(&diff), "{minor} × {coef}/100 × {quantity} = {exact}/100 → {}", amount.minor);
        if exact % 100 == 0 {
            prop_assert_eq!(i128::from(amount.minor) * 100, exact);
        }
        prop_assert_eq!(amount.currency, currency);
        // The charge carries the same amount, its price and quantity.
        let a = Act { id: 1, date: date(2026, 11, 12), site_id: 1, code: "AMI".into(), quantity, coefficient: Some(Coefficient(coef)), cancelled: None };
        let c = value_act(&a, &[act_line(minor, currency)]).unwrap();
        prop_assert_eq!((c.amount, c.unit_price.minor, c.quantity), (amount, minor, i64::from(quantity)));
    }

    #[test]
    fn a_subscription_never_counts_a_day_twice(open in 0i64..400, len in proptest::option::of(0i64..200), from in 0i64..700, span in 0i64..400, cut in 0i64..400) {
        let s = Subscription {
            id: 1, site_id: 1, kind: ServiceKind::Tv, tv_code: "TV".into(), phone_activation_code: String::new(), phone_unit_code: String::new(),
            opened_on: day(open), closed_on: len.map(|l| day(open + l)),
        };
        let (f, t) = (day(from), day(from + span));
        let all = tv_days(&s, f, t);
        // Sorted, each day once, inside the period and the subscription.
        prop_assert!(all.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(all.iter().all(|d| *d >= f && *d <= t && *d >= s.opened_on && s.closed_on.is_none_or(|c| *d <= c)));
        // Cut in two consecutive periods: the same days, none twice.
        let c = day(from + cut.min(span));
        let mut parts = tv_days(&s, f, c);
        if let Ok(next) = c.tomorrow() {
            parts.extend(tv_days(&s, next, t));
        }
        prop_assert_eq!(&parts, &all);
        // The expected count: the overlap of the two intervals, inclusive.
        let end = s.closed_on.map_or(t, |x| x.min(t));
        let start = s.opened_on.max(f);
        let expected = if start > end { 0 } else { (end - start).get_days() as usize + 1 };
        prop_assert_eq!(all.len(), expected);
    }

    #[test]
    fn parsers_never_panic(a in wild_string(), b in wild_string(), c in wild_string(), d in wild_string()) {
        let _ = parse_act(&ActInput { site_id: a.clone(), act_date: b.clone(), practitioner: c.clone(), code: d.clone(), quantity: a.clone(), coefficient: b.clone(), external_id: c.clone() });
        let _ = parse_subscription(&SubscriptionInput { site_id: a.clone(), stay_id: b.clone(), kind: c.clone(), line_number: d.clone(), debtor: a.clone(), debtor_name: b.clone(), opened_on: c.clone() });
        let _ = parse_units(&UnitsInput { used_on: a, units: b, external_id: d });
    }
}
