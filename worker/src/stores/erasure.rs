//! What every connector's erasure speaks: the context it runs in ([`Context`]), what one step
//! did ([`Applied`]) and why a store's erasure did not complete ([`EraseError`]). The erasure
//! job ([`crate::erase`]) orchestrates; each kind's `erase` module does the work in its store.

use lethe_entities::Keyring;
use lethe_entities::ledger::LedgerError;
use lethe_entities::ledger::entry::SubjectRef;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::StoreError;
use crate::ledger::Settlements;
use crate::ledger::external::ExternalError;

/// Everything a connector's erasure needs besides the located rows.
pub struct Context<'a> {
    /// Lethe's database (intents, ledger).
    pub lethe: &'a DatabaseConnection,
    /// Keys (pseudonyms for `hash`).
    pub keyring: &'a Keyring,
    /// Tenant.
    pub organization: Uuid,
    /// The store's name (in the ledger).
    pub store: &'a str,
    /// The request.
    pub request: Uuid,
    /// The subject's ledger references.
    pub subject_refs: &'a [SubjectRef],
    /// Settles the intents (with other jobs' where they coincide).
    pub settlements: &'a Settlements,
}

/// What one step (a table or key pattern, one action) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The table or key pattern.
    pub table: String,
    /// The ledger action.
    pub action: &'static str,
    /// Rows (keys) the store's committed transaction touched.
    pub rows: u64,
    /// The ledger entry.
    pub seq: Option<u64>,
}

/// Why a store's erasure did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The store refused or failed; its transaction rolled back and the intents are void.
    #[error("{1}: {0}")]
    Store(StoreError, String),
    /// The store's outcome is unknown (e.g. the connection dropped at commit); recovery settles
    /// it from the receipts.
    #[error("the store's outcome is unknown; left for recovery: {0}")]
    Unknown(StoreError),
    /// Lethe's own database or ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Settling an intent failed.
    #[error(transparent)]
    External(#[from] ExternalError),
}

impl EraseError {
    /// Whether a later attempt may complete it: the store may come back, an unknown outcome is
    /// settled from the receipt, Lethe's database may come back.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(e, _) => e.is_transient(),
            Self::Unknown(_) | Self::Ledger(LedgerError::Db(_)) => true,
            Self::Ledger(_) => false,
            Self::External(e) => e.is_transient(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(e, _) => e.code(),
            Self::Unknown(_) => "store_outcome_unknown",
            Self::Ledger(LedgerError::Db(_)) => "lethe_database_failed",
            Self::Ledger(_) => "ledger_failed",
            Self::External(e) => e.code(),
        }
    }
}
