//! A destruction in a customer's store with exactly one ledger entry carrying the exact count.
//!
//! [`destroy`] runs the whole protocol; its steps are public so each crash point can be
//! exercised: [`open`] (intent committed in Lethe's database), [`apply`] (the store's
//! transaction: the work plus its receipt), [`settle`] (entry appended, intent applied).

use futures::future::BoxFuture;
use lethe_entities::entity::ledger_intent::Model as Intent;
use lethe_entities::ledger::{LedgerError, NewEntry, intent};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use uuid::Uuid;

use super::receipts::{self, Receipt};

/// Why a destruction did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// The store refused or failed; nothing was destroyed and the intent is void.
    #[error("the store's transaction failed: {0}")]
    Store(DbErr),
    /// The store's outcome is unknown (e.g. the connection dropped during commit); recovery will
    /// settle the intent from the store's receipt.
    #[error("the store's outcome is unknown; left for recovery: {0}")]
    Unknown(DbErr),
    /// Lethe's own database or ledger failed; the intent is left for recovery.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl ExternalError {
    /// Whether a later attempt may settle it: an unknown outcome is settled from the receipt
    /// by the next attempt; Lethe's database may come back; a store's connection that failed
    /// may come back. A statement the store refused will be refused again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(e) => matches!(e, DbErr::Conn(_) | DbErr::ConnectionAcquire(_)),
            Self::Unknown(_) | Self::Ledger(LedgerError::Db(_)) => true,
            Self::Ledger(_) => false,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) => "store_unreachable",
            Self::Store(_) => "store_query_failed",
            Self::Unknown(_) => "store_outcome_unknown",
            Self::Ledger(LedgerError::Db(_)) => "lethe_database_failed",
            Self::Ledger(_) => "ledger_failed",
        }
    }
}

/// The outcome of a settled destruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// The intent.
    pub intent_id: Uuid,
    /// The ledger entry, when the destruction committed.
    pub seq: Option<u64>,
    /// Rows touched.
    pub row_count: u64,
}

/// The store-side work: runs inside the store's transaction and returns how many rows it
/// touched (the `rows_affected` of its statements).
pub type Work = Box<dyn for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, Result<u64, DbErr>> + Send>;

/// Runs the whole protocol: intent, store transaction with receipt, settlement.
pub async fn destroy(
    lethe: &DatabaseConnection,
    store: &DatabaseConnection,
    organization: Uuid,
    planned: &NewEntry,
    work: Work,
) -> Result<Settled, ExternalError> {
    receipts::ensure_table(store).await.map_err(ExternalError::Store)?;
    let intent = open(lethe, organization, planned).await?;
    match apply(store, intent.id, work).await {
        Ok(row_count) => settle(lethe, store, intent.id, Receipt::Applied { row_count }).await,
        Err(ExternalError::Store(e)) => {
            // Rolled back: take the receipt slot so the intent can be voided for certain.
            let receipt = receipts::fence(store, intent.id).await.map_err(ExternalError::Unknown)?;
            let settled = settle(lethe, store, intent.id, receipt).await?;
            if settled.seq.is_some() {
                return Ok(settled);
            }
            Err(ExternalError::Store(e))
        }
        Err(other) => Err(other),
    }
}

/// Step 1: records the intent (committed) before the store is touched.
pub async fn open(lethe: &DatabaseConnection, organization: Uuid, planned: &NewEntry) -> Result<Intent, ExternalError> {
    Ok(intent::open(lethe, organization, planned).await?)
}

/// Step 2: the store's transaction: `work`, then the applied receipt, then commit. Returns the
/// row count the committed transaction touched.
pub async fn apply(store: &DatabaseConnection, intent_id: Uuid, work: Work) -> Result<u64, ExternalError> {
    let txn = store.begin().await.map_err(ExternalError::Store)?;
    let row_count = work(&txn).await.map_err(ExternalError::Store)?;
    receipts::record(&txn, intent_id, row_count).await.map_err(ExternalError::Store)?;
    txn.commit().await.map_err(ExternalError::Unknown)?;
    Ok(row_count)
}

/// Step 3: settles the intent from the store's receipt: applied → the entry is appended with the
/// receipt's count (once, however often this runs) and the receipt removed; void → no entry.
pub async fn settle(
    lethe: &DatabaseConnection,
    store: &DatabaseConnection,
    intent_id: Uuid,
    receipt: Receipt,
) -> Result<Settled, ExternalError> {
    match receipt {
        Receipt::Applied { row_count } => {
            let seq = intent::settle_applied(lethe, intent_id, row_count).await?;
            if let Err(e) = receipts::forget_applied(store, intent_id).await {
                // Harmless: the intent is settled and will not be looked at again.
                tracing::warn!(error = %e, "could not remove a settled receipt");
            }
            Ok(Settled { intent_id, seq: Some(seq), row_count })
        }
        Receipt::Void => {
            intent::settle_void(lethe, intent_id).await?;
            Ok(Settled { intent_id, seq: None, row_count: 0 })
        }
    }
}
