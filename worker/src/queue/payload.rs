//! What each job carries, and the queue it runs on: the payloads stored in the queue.
//!
//! The work itself is in [`crate::jobs`]; a payload holds ids only (never personal data, which
//! the job reads from the database), so what sits in the queue tells nobody anything. Queue names
//! are set here explicitly, never derived from a Rust type name, which changes with a rename.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Job;

/// Start (or continue) fulfilling one approved request: locate, then export or erase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartFulfilment {
    /// Tenant.
    pub organization_id: Uuid,
    /// The approved request.
    pub request_id: Uuid,
    /// Which attempt this is after failures that may pass: 1 for the first (0, as jobs enqueued
    /// before retries were counted carry, is also the first). See [`crate::settings::RetrySettings`].
    #[serde(default)]
    pub attempt: u32,
}

impl Job for StartFulfilment {
    const QUEUE: &'static str = "lethe.start_fulfilment";
    const MAX_ATTEMPTS: usize = 8;
}

/// Send a (new) verification code for one request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendVerificationCode {
    /// Tenant.
    pub organization_id: Uuid,
    /// The request to verify.
    pub request_id: Uuid,
}

impl Job for SendVerificationCode {
    const QUEUE: &'static str = "lethe.send_verification_code";
    const MAX_ATTEMPTS: usize = 8;
}

/// Which change the person is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// The address is verified: the request is received, with its due date.
    Received,
    /// The deadline was extended, with the reason.
    Extended,
    /// The request was denied, with the reason and the right to complain.
    Denied,
    /// The request was carried out.
    Completed,
}

impl Notice {
    /// The notice's name, as in logs and idempotency keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Extended => "extended",
            Self::Denied => "denied",
            Self::Completed => "completed",
        }
    }
}

/// Tell the subject of one request about one change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendNotice {
    /// Tenant.
    pub organization_id: Uuid,
    /// The request.
    pub request_id: Uuid,
    /// What changed.
    pub notice: Notice,
}

impl Job for SendNotice {
    const QUEUE: &'static str = "lethe.send_notice";
    const MAX_ATTEMPTS: usize = 8;
}

/// Warn the owner of one hold that it expires soon.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendHoldWarning {
    /// Tenant.
    pub organization_id: Uuid,
    /// The hold.
    pub hold_id: Uuid,
    /// Which warning: 1 the 7-day one, 2 the 1-day one.
    pub warning: i16,
}

impl Job for SendHoldWarning {
    const QUEUE: &'static str = "lethe.send_hold_warning";
    const MAX_ATTEMPTS: usize = 8;
}

/// Work one retention run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRetention {
    /// Tenant.
    pub organization_id: Uuid,
    /// The run.
    pub run_id: Uuid,
    /// Which attempt this is after failures that may pass (as [`StartFulfilment::attempt`]).
    #[serde(default)]
    pub attempt: u32,
}

impl Job for RunRetention {
    const QUEUE: &'static str = "lethe.run_retention";
    const MAX_ATTEMPTS: usize = 8;
}

/// Tell an organization's admins that work gave up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendAlert {
    /// Tenant.
    pub organization_id: Uuid,
    /// What failed.
    pub alert: Alert,
}

/// Work that gave up, by its id: the job reads the code and message from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Alert {
    /// A request went `failed`.
    RequestFailed {
        /// The request.
        request_id: Uuid,
    },
    /// A retention run failed.
    RunFailed {
        /// The run.
        run_id: Uuid,
    },
    /// A webhook endpoint was disabled because its deliveries kept failing.
    WebhookDisabled {
        /// The endpoint.
        endpoint_id: Uuid,
    },
}

impl Job for SendAlert {
    const QUEUE: &'static str = "lethe.send_alert";
    const MAX_ATTEMPTS: usize = 8;
}

/// The attempt a payload's `attempt` field means: 0 (not counted) is the first.
pub fn attempt_number(attempt: u32) -> u32 {
    attempt.max(1)
}
