//! Legal deadlines per regime.
//!
//! | regime | deadline | extension | acknowledgement |
//! |---|---|---|---|
//! | `gdpr`, `uk_gdpr` | one calendar month from receipt | once, by two months | — |
//! | `ccpa` | 45 days | once, by 45 days | 10 business days |
//! | `vcdpa` | 45 days | once, by 45 days | — |
//! | `lgpd` | 15 days | none | — |
//! | `other` | the organization's days (1-365) | the organization's extension days (0 = none) | — |
//!
//! A request's due date is fixed when it is received: changing the organization's `other`
//! deadline applies to requests received afterwards. An extension adds to the original due
//! date, by the organization's extension days in force when it is granted.
//!
//! A calendar month ends on the same day of the next month, or on that month's last day when it
//! is shorter (received 31 January → due 28 or 29 February). Business days are Monday to Friday;
//! public holidays are not modelled, which can only make the acknowledgement date earlier, never
//! later, than the law requires.

use time::{Date, Duration, Month, OffsetDateTime, Weekday};

use crate::domain::enums::Regime;

/// An organization's fallback deadline for the `other` regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgDeadlineDefaults {
    /// Days to answer.
    pub days: u16,
    /// Days an extension adds; 0 means no extension.
    pub extension_days: u16,
}

/// A length of time as the law counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Calendar months, clamped to the last day of shorter months.
    Months(u8),
    /// Calendar days.
    Days(u16),
}

/// The deadline rules of one regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineRules {
    /// Time to answer, from receipt.
    pub period: Period,
    /// What one extension adds, if the law allows one.
    pub extension: Option<Period>,
    /// Business days within which receipt must be acknowledged, if the law requires it.
    pub acknowledgement_business_days: Option<u16>,
}

/// The dates a new request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// When the answer is due.
    pub due_at: OffsetDateTime,
    /// When the acknowledgement is due, where the law requires one.
    pub acknowledgement_due_at: Option<OffsetDateTime>,
}

/// Why a deadline cannot be extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// The regime allows no extension.
    #[error("this regime does not allow the deadline to be extended")]
    NotAllowed,
    /// The original deadline has passed: the extension had to be decided and notified within it.
    #[error("the original deadline has passed; an extension must be decided and notified before it")]
    TooLate,
    /// The single allowed extension was already granted.
    #[error("the deadline was already extended once, which is all the law allows")]
    AlreadyExtended,
}

impl DeadlineRules {
    /// The rules of `regime`, with `defaults` for [`Regime::Other`].
    pub fn for_regime(regime: Regime, defaults: OrgDeadlineDefaults) -> Self {
        match regime {
            Regime::Gdpr | Regime::UkGdpr => Self {
                period: Period::Months(1),
                extension: Some(Period::Months(2)),
                acknowledgement_business_days: None,
            },
            Regime::Ccpa => Self {
                period: Period::Days(45),
                extension: Some(Period::Days(45)),
                acknowledgement_business_days: Some(10),
            },
            Regime::Vcdpa => Self {
                period: Period::Days(45),
                extension: Some(Period::Days(45)),
                acknowledgement_business_days: None,
            },
            Regime::Lgpd => Self { period: Period::Days(15), extension: None, acknowledgement_business_days: None },
            Regime::Other => Self {
                period: Period::Days(defaults.days),
                extension: (defaults.extension_days > 0).then_some(Period::Days(defaults.extension_days)),
                acknowledgement_business_days: None,
            },
        }
    }

    /// The deadlines of a request received at `received`.
    pub fn deadlines(&self, received: OffsetDateTime) -> Deadlines {
        Deadlines {
            due_at: add_period(received, self.period),
            acknowledgement_due_at: self.acknowledgement_business_days.map(|n| add_business_days(received, n)),
        }
    }

    /// The new due date after the one allowed extension. Months are counted from receipt so
    /// that month clamping does not shorten them (31 Jan + 3 months = 30 Apr, not 28 Apr); days
    /// are added to `original_due`, the due date the request got when it was received (an
    /// organization's `other` deadline may have changed since).
    pub fn extended_due(
        &self,
        received: OffsetDateTime,
        original_due: OffsetDateTime,
        already_extended: bool,
    ) -> Result<OffsetDateTime, ExtensionError> {
        let extension = self.extension.ok_or(ExtensionError::NotAllowed)?;
        if already_extended {
            return Err(ExtensionError::AlreadyExtended);
        }
        Ok(match (self.period, extension) {
            (Period::Months(a), Period::Months(b)) => add_months(received, u32::from(a) + u32::from(b)),
            (_, extension) => add_period(original_due, extension),
        })
    }
}

/// The provision that sets `regime`'s deadlines, for people to look up.
pub fn source(regime: Regime) -> &'static str {
    match regime {
        Regime::Gdpr => "GDPR Art. 12(3)",
        Regime::UkGdpr => "UK GDPR Art. 12(3)",
        Regime::Ccpa => "Cal. Civ. Code § 1798.130(a)(2); acknowledgement: 11 CCR § 7021",
        Regime::Vcdpa => "Va. Code § 59.1-577(B)(1)",
        Regime::Lgpd => "LGPD Art. 19(II)",
        Regime::Other => "the organization's own deadline",
    }
}

/// Adds a legal period to a point in time.
pub fn add_period(t: OffsetDateTime, period: Period) -> OffsetDateTime {
    match period {
        Period::Months(n) => add_months(t, u32::from(n)),
        Period::Days(n) => t + Duration::days(i64::from(n)),
    }
}

/// Adds calendar months, clamping the day to the target month's length.
pub fn add_months(t: OffsetDateTime, months: u32) -> OffsetDateTime {
    let date = t.date();
    let zero_based = date.month() as u32 - 1 + months;
    let year = date.year() + (zero_based / 12) as i32;
    let month = Month::try_from((zero_based % 12 + 1) as u8).expect("1..=12");
    let day = date.day().min(month.length(year));
    let new_date = Date::from_calendar_date(year, month, day).expect("clamped day is valid");
    t.replace_date(new_date)
}

/// Adds business days (Monday to Friday). A request received on a weekend starts counting on
/// the next Monday.
pub fn add_business_days(t: OffsetDateTime, days: u16) -> OffsetDateTime {
    let mut current = t;
    let mut left = days;
    while left > 0 {
        current += Duration::days(1);
        if !matches!(current.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DEFAULTS: OrgDeadlineDefaults = OrgDeadlineDefaults { days: 30, extension_days: 0 };

    fn due(regime: Regime, received: OffsetDateTime) -> OffsetDateTime {
        DeadlineRules::for_regime(regime, DEFAULTS).deadlines(received).due_at
    }

    #[test]
    fn gdpr_month_ends_clamp() {
        assert_eq!(due(Regime::Gdpr, datetime!(2026-01-31 10:00 UTC)), datetime!(2026-02-28 10:00 UTC));
        assert_eq!(due(Regime::Gdpr, datetime!(2028-01-31 10:00 UTC)), datetime!(2028-02-29 10:00 UTC));
        assert_eq!(due(Regime::UkGdpr, datetime!(2026-03-15 08:30 UTC)), datetime!(2026-04-15 08:30 UTC));
        assert_eq!(due(Regime::Gdpr, datetime!(2026-12-31 23:59 UTC)), datetime!(2027-01-31 23:59 UTC));
        assert_eq!(due(Regime::Gdpr, datetime!(2026-03-31 00:00 UTC)), datetime!(2026-04-30 00:00 UTC));
    }

    #[test]
    fn gdpr_extension_counts_from_receipt() {
        let rules = DeadlineRules::for_regime(Regime::Gdpr, DEFAULTS);
        let received = datetime!(2026-01-31 10:00 UTC);
        let due = rules.deadlines(received).due_at;
        assert_eq!(rules.extended_due(received, due, false).unwrap(), datetime!(2026-04-30 10:00 UTC));
        assert_eq!(rules.extended_due(received, due, true), Err(ExtensionError::AlreadyExtended));
        let leap = datetime!(2027-11-30 10:00 UTC);
        let due = rules.deadlines(leap).due_at;
        assert_eq!(rules.extended_due(leap, due, false).unwrap(), datetime!(2028-02-29 10:00 UTC));
    }

    #[test]
    fn day_based_regimes() {
        let received = datetime!(2026-11-02 09:00 UTC);
        assert_eq!(due(Regime::Ccpa, received), datetime!(2026-12-17 09:00 UTC));
        assert_eq!(due(Regime::Vcdpa, received), datetime!(2026-12-17 09:00 UTC));
        assert_eq!(due(Regime::Lgpd, received), datetime!(2026-11-17 09:00 UTC));
        assert_eq!(due(Regime::Other, received), datetime!(2026-12-02 09:00 UTC));
        let ccpa = DeadlineRules::for_regime(Regime::Ccpa, DEFAULTS);
        let due = ccpa.deadlines(received).due_at;
        assert_eq!(ccpa.extended_due(received, due, false).unwrap(), datetime!(2027-01-31 09:00 UTC));
    }

    #[test]
    fn extensions_the_law_does_not_allow() {
        let received = datetime!(2026-11-02 09:00 UTC);
        let lgpd = DeadlineRules::for_regime(Regime::Lgpd, DEFAULTS);
        assert_eq!(lgpd.extended_due(received, received, false), Err(ExtensionError::NotAllowed));
        let other = DeadlineRules::for_regime(Regime::Other, DEFAULTS);
        assert_eq!(other.extended_due(received, received, false), Err(ExtensionError::NotAllowed));
        let generous = DeadlineRules::for_regime(Regime::Other, OrgDeadlineDefaults { days: 30, extension_days: 30 });
        let due = generous.deadlines(received).due_at;
        assert_eq!(generous.extended_due(received, due, false).unwrap(), datetime!(2027-01-01 09:00 UTC));
    }

    #[test]
    fn an_other_regime_extension_adds_to_the_original_due_date() {
        // Received under a 10-day deadline; the organization has since moved to 60 days.
        let received = datetime!(2026-11-02 09:00 UTC);
        let then = DeadlineRules::for_regime(Regime::Other, OrgDeadlineDefaults { days: 10, extension_days: 0 });
        let due = then.deadlines(received).due_at;
        assert_eq!(due, datetime!(2026-11-12 09:00 UTC));
        let now = DeadlineRules::for_regime(Regime::Other, OrgDeadlineDefaults { days: 60, extension_days: 20 });
        assert_eq!(now.extended_due(received, due, false).unwrap(), datetime!(2026-12-02 09:00 UTC));
    }

    #[test]
    fn ccpa_acknowledgement_in_business_days() {
        let rules = DeadlineRules::for_regime(Regime::Ccpa, DEFAULTS);
        // Monday 2 Nov 2026 + 10 business days = Monday 16 Nov.
        let monday = rules.deadlines(datetime!(2026-11-02 09:00 UTC));
        assert_eq!(monday.acknowledgement_due_at, Some(datetime!(2026-11-16 09:00 UTC)));
        // Friday 6 Nov + 10 business days = Friday 20 Nov.
        let friday = rules.deadlines(datetime!(2026-11-06 17:00 UTC));
        assert_eq!(friday.acknowledgement_due_at, Some(datetime!(2026-11-20 17:00 UTC)));
        // Saturday 7 Nov: counting starts Monday, + 10 = Friday 20 Nov.
        let saturday = rules.deadlines(datetime!(2026-11-07 12:00 UTC));
        assert_eq!(saturday.acknowledgement_due_at, Some(datetime!(2026-11-20 12:00 UTC)));
        assert_eq!(DeadlineRules::for_regime(Regime::Gdpr, DEFAULTS).acknowledgement_business_days, None);
    }
}
