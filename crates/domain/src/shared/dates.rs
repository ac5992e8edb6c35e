//! Calendar arithmetic that cannot fail: day counts between any two dates of jiff's range
//! (years -9999 to 9999), used instead of adding a `Span` (which panics when built out of
//! range, and fails past the calendar's ends).

use jiff::civil::Date;

/// Whole days from `from` to `to` (negative when `to` is earlier). Never fails: the largest
/// difference, 7 304 483 days, is far inside `i64`.
pub fn days_between(from: Date, to: Date) -> i64 {
    from.duration_until(to).as_secs().div_euclid(86_400)
}

/// `d` plus `days`, or `None` past the calendar's ends (any `i64` accepted).
pub fn add_days(d: Date, days: i64) -> Option<Date> {
    let span = jiff::Span::new().try_days(days).ok()?;
    d.checked_add(span).ok()
}

/// `d` plus `years` (29 February becomes 28 February), or `None` past the calendar's ends.
pub fn add_years(d: Date, years: i64) -> Option<Date> {
    let span = jiff::Span::new().try_years(years).ok()?;
    d.checked_add(span).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn day_counts_and_additions() {
        assert_eq!(days_between(date(2026, 1, 1), date(2026, 12, 31)), 364);
        assert_eq!(days_between(date(2026, 12, 31), date(2026, 1, 1)), -364);
        assert_eq!(days_between(Date::MIN, Date::MAX), 7_304_483);
        assert_eq!(add_days(date(2026, 2, 28), 1), Some(date(2026, 3, 1)));
        assert_eq!(add_days(date(2026, 2, 28), i64::MAX), None);
        assert_eq!(add_days(date(2026, 2, 28), i64::MIN), None);
        assert_eq!(add_days(Date::MAX, 1), None);
        assert_eq!(add_years(date(2024, 2, 29), 1), Some(date(2025, 2, 28)));
        assert_eq!(add_years(date(2024, 2, 29), i64::MAX), None);
        assert_eq!(add_years(Date::MIN, -1), None);
    }
}
