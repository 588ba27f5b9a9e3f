//! What every job gets: the database, the keyring, the mailer and the queue.

use std::sync::Arc;
use std::time::Duration;

use lethe_entities::Keyring;
use lethe_entities::ledger::signer::LedgerSigner;
use sea_orm::DatabaseConnection;

use crate::ledger::CheckpointSettings;
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
}
