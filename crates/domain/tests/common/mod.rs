//! Strategies for extreme inputs, shared by the `*_props.rs` suites: integers at their bounds,
//! dates at jiff's limits, and empty, huge, control-character and non-Latin strings.
#![allow(dead_code)]

use jiff::civil::Date;
use proptest::prelude::*;

/// Any `i64`, biased towards the bounds and small values.
pub fn ext_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(i64::MIN + 1), Just(i64::MAX - 1), Just(0), Just(1), Just(-1)],
        2 => -10_000i64..10_000,
        1 => prop_oneof![Just(i64::from(i32::MAX)), Just(i64::from(i32::MIN)), Just(8_000_000), Just(-8_000_000)],
        2 => any::<i64>(),
    ]
}

/// Any `i32`, biased towards the bounds and small values.
pub fn ext_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        2 => prop_oneof![Just(i32::MIN), Just(i32::MAX), Just(0), Just(1), Just(-1), Just(7_304_483), Just(-7_304_483)],
        2 => -1_000i32..1_000,
        2 => any::<i32>(),
    ]
}

/// Any `u64`, biased towards the bounds.
pub fn ext_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => prop_oneof![Just(u64::MAX), Just(u64::MAX - 1), Just(0), Just(1)],
        2 => 0u64..10_000,
        2 => any::<u64>(),
    ]
}

/// Any date jiff can represent (-9999-01-01 to 9999-12-31), biased towards the limits and today.
pub fn ext_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        2 => prop_oneof![Just(Date::MIN), Just(Date::MAX), Just(jiff::civil::date(2026, 12, 1)), Just(jiff::civil::date(2024, 2, 29))],
        2 => (-9999i16..=9999, 1i8..=12, 1i8..=31).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap_or_else(|_| Date::new(y, m, 28).unwrap())),
        2 => (1900i16..2100, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| jiff::civil::date(y, m, d)),
        1 => (0i16..30, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| jiff::civil::date(9999 - y, m, d)),
        1 => (0i16..30, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| jiff::civil::date(-9999 + y, m, d)),
    ]
}

/// Strings that have broken parsers before: empty, blanks, every Unicode category (control,
/// combining, right-to-left, emoji), multi-byte characters at every position, and huge ones.
pub fn wild_string() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => prop_oneof![Just(" \t\r\n\u{A0}\u{202F}".to_string()), Just("\u{0}".to_string()), Just("\u{FEFF}".to_string()), Just("\u{10FFFF}".to_string())],
        3 => "\\PC{0,40}",
        2 => ".{0,40}",
        2 => "[0-9a-zA-Z /.,:{}%€'’-]{0,30}",
        2 => "[éÉœŒßçÇ\u{0301}\u{0300}\u{2212}\u{202F}\u{A0}0-9A-Z-]{0,20}",
        1 => (any::<char>(), 1usize..20_000).prop_map(|(c, n)| c.to_string().repeat(n)),
        1 => ("\\PC{0,8}", 1usize..2_000).prop_map(|(s, n)| s.repeat(n)),
    ]
}
