//! Retention: policies that purge or anonymise data once it is older than promised, in the
//! organization's stores, on a cron schedule.
//!
//! * [`policy`]: what a policy says (target, age, filter, action, schedule, pace) and its
//!   structural checks (the live schema is checked by the worker);
//! * [`schedule`]: cron expressions evaluated in an IANA time zone.

pub mod policy;
pub mod schedule;

pub use policy::{AnonymiseColumn, Filter, FilterOp, PolicyAction, PolicySpec, SpecError};
pub use schedule::{Schedule, ScheduleError};
