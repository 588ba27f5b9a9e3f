//! The service layer: one function per action, used by the JSON handlers, the console and the
//! portal alike. A service checks the principal's permission, validates its typed input (field
//! errors name the JSON API's fields), applies the change through the state machines in
//! `entities` and schedules what follows; callers only translate their input and present the
//! result. Errors are [`crate::error::ApiError`], mapped to HTTP in one place.

pub mod api_keys;
pub mod attested;
pub mod audit;
pub mod certificates;
pub mod datamaps;
pub mod drp;
pub mod holds;
pub mod idempotency;
pub mod intake;
pub mod ledger;
pub mod operators;
pub mod organization;
pub mod policies;
pub mod recipients;
pub mod reports;
pub mod requests;
pub mod retention_runs;
pub mod store_probes;
pub mod stores;
pub mod tasks;
pub mod webhooks;
