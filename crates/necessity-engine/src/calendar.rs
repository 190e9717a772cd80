//! The time rules of `GEN-T`, in one place. Every window counts back from the service date;
//! month arithmetic lands on the same calendar day, clamped to the month's last day.

use jiff::civil::Date;
use jiff::{Span, ToSpan};

/// A length of time as the criteria state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Days(i64),
    Weeks(i64),
    Months(i64),
    Years(i64),
}

impl Period {
    fn span(self) -> Option<Span> {
        match self {
            // "N weeks" means N x 7 days.
            Self::Days(n) => Span::new().try_days(n).ok(),
            Self::Weeks(n) => Span::new().try_days(n.checked_mul(7)?).ok(),
            Self::Months(n) => Span::new().try_months(n).ok(),
            Self::Years(n) => Span::new().try_years(n).ok(),
        }
    }

    /// The same calendar day this long before `date` (clamped to a month's end).
    #[must_use]
    pub fn before(self, date: Date) -> Date {
        self.span().and_then(|s| date.checked_sub(s).ok()).unwrap_or(Date::MIN)
    }

    /// The same calendar day this long after `date` (clamped to a month's end).
    #[must_use]
    pub fn after(self, date: Date) -> Date {
        self.span().and_then(|s| date.checked_add(s).ok()).unwrap_or(Date::MAX)
    }
}

/// "Within the N months before the service date": after the same day N months earlier, and
/// not after the service date. An event exactly N months earlier is outside.
#[must_use]
pub fn within(event: Date, service: Date, period: Period) -> bool {
    event > period.before(service) && event <= service
}

/// "More than N months before": before the same calendar day N months earlier.
#[must_use]
pub fn more_than_before(event: Date, service: Date, period: Period) -> bool {
    event < period.before(service)
}

/// "At least N months have passed since": on or before the same calendar day N months earlier.
#[must_use]
pub fn at_least_ago(event: Date, service: Date, period: Period) -> bool {
    event <= period.before(service)
}

/// "Relief lasting at least N months": `start + days` is on or after `start + N months`.
#[must_use]
pub fn lasted_at_least(start: Date, days: i64, period: Period) -> bool {
    let end = days.days();
    match start.checked_add(end) {
        Ok(end) => end >= period.after(start),
        Err(_) => days > 0,
    }
}

/// An episode from `start` to `end` lasts at least `period`: N x 7 days for weeks, the same
/// calendar day N months later for months.
#[must_use]
pub fn spans_at_least(start: Date, end: Date, period: Period) -> bool {
    end >= period.after(start)
}

/// Whole years from `birth` to `on`.
#[must_use]
pub fn age_in_years(birth: Date, on: Date) -> i64 {
    let mut years = i64::from(on.year()) - i64::from(birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn within_excludes_the_day_exactly_n_months_earlier() {
        let service = date(2026, 7, 15);
        assert!(!within(date(2025, 7, 15), service, Period::Months(12)));
        assert!(within(date(2025, 7, 16), service, Period::Months(12)));
        assert!(within(service, service, Period::Months(12)));
        assert!(!within(date(2026, 7, 16), service, Period::Months(12)));
    }

    #[test]
    fn month_arithmetic_clamps_to_the_months_last_day() {
        // 2026-03-31 minus 1 month is 2026-02-28: an event on 02-28 is outside, 03-01 inside.
        let service = date(2026, 3, 31);
        assert!(!within(date(2026, 2, 28), service, Period::Months(1)));
        assert!(within(date(2026, 3, 1), service, Period::Months(1)));
        assert_eq!(Period::Months(1).before(date(2024, 3, 31)), date(2024, 2, 29));
    }

    #[test]
    fn weeks_are_seven_days() {
        let service = date(2026, 7, 15);
        assert_eq!(Period::Weeks(6).before(service), date(2026, 6, 3));
        assert!(within(date(2026, 6, 4), service, Period::Days(42)));
        assert!(!within(date(2026, 6, 3), service, Period::Days(42)));
    }

    #[test]
    fn more_than_before_and_at_least_ago_differ_on_the_boundary_day() {
        let service = date(2026, 7, 15);
        let boundary = date(2026, 1, 15);
        assert!(!more_than_before(boundary, service, Period::Months(6)));
        assert!(more_than_before(date(2026, 1, 14), service, Period::Months(6)));
        assert!(at_least_ago(boundary, service, Period::Months(6)));
        assert!(!at_least_ago(date(2026, 1, 16), service, Period::Months(6)));
    }

    #[test]
    fn relief_lasting_months_uses_calendar_months() {
        let start = date(2026, 1, 31);
        // + 3 months is 2026-04-30 (clamped): 89 days reach it, 88 do not.
        assert!(lasted_at_least(start, 89, Period::Months(3)));
        assert!(!lasted_at_least(start, 88, Period::Months(3)));
    }

    #[test]
    fn episode_spans() {
        assert!(spans_at_least(date(2026, 1, 1), date(2026, 1, 29), Period::Weeks(4)));
        assert!(!spans_at_least(date(2026, 1, 1), date(2026, 1, 28), Period::Weeks(4)));
        assert!(spans_at_least(date(2026, 1, 31), date(2026, 7, 31), Period::Months(6)));
        assert!(!spans_at_least(date(2026, 1, 31), date(2026, 7, 30), Period::Months(6)));
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_in_years(date(2008, 7, 15), date(2026, 7, 15)), 18);
        assert_eq!(age_in_years(date(2008, 7, 16), date(2026, 7, 15)), 17);
        assert_eq!(age_in_years(date(2008, 2, 29), date(2026, 2, 28)), 17);
    }
}
