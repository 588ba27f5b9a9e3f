//! What every job gets: the database, the keyring, the mailer and the queue.

use std::sync::Arc;

use lethe_entities::Keyring;
use lethe_entities::ledger::signer::LedgerSigner;
use sea_orm::DatabaseConnection;

use crate::counters::WorkCounters;
use crate::ledger::{CheckpointSettings, Settlements};
use crate::mail::Mailer;
use crate::queue::JobQueue;
use crate::settings::{ExportSettings, RetrySettings, ServiceSettings, VerificationSettings};
use crate::stores::Registry;

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
    /// How failures that may pass are retried.
    pub retry: RetrySettings,
    /// This process's retries and work given up, for `/metrics`.
    pub counters: Arc<WorkCounters>,
}
