//! Dated versions of one key (a tariff code in its scope, a parameter): periods that never
//! overlap, and the plan for adding a version.

use jiff::civil::Date;

/// A validity period, both ends included; `to` open when `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Option<Date>,
}

impl Period {
    /// True when `day` is inside the period.
    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && self.to.is_none_or(|t| day <= t)
    }

    /// True when the two periods share at least one day.
    pub fn overlaps(&self, other: &Period) -> bool {
        let a_before_b = self.to.is_some_and(|t| t < other.from);
        let b_before_a = other.to.is_some_and(|t| t < self.from);
        !(a_before_b || b_before_a)
    }
}

/// What adding a version to a key does: the open version it closes (its id, and the day
/// before the new one as its last day), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionPlan {
    pub close: Option<(i64, Date)>,
}

/// Why a version cannot be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A version of the key starts on that day or later (versions are added in date order).
    LaterExists(Date),
    /// The new period ends before it starts.
    EndsBeforeStart,
    /// The new period would overlap a closed version (its first and last day).
    Overlaps(Date, Date),
    /// No day before the new start (the calendar's first day).
    OutOfRange,
}

impl PlanError {
    /// The French sentence for the form's `valid_from` field.
    pub fn message_fr(&self) -> String {
        use crate::fr::format_date_fr as d;
        match self {
            PlanError::LaterExists(x) => format!("Une version commence déjà le {} : une nouvelle version doit commencer après.", d(*x)),
            PlanError::EndsBeforeStart => "La fin de validité est avant le début.".into(),
            PlanError::Overlaps(a, b) => format!("Cette période chevauche la version du {} au {}.", d(*a), d(*b)),
            PlanError::OutOfRange => "Date hors limites.".into(),
        }
    }
}

/// Plans adding the version `new` to a key whose versions are `existing` (id, period): the
/// new version must start after every existing one; the open one (if any) is closed the day
/// before. After the plan is applied the periods of the key still never overlap.
pub fn plan_version(existing: &[(i64, Period)], new: Period) -> Result<VersionPlan, PlanError> {
    if new.to.is_some_and(|t| t < new.from) {
        return Err(PlanError::EndsBeforeStart);
    }
    if let Some((_, p)) = existing.iter().filter(|(_, p)| p.from >= new.from).min_by_key(|(_, p)| p.from) {
        return Err(PlanError::LaterExists(p.from));
    }
    let eve = new.from.yesterday().map_err(|_| PlanError::OutOfRange)?;
    let mut close = None;
    for (id, p) in existing {
        match p.to {
            None => close = Some((*id, eve)),
            Some(t) if t >= new.from => return Err(PlanError::Overlaps(p.from, t)),
            Some(_) => {}
        }
    }
    Ok(VersionPlan { close })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn p(from: Date, to: Option<Date>) -> Period {
        Period { from, to }
    }

    #[test]
    fn a_new_version_closes_the_open_one_the_day_before() {
        let v = [(1, p(date(2018, 1, 1), None))];
        let plan = plan_version(&v, p(date(2026, 3, 1), None)).unwrap();
        assert_eq!(plan.close, Some((1, date(2026, 2, 28))));
    }

    #[test]
    fn versions_are_added_in_date_order_and_never_overlap() {
        let v = [(1, p(date(2018, 1, 1), Some(date(2025, 12, 31)))), (2, p(date(2026, 3, 1), None))];
        assert_eq!(plan_version(&v, p(date(2026, 3, 1), None)), Err(PlanError::LaterExists(date(2026, 3, 1))));
        assert_eq!(plan_version(&v, p(date(2020, 1, 1), None)), Err(PlanError::LaterExists(date(2026, 3, 1))));
        let closed = [(1, p(date(2018, 1, 1), Some(date(2026, 12, 31))))];
        assert_eq!(plan_version(&closed, p(date(2026, 6, 1), None)), Err(PlanError::Overlaps(date(2018, 1, 1), date(2026, 12, 31))));
        assert_eq!(plan_version(&closed, p(date(2027, 1, 1), None)).unwrap().close, None);
        assert_eq!(plan_version(&[], p(date(2026, 2, 1), Some(date(2026, 1, 1)))), Err(PlanError::EndsBeforeStart));
        assert_eq!(plan_version(&[], p(Date::MIN, None)), Err(PlanError::OutOfRange));
    }
}
