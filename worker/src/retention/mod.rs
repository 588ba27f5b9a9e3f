//! Retention runs in customers' stores (SQL: [`sql`]; Redis key patterns: [`redis`]): checking a policy against the live schema
//! ([`check`]), the statements ([`sql`]), previewing what the next run would remove
//! ([`preview`]), and running a policy batch by batch through the ledger's intent/receipt
//! protocol ([`run`]), starting runs on the policies' schedules ([`scheduler`]), and the
//! figures `/metrics` shows ([`metrics`]). Legal holds stop runs on held tables and exclude
//! held subjects' rows ([`holds`]); where policies overlap, the narrower and then the longer
//! one governs the rows ([`overlap`]); hold owners are warned before their holds expire
//! ([`hold_warnings`]). Lethe's own retention is a set of built-in policies ([`builtin`]).

pub mod builtin;
pub mod check;
pub mod hold_warnings;
pub mod holds;
pub mod metrics;
pub mod overlap;
pub mod preview;
pub mod preview_types;
pub mod redis;
pub mod run;
pub mod scheduler;
pub mod sql;
