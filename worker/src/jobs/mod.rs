//! One module per job. Each job is idempotent: it re-reads the request and returns early when
//! there is nothing (left) to do.

pub mod run_retention;
pub mod send_hold_warning;
pub mod send_notice;
pub mod send_verification_code;
pub mod start_fulfilment;

use apalis::prelude::{AbortError, BoxDynError};

pub use run_retention::RunRetention;
pub use send_hold_warning::SendHoldWarning;
pub use send_notice::{Notice, SendNotice};
pub use send_verification_code::SendVerificationCode;
pub use start_fulfilment::StartFulfilment;

/// Why a job failed. Transient failures are retried by the queue (up to the job's maximum
/// attempts); permanent ones are not.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Lethe's database failed (transient).
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Mail delivery failed (transient: the server may come back).
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
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
    Export(#[from] crate::export::ExportError),
}

impl JobError {
    /// Whether retrying may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Db(_) | Self::Conflict | Self::Mail(crate::mail::MailError::Delivery { transient: true, .. })
        ) || matches!(self, Self::Export(e) if e.is_transient())
    }

    /// Converts to the error apalis acts on: permanent failures abort (no retry).
    pub fn into_apalis(self) -> BoxDynError {
        if self.is_transient() { Box::new(self) } else { Box::new(AbortError::new(self)) }
    }
}
