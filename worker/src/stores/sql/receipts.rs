//! Settling a ledger intent from a SQL store's receipt (the store's `lethe_ledger_receipts`
//! table, see [`crate::ledger::receipts`]).

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{SqlStore, classify};
use crate::ledger::{external, receipts};
use crate::stores::SettleError;

/// Settles an intent whose outcome is unknown from its receipt (fencing the slot first): the
/// entry is appended with the store's count, or the intent is voided. Returns the count when the
/// destruction committed.
pub async fn settle(store: &SqlStore, lethe: &DatabaseConnection, intent_id: Uuid) -> Result<Option<u64>, SettleError> {
    store.ensure_receipts().await.map_err(|e| SettleError::Store(classify(e)))?;
    let receipt = receipts::fence(store.connection(), intent_id).await.map_err(|e| SettleError::Store(classify(e)))?;
    let settled = external::settle(lethe, store.connection(), intent_id, receipt).await?;
    Ok(settled.seq.map(|_| settled.row_count))
}
