//! One module per job. Each job is idempotent: it re-reads the request and returns early when
//! there is nothing (left) to do.

pub mod run_retention;
pub mod send_alert;
pub mod send_hold_warning;
pub mod send_notice;
pub mod send_verification_code;
pub mod start_fulfilment;
