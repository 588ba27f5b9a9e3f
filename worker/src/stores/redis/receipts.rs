//! Receipts in a Redis store: a key per ledger intent (`lethe:receipt:<intent>`), written by
//! the same Lua script that deletes (a script runs atomically), so a deletion and its receipt
//! happen together or not at all. Recovery fences the slot and reads it.

use lethe_entities::ledger::intent;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::RedisStore;
use crate::stores::SettleError;

/// How long receipts live (a `void` receipt fences nothing after the script has run; it is kept
/// for recovery to read).
pub const RECEIPT_TTL_SECS: u64 = 30 * 24 * 3600;

/// Takes the receipt slot with `void` unless the script already wrote it; returns the receipt.
const FENCE: &str = r#"
redis.call('SET', KEYS[1], 'void', 'NX', 'EX', ARGV[1])
return redis.call('GET', KEYS[1])
"#;

/// The receipt key of an intent.
pub fn receipt_key(intent: Uuid) -> String {
    format!("lethe:receipt:{intent}")
}

/// The receipt of an intent: `Some(count)` when the deletion happened, `None` when it never will.
pub async fn fence(store: &RedisStore, intent: Uuid) -> Result<Option<u64>, crate::stores::StoreError> {
    let value: String = store.eval(FENCE, &[receipt_key(intent)], &[RECEIPT_TTL_SECS.to_string()]).await?;
    Ok(value.strip_prefix("applied:").and_then(|n| n.parse().ok()))
}

/// Settles an intent whose outcome is unknown from its receipt (fencing the slot first): the
/// entry is appended with the store's count, or the intent is voided. Returns the count when the
/// deletion happened.
pub async fn settle(
    store: &RedisStore,
    lethe: &DatabaseConnection,
    intent_id: Uuid,
) -> Result<Option<u64>, SettleError> {
    let receipt = fence(store, intent_id).await.map_err(SettleError::Store)?;
    match receipt {
        Some(n) => {
            intent::settle_applied(lethe, intent_id, n).await?;
            store.forget_receipt(&receipt_key(intent_id)).await;
        }
        None => intent::settle_void(lethe, intent_id).await?,
    }
    Ok(receipt)
}
