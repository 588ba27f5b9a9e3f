//! The worker's errors: what a job returns ([`JobError`]) and what export work returns
//! ([`ExportError`]). Each says whether a retry may help; messages hold no personal data (ids,
//! codes and counts only), because they reach logs.

use apalis::prelude::{AbortError, BoxDynError};
use lethe_entities::entity::request::LifecycleError;
use lethe_entities::entity::store_task::TaskError;
use lethe_entities::ledger::LedgerError;
use sea_orm::DbErr;

use crate::mail::MailError;

/// Why a job failed. Transient failures are retried by the queue (up to the job's maximum
/// attempts); permanent ones are not.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Lethe's database failed (transient).
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// Mail delivery failed (transient: the server may come back).
    #[error(transparent)]
    Mail(#[from] MailError),
    /// Another actor changed the request at the same moment (transient).
    #[error("the request was changed concurrently")]
    Conflict,
    /// A stored value could not be decrypted: the master key changed or data was tampered with.
    #[error("stored identity could not be decrypted")]
    Crypto,
    /// The data the job needs is missing or inconsistent; retrying will not help.
    #[error("{0}")]
    Permanent(String),
    /// Building, offering or purging an access export failed.
    #[error(transparent)]
    Export(#[from] ExportError),
}

impl JobError {
    /// Whether retrying may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Db(_) | Self::Conflict | Self::Mail(MailError::Delivery { transient: true, .. }))
            || matches!(self, Self::Export(e) if e.is_transient())
    }

    /// Converts to the error apalis acts on: permanent failures abort (no retry).
    pub fn into_apalis(self) -> BoxDynError {
        if self.is_transient() { Box::new(self) } else { Box::new(AbortError::new(self)) }
    }

    /// A request lifecycle failure as a job error: the database's and a concurrent change are
    /// transient, anything else permanent.
    pub fn lifecycle(e: LifecycleError) -> Self {
        match e {
            LifecycleError::Db(e) => Self::Db(e),
            LifecycleError::Concurrent => Self::Conflict,
            other => Self::Permanent(other.to_string()),
        }
    }
}

impl From<TaskError> for JobError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::Db(e) => Self::Db(e),
            refused @ TaskError::Refused(_) => Self::Permanent(refused.to_string()),
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
}
