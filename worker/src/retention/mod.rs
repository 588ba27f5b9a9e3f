//! Retention in customers' stores: checking a policy against the live schema ([`check`]),
//! previewing what the next run would remove ([`preview`]), and running a policy batch by batch
//! through the ledger's intent/receipt protocol ([`run`], over the steps every kind shares in
//! [`batches`]; the store's side is its connector's, see [`crate::stores::Connector`]), starting
//! runs on the policies' schedules ([`scheduler`]), and the figures `/metrics` shows
//! ([`metrics`]). Legal holds stop runs on held tables and exclude held subjects' rows
//! ([`holds`], [`held`]); where policies overlap, the narrower and then the longer one governs
//! the rows ([`overlap`]); hold owners are warned before their holds expire
//! ([`hold_warnings`]). Lethe's own retention is a set of built-in policies ([`builtin`]).

pub mod batches;
pub mod builtin;
pub mod check;
pub mod held;
pub mod hold_warnings;
pub mod holds;
pub mod metrics;
pub mod overlap;
pub mod preview;
pub mod preview_types;
pub mod run;
pub mod scheduler;
