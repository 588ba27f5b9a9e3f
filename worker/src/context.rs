//! What every job gets: the database, the keyring, the mailer and the queue.

use std::sync::Arc;
use std::time::Duration;

use lethe_entities::Keyring;
use lethe_entities::ledger::signer::LedgerSigner;
use sea_orm::DatabaseConnection;

use crate::export::ExportSettings;
use crate::ledger::{CheckpointSettings, Settlements};
use crate::mail::Mailer;
use crate::queue::JobQueue;
use crate::stores::Registry;

/// Rules for identity-verification codes.
#[derive(Debug, Clone, Copy)]
pub struct VerificationSettings {
    /// How long a code works.
    pub code_ttl: Duration,
    /// Wrong attempts allowed per code.
    pub max_attempts: i32,
}

impl Default for VerificationSettings {
    fn default() -> Self {
        Self { code_ttl: Duration::from_secs(15 * 60), max_attempts: 5 }
    }
}

/// How erasure works with internal HTTP services.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Lethe's public base URL: services call back `<public url>/v1/callbacks/tasks/<task>`.
    pub public_url: String,
    /// The wait before the first retry of a failed call; it doubles with each attempt.
    pub retry_after: Duration,
    /// Calls before the task fails with the service's last error.
    pub max_attempts: i32,
    /// How long a service that accepted the work may take to call back.
    pub callback_timeout: Duration,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            retry_after: Duration::from_secs(30),
            max_attempts: 5,
            callback_timeout: Duration::from_secs(24 * 3600),
        }
    }
}

/// Shared state handed to every job.
#[derive(Clone)]
pub struct JobContext {
    /// Lethe's own database.
    pub db: DatabaseConnection,
    /// Encryption and digest keys.
    pub keyring: Keyring,
    /// Outgoing mail.
    pub mailer: Arc<Mailer>,
    /// The queue, for jobs that enqueue follow-up jobs.
    pub queue: JobQueue,
    /// Verification-code rules.
    pub verification: VerificationSettings,
    /// Signs ledger checkpoints.
    pub ledger: Arc<LedgerSigner>,
    /// When checkpoints are signed.
    pub checkpoints: CheckpointSettings,
    /// Connections to the organizations' stores.
    pub stores: Registry,
    /// Calls to internal HTTP services.
    pub services: ServiceSettings,
    /// Where access packages live and how their links work.
    pub exports: ExportSettings,
    /// Settles ledger intents of concurrent jobs together (see [`Settlements`]).
    pub settlements: Settlements,
}
