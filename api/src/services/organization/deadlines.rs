//! The organization's deadlines: the `other` regime's answer and extension days and the
//! console's due-soon window, which admins change, shown beside the deadlines the law sets for
//! the other regimes, which nobody can change.
//!
//! A request's due date is fixed when it is received: a change applies to requests received
//! afterwards, and existing requests keep their due dates. An extension granted later adds the
//! extension days in force then to the request's original due date.

use lethe_entities::domain::deadline::{self, DeadlineRules, Period};
use lethe_entities::domain::enums::Regime;
use lethe_entities::entity::organization::{self, DUE_SOON_DAYS, OTHER_DEADLINE_DAYS, OTHER_EXTENSION_DAYS};
use sea_orm::Iterable;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::change::{present, set_changed};
use crate::error::FieldError;

/// How the law counts a period.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodUnit {
    /// Calendar months: the same day of the month, or the last day of a shorter month.
    Months,
    /// Calendar days.
    Days,
}

/// A length of time as the law counts it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    /// Months or days.
    pub unit: PeriodUnit,
    /// How many.
    pub count: u16,
}

impl From<Period> for PeriodView {
    fn from(period: Period) -> Self {
        match period {
            Period::Months(n) => Self { unit: PeriodUnit::Months, count: u16::from(n) },
            Period::Days(n) => Self { unit: PeriodUnit::Days, count: n },
        }
    }
}

/// The deadlines the law sets for one regime (read-only).
#[derive(Debug, Serialize, ToSchema)]
pub struct LegalDeadlines {
    /// The regime.
    pub regime: Regime,
    /// Time to answer, from receipt.
    pub deadline: PeriodView,
    /// What the one extension the law allows adds; `null`: no extension.
    pub extension: Option<PeriodView>,
    /// Business days within which receipt must be acknowledged, where the law requires it.
    pub acknowledgement_business_days: Option<u16>,
    /// The provision that sets them.
    #[schema(example = "GDPR Art. 12(3)")]
    pub source: &'static str,
}

/// The organization's deadlines. Changes apply to requests received afterwards; existing
/// requests keep their due dates.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlinesView {
    /// Days to answer a request under the `other` regime (1-365).
    pub other_days: i32,
    /// Days one extension of an `other`-regime request adds (0-365; 0: no extension).
    pub other_extension_days: i32,
    /// A request due within this many days is marked due soon in the console's queue (1-60).
    pub due_soon_days: i32,
    /// The deadlines of every other regime, which the law sets and nobody can change here.
    pub legal: Vec<LegalDeadlines>,
}

impl DeadlinesView {
    /// The deadlines of `org`.
    pub fn of(org: &organization::Model) -> Self {
        let legal = Regime::iter()
            .filter(|r| *r != Regime::Other)
            .map(|regime| {
                let rules = DeadlineRules::for_regime(regime, org.deadline_defaults());
                LegalDeadlines {
                    regime,
                    deadline: rules.period.into(),
                    extension: rules.extension.map(PeriodView::from),
                    acknowledgement_business_days: rules.acknowledgement_business_days,
                    source: deadline::source(regime),
                }
            })
            .collect();
        Self {
            other_days: org.default_deadline_days,
            other_extension_days: org.default_extension_days,
            due_soon_days: org.due_soon_days,
            legal,
        }
    }
}

/// Changes to the deadlines; fields left out stay as they are. Requests already received keep
/// their due dates.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlinesChange {
    /// Days to answer a request under the `other` regime (1-365).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i32, required = false, example = 30)]
    pub other_days: Option<Option<i32>>,
    /// Days one extension of an `other`-regime request adds (0-365; 0: no extension).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i32, required = false, example = 0)]
    pub other_extension_days: Option<Option<i32>>,
    /// Days before its due date from which a request is marked due soon in the console (1-60).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i32, required = false, example = 7)]
    pub due_soon_days: Option<Option<i32>>,
}

/// Checks the values sent, adding an error per field outside its range (or `null`).
pub fn validate(change: &DeadlinesChange, errors: &mut Vec<FieldError>) {
    for (field, value, range) in [
        ("other_days", change.other_days, OTHER_DEADLINE_DAYS),
        ("other_extension_days", change.other_extension_days, OTHER_EXTENSION_DAYS),
        ("due_soon_days", change.due_soon_days, DUE_SOON_DAYS),
    ] {
        let fits = match value {
            None => true,
            Some(days) => days.is_some_and(|d| range.contains(&d)),
        };
        if !fits {
            errors.push(FieldError {
                field: format!("deadlines.{field}"),
                message: format!("a number of days from {} to {}", range.start(), range.end()),
            });
        }
    }
}

/// Sets the changed deadlines (already validated) on `active`, naming each in `changed`.
pub fn apply(
    org: &organization::Model,
    change: &DeadlinesChange,
    active: &mut organization::ActiveModel,
    changed: &mut Vec<&'static str>,
) {
    set_changed(
        &mut active.default_deadline_days,
        &org.default_deadline_days,
        change.other_days.flatten(),
        "deadlines.other_days",
        changed,
    );
    set_changed(
        &mut active.default_extension_days,
        &org.default_extension_days,
        change.other_extension_days.flatten(),
        "deadlines.other_extension_days",
        changed,
    );
    set_changed(
        &mut active.due_soon_days,
        &org.due_soon_days,
        change.due_soon_days.flatten(),
        "deadlines.due_soon_days",
        changed,
    );
}
