//! Settling the intents a killed erasure left pending, from the stores' receipts, before the
//! erasure runs again: a destruction that committed gets its entry (with the store's count)
//! exactly once; one that did not is voided and its receipt slot fenced.

use lethe_entities::entity::{ledger_intent, store};
use lethe_entities::ledger::intent;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::context::JobContext;
use crate::error::JobError;
use crate::stores::SettleError;

/// Settles every pending intent of one request, except those of `busy` stores (another worker
/// holds a live claim on them and is working: fencing its receipts would fail its erasure).
/// Returns how many were settled. An intent whose store cannot be reached now stays pending
/// (and the erasure of that store waits: its task is retried with the job).
pub async fn request(ctx: &JobContext, organization: Uuid, request: Uuid, busy: &[String]) -> Result<usize, JobError> {
    let pending = ledger_intent::Entity::find()
        .filter(ledger_intent::Column::OrganizationId.eq(organization))
        .filter(ledger_intent::Column::RequestId.eq(request))
        .filter(ledger_intent::Column::State.eq(intent::state::PENDING))
        .order_by_asc(ledger_intent::Column::CreatedAtUs)
        .all(&ctx.db)
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let stores = store::Model::all_in_org(&ctx.db, organization).await?;
    let mut settled = 0;
    for open in pending.into_iter().filter(|i| !busy.contains(&i.store)) {
        let Some(model) = stores.iter().find(|s| s.name == open.store) else { continue };
        let connector = match ctx.stores.connector(model, &ctx.keyring).await {
            Ok(connector) => connector,
            Err(e) => {
                tracing::warn!(intent_id = %open.id, store = %open.store, code = e.code(), "recovery: store unreachable; intent left pending");
                return Err(JobError::store(&open.store, e));
            }
        };
        match connector.settle(&ctx.db, open.id).await {
            Ok(_) => {}
            // The store could not be asked (transient when it may come back): the intent stays
            // pending for the next attempt.
            Err(SettleError::Store(e)) => return Err(JobError::store(&open.store, e)),
            // Lethe's own database failing is worth a retry; anything else the settlement
            // reports is not (see `ExternalError::is_transient`).
            Err(SettleError::Settle(e)) => return Err(JobError::Settle(e)),
        }
        settled += 1;
    }
    tracing::info!(request_id = %request, settled, "erasure recovery settled pending intents");
    Ok(settled)
}
