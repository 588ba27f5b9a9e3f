//! The worker's errors: what a job returns ([`JobError`]) and what export work returns
//! ([`ExportError`]).
//!
//! Every error says whether a retry may help ([`JobError::is_transient`]) and has a stable code
//! ([`JobError::code`]); its message is in Lethe's own words with no personal data (ids, names
//! of stores, tables and constraints, counts), because it reaches logs, the request's timeline
//! and the admins' e-mail. A transient error is retried by a later job with backoff
//! ([`crate::settings::RetrySettings`]); a permanent one, or a transient one on the last attempt,
//! gives the work up: the request or retention run goes `failed` with the code and message
//! ([`crate::give_up`]).

use apalis::prelude::{AbortError, BoxDynError};
use lethe_entities::entity::request::LifecycleError;
use lethe_entities::entity::store_task::{TaskError, TaskTransitionError};
use lethe_entities::ledger::LedgerError;
use sea_orm::DbErr;

use crate::ledger::external::ExternalError;
use crate::mail::MailError;
use crate::queue::QueueError;
use crate::stores::StoreError;
use crate::stores::erasure::EraseError;

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Lethe's own database failed (transient). Its driver's text is only logged.
    #[error("Lethe's database failed: {0}")]
    Db(#[from] DbErr),
    /// Mail delivery failed (transient unless the server rejected the message for good).
    #[error(transparent)]
    Mail(#[from] MailError),
    /// Another actor changed the request at the same moment (transient).
    #[error("the request was changed concurrently")]
    Conflict,
    /// A stored value could not be decrypted: the master key changed or data was tampered with.
    #[error("stored data could not be decrypted (the master key changed, or the data was altered)")]
    Crypto,
    /// Something the job needs is not in Lethe's database (any more).
    #[error("{0}")]
    Missing(#[from] Missing),
    /// A customer's store failed or refused; transient when the store may come back.
    #[error("store `{store}`: {error}")]
    Store {
        /// The store's name.
        store: String,
        /// What failed.
        error: StoreError,
    },
    /// A store's erasure did not complete.
    #[error(transparent)]
    Erase(#[from] EraseError),
    /// The deletion ledger refused or failed an append (transient when its database failed).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Settling a destruction's ledger intent failed.
    #[error(transparent)]
    Settle(#[from] ExternalError),
    /// The request's state machine refused a move the job needs.
    #[error(transparent)]
    Lifecycle(LifecycleError),
    /// A store task's state machine refused a move the job needs.
    #[error(transparent)]
    Task(TaskTransitionError),
    /// A follow-up job could not be enqueued (transient: the queue is Lethe's database).
    #[error(transparent)]
    Enqueue(#[from] QueueError),
    /// Building, offering or purging an access export failed.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// What a job found missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// The request is gone.
    #[error("the request no longer exists")]
    Request,
    /// The organization is gone.
    #[error("the organization no longer exists")]
    Organization,
    /// The request has no e-mail address to write to.
    #[error("the request has no e-mail identity")]
    EmailIdentity,
    /// The export row vanished while the package was built.
    #[error("the export record vanished")]
    Export,
    /// Nobody can be told: a hold's owner is not an address and its placer is gone.
    #[error("the hold's owner has no e-mail address")]
    HoldRecipient,
}

impl JobError {
    /// A store's failure, with the store's name.
    pub fn store(store: &str, error: StoreError) -> Self {
        Self::Store { store: store.to_owned(), error }
    }

    /// Whether retrying may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Db(_) | Self::Conflict | Self::Enqueue(_) => true,
            Self::Mail(MailError::Delivery { transient, .. }) => *transient,
            Self::Store { error, .. } => error.is_transient(),
            Self::Erase(e) => e.is_transient(),
            Self::Ledger(e) => matches!(e, LedgerError::Db(_)),
            Self::Settle(e) => e.is_transient(),
            Self::Lifecycle(e) => matches!(e, LifecycleError::Db(_) | LifecycleError::Concurrent),
            Self::Export(e) => e.is_transient(),
            Self::Mail(_) | Self::Crypto | Self::Missing(_) | Self::Task(_) => false,
        }
    }

    /// The stable code: what the request's or run's failure is filed under.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Db(_) | Self::Enqueue(_) => "lethe_database_failed",
            Self::Mail(_) => "mail_failed",
            Self::Conflict => "concurrent_change",
            Self::Crypto => "decryption_failed",
            Self::Missing(_) => "data_missing",
            Self::Store { error, .. } => error.code(),
            Self::Erase(e) => e.code(),
            Self::Ledger(LedgerError::Db(_)) | Self::Lifecycle(LifecycleError::Db(_)) => "lethe_database_failed",
            Self::Ledger(_) | Self::Lifecycle(LifecycleError::Ledger(_)) => "ledger_failed",
            Self::Settle(e) => e.code(),
            Self::Lifecycle(LifecycleError::Concurrent) => "concurrent_change",
            Self::Lifecycle(_) | Self::Task(_) => "invalid_transition",
            Self::Export(e) => e.code(),
        }
    }

    /// What happened, in words for operators: this error's message, except that the text of
    /// Lethe's own database driver (which may quote values) is replaced by a fixed sentence.
    pub fn message(&self) -> String {
        match self.code() {
            "lethe_database_failed" => "Lethe's own database failed or was unavailable".to_owned(),
            _ => self.to_string(),
        }
    }

    /// Converts to the error apalis acts on: a job that failed for good is aborted (apalis does
    /// not run it again; retries are jobs of their own), one that failed in a way that may pass
    /// is left to apalis' immediate re-run (used only when not even the retry could be enqueued).
    pub fn into_apalis(self) -> BoxDynError {
        if self.is_transient() { Box::new(self) } else { Box::new(AbortError::new(self)) }
    }

    /// A request lifecycle failure as a job error.
    pub fn lifecycle(e: LifecycleError) -> Self {
        match e {
            LifecycleError::Db(e) => Self::Db(e),
            LifecycleError::Concurrent => Self::Conflict,
            LifecycleError::Ledger(e) => Self::Ledger(e),
            other => Self::Lifecycle(other),
        }
    }
}

impl From<TaskError> for JobError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::Db(e) => Self::Db(e),
            TaskError::Refused(refused) => Self::Task(refused),
        }
    }
}

/// Why export work failed. Messages hold no personal data (file names are ids).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Lethe's database failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// The ledger refused or failed the append.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Reading or writing export files failed.
    #[error("export file error: {0}")]
    Files(#[from] std::io::Error),
    /// The ZIP could not be written.
    #[error("the package could not be assembled: {0}")]
    Package(String),
    /// A key or package does not decrypt (master key changed, or tampering).
    #[error("an export key or file does not decrypt")]
    Crypto,
}

impl ExportError {
    /// Whether retrying may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Db(_) | Self::Files(_) | Self::Ledger(LedgerError::Db(_)))
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Db(_) | Self::Ledger(LedgerError::Db(_)) => "lethe_database_failed",
            Self::Ledger(_) => "ledger_failed",
            Self::Files(_) => "export_files_failed",
            Self::Package(_) => "export_package_failed",
            Self::Crypto => "decryption_failed",
        }
    }
}
