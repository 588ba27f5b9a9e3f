//! Cron schedules in an IANA time zone.
//!
//! Expressions have five fields (`minute hour day-of-month month day-of-week`, as in crontab)
//! or six with leading seconds (`sec min hour dom month dow`, as the `cron` crate reads them).
//! Ticks are computed in the policy's time zone, so `0 3 * * *` in `Europe/Stockholm` is 03:00
//! local time in winter and in summer. A local time that does not exist on the day clocks move
//! forward is skipped; one that happens twice when they move back fires once, at its first
//! occurrence.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use time::OffsetDateTime;

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Not a cron expression.
    #[error("not a cron expression: give five fields (minute hour day month weekday), e.g. `0 3 * * *`")]
    Cron,
    /// Not an IANA time zone name.
    #[error("not an IANA time zone name (e.g. `Europe/Stockholm`, `UTC`)")]
    TimeZone,
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: cron::Schedule,
    tz: Tz,
}

/// Whether `name` is an IANA time zone name.
pub fn is_time_zone(name: &str) -> bool {
    Tz::from_str(name).is_ok()
}

/// A crontab weekday field with its numbers (0-7, Sunday 0 or 7) as day names; steps stay
/// numbers. `None` for a number out of range.
fn crontab_weekdays(field: &str) -> Option<String> {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let name = |token: &str| -> Option<String> {
        match token.parse::<usize>() {
            Ok(n) => NAMES.get(n).map(|d| (*d).to_owned()),
            Err(_) => Some(token.to_owned()),
        }
    };
    let mut parts = Vec::new();
    for part in field.split(',') {
        let (range, step) = part.split_once('/').map_or((part, None), |(r, s)| (r, Some(s)));
        let days = range.split('-').map(name).collect::<Option<Vec<_>>>()?.join("-");
        parts.push(match step {
            Some(step) => format!("{days}/{step}"),
            None => days,
        });
    }
    Some(parts.join(","))
}

impl Schedule {
    /// Parses `expression` to run in `time_zone`.
    pub fn parse(expression: &str, time_zone: &str) -> Result<Self, ScheduleError> {
        let tz = Tz::from_str(time_zone).map_err(|_| ScheduleError::TimeZone)?;
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let normalised = match fields.as_slice() {
            // crontab: weekdays 0-7 with 0 and 7 for Sunday; the `cron` crate counts 1-7 from
            // Sunday, so crontab's numbers are written as names.
            [minute, hour, day, month, weekday] => {
                format!("0 {minute} {hour} {day} {month} {}", crontab_weekdays(weekday).ok_or(ScheduleError::Cron)?)
            }
            [_, _, _, _, _, _] => fields.join(" "),
            _ => return Err(ScheduleError::Cron),
        };
        let cron = cron::Schedule::from_str(&normalised).map_err(|_| ScheduleError::Cron)?;
        Ok(Self { cron, tz })
    }

    /// The first tick strictly after `at`.
    pub fn next_after(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let utc = DateTime::<Utc>::from_timestamp(at.unix_timestamp(), at.nanosecond())?;
        let next = self.cron.after(&utc.with_timezone(&self.tz)).next()?;
        OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
    }

    /// The last tick at or before `at` that is later than `since`, if any: the one tick a
    /// scheduler that was down from `since` to `at` catches up on.
    pub fn latest_between(&self, since: OffsetDateTime, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let mut latest = None;
        let mut cursor = since;
        while let Some(next) = self.next_after(cursor) {
            if next > at {
                break;
            }
            latest = Some(next);
            cursor = next;
        }
        latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn five_and_six_fields_in_a_time_zone() {
        let s = Schedule::parse("0 3 * * *", "Europe/Stockholm").unwrap();
        // Winter: UTC+1.
        assert_eq!(s.next_after(datetime!(2026-01-10 12:00 UTC)), Some(datetime!(2026-01-11 02:00 UTC)));
        // Summer: UTC+2.
        assert_eq!(s.next_after(datetime!(2026-07-10 12:00 UTC)), Some(datetime!(2026-07-11 01:00 UTC)));
        let six = Schedule::parse("30 0 3 * * *", "UTC").unwrap();
        assert_eq!(six.next_after(datetime!(2026-01-10 12:00 UTC)), Some(datetime!(2026-01-11 03:00:30 UTC)));
        assert_eq!(Schedule::parse("0 3 * *", "UTC").unwrap_err(), ScheduleError::Cron);
        assert_eq!(Schedule::parse("0 25 * * *", "UTC").unwrap_err(), ScheduleError::Cron);
        assert_eq!(Schedule::parse("0 3 * * *", "Mars/Olympus").unwrap_err(), ScheduleError::TimeZone);
        // crontab weekdays: 0 and 7 are Sunday, ranges and lists too.
        let sunday = Schedule::parse("0 2 * * 0", "UTC").unwrap();
        assert_eq!(sunday.next_after(datetime!(2026-12-01 12:00 UTC)), Some(datetime!(2026-12-06 02:00 UTC)));
        let seven = Schedule::parse("0 2 * * 7", "UTC").unwrap();
        assert_eq!(seven.next_after(datetime!(2026-12-01 12:00 UTC)), Some(datetime!(2026-12-06 02:00 UTC)));
        let weekdays = Schedule::parse("0 2 * * 1-5", "UTC").unwrap();
        assert_eq!(weekdays.next_after(datetime!(2026-12-04 12:00 UTC)), Some(datetime!(2026-12-07 02:00 UTC)));
        let list = Schedule::parse("0 2 * * 0,6", "UTC").unwrap();
        assert_eq!(list.next_after(datetime!(2026-12-01 12:00 UTC)), Some(datetime!(2026-12-05 02:00 UTC)));
        assert_eq!(Schedule::parse("0 2 * * 8", "UTC").unwrap_err(), ScheduleError::Cron);
    }

    #[test]
    fn daylight_saving_changes() {
        // Europe/Stockholm moves from 02:00 to 03:00 on 2026-03-29: 02:30 does not exist that
        // day and is skipped; the day after it is 02:30 CEST (00:30 UTC).
        let s = Schedule::parse("30 2 * * *", "Europe/Stockholm").unwrap();
        assert_eq!(s.next_after(datetime!(2026-03-28 12:00 UTC)), Some(datetime!(2026-03-30 00:30 UTC)));
        // On 2026-10-25 clocks go from 03:00 back to 02:00: 02:30 happens twice, fired once.
        let ticks: Vec<_> = std::iter::successors(s.next_after(datetime!(2026-10-24 12:00 UTC)), |t| s.next_after(*t))
            .take(2)
            .collect();
        assert_eq!(ticks, [datetime!(2026-10-25 00:30 UTC), datetime!(2026-10-26 01:30 UTC)]);
        // An hourly schedule runs 23 times on the short day, in UTC terms without a gap.
        let hourly = Schedule::parse("0 * * * *", "Europe/Stockholm").unwrap();
        let day: Vec<_> =
            std::iter::successors(hourly.next_after(datetime!(2026-03-28 22:59 UTC)), |t| hourly.next_after(*t))
                .take_while(|t| *t < datetime!(2026-03-29 22:00 UTC))
                .collect();
        assert_eq!(day.len(), 23);
    }

    #[test]
    fn a_missed_schedule_is_caught_up_once() {
        let s = Schedule::parse("0 * * * *", "UTC").unwrap();
        // Down from 10:10 to 15:20: five ticks missed, one caught up, the latest.
        assert_eq!(
            s.latest_between(datetime!(2026-05-01 10:10 UTC), datetime!(2026-05-01 15:20 UTC)),
            Some(datetime!(2026-05-01 15:00 UTC))
        );
        assert_eq!(s.latest_between(datetime!(2026-05-01 10:10 UTC), datetime!(2026-05-01 10:50 UTC)), None);
    }
}
