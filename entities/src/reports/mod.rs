//! Figures over an organization's requests, computed in SQL on Lethe's own database (SQLite or
//! PostgreSQL) so they stay fast at a million requests:
//!
//! * [`yearly`]: the metrics CCPA regulations § 7102 ask large businesses to publish for each
//!   calendar year: requests received, complied with in whole or in part, denied, and the
//!   median and mean days to respond, per kind.
//! * [`dashboard`]: the console's pictures: requests per week by kind, days to complete against
//!   the deadlines, requests overdue, rows purged by retention per week and webhook deliveries
//!   failing.
//!
//! Every figure is of one organization; years are calendar years in UTC.

pub mod dashboard;
mod percentiles;
mod sql;
pub mod yearly;

use time::{Date, Month, OffsetDateTime};

/// The years a report can be asked for.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=9998;

/// A calendar year (UTC): the period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Year(i32);

impl Year {
    /// The year `year`, if it is within [`YEARS`].
    pub fn new(year: i32) -> Option<Self> {
        YEARS.contains(&year).then_some(Self(year))
    }

    /// The year `now` is in.
    pub fn of(now: OffsetDateTime) -> Self {
        Self(now.year().clamp(*YEARS.start(), *YEARS.end()))
    }

    /// The year before this one (the year CCPA metrics are published for).
    pub fn previous(self) -> Self {
        Self((self.0 - 1).max(*YEARS.start()))
    }

    /// The year as a number.
    pub fn number(self) -> i32 {
        self.0
    }

    /// Its first instant, 1 January 00:00 UTC.
    pub fn start(self) -> OffsetDateTime {
        first_of(self.0)
    }

    /// The first instant of the next year: the period is `start() .. end()`.
    pub fn end(self) -> OffsetDateTime {
        first_of(self.0 + 1)
    }

    /// Weeks the year's charts have: 7-day periods from 1 January, the last one 1 or 2 days.
    pub fn weeks(self) -> usize {
        let days = (self.end() - self.start()).whole_days();
        usize::try_from(days).unwrap_or(365).div_ceil(7)
    }
}

fn first_of(year: i32) -> OffsetDateTime {
    Date::from_calendar_date(year, Month::January, 1).expect("a year within YEARS").midnight().assume_utc()
}

/// Rounds days to one decimal, as reports show them.
fn tenths(days: f64) -> f64 {
    (days * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_spans_from_new_year_to_new_year_in_weeks_of_seven_days() {
        let year = Year::new(2024).unwrap();
        assert_eq!(year.start().to_string(), "2024-01-01 0:00:00.0 +00:00:00");
        assert_eq!(year.end().year(), 2025);
        assert_eq!(year.weeks(), 53, "366 days");
        assert_eq!(Year::new(2025).unwrap().weeks(), 53, "365 days: the 53rd week is one day");
        assert_eq!(year.previous().number(), 2023);
    }

    #[test]
    fn years_outside_the_range_are_refused() {
        assert_eq!(Year::new(1999), None);
        assert_eq!(Year::new(9999), None);
        assert!(Year::new(2000).is_some());
    }

    #[test]
    fn days_are_rounded_to_tenths() {
        assert_eq!(tenths(12.345), 12.3);
        assert_eq!(tenths(0.06), 0.1);
    }
}
