//! Retention runs in customers' stores: checking a policy against the live schema
//! ([`check`]), the statements ([`sql`]), previewing what the next run would remove
//! ([`preview`]), and running a policy batch by batch through the ledger's intent/receipt
//! protocol ([`run`]).

pub mod check;
pub mod preview;
pub mod run;
pub mod sql;
