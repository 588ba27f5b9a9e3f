//! Settling the intents a killed erasure left pending, from the stores' receipts, before the
//! erasure runs again: a destruction that committed gets its entry (with the store's count)
//! exactly once; one that did not is voided and its receipt slot fenced.

use lethe_entities::entity::{ledger_intent, store};
use lethe_entities::ledger::intent;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::EraseError;
use crate::context::JobContext;
use crate::error::JobError;
use crate::ledger::external::settle;
use crate::ledger::receipts;
use crate::stores::Connector;

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
        let Ok(connector) = ctx.stores.connector(model, &ctx.keyring).await else {
            tracing::warn!(intent_id = %open.id, store = %open.store, "recovery: store unreachable; intent left pending");
            return Err(JobError::Permanent(format!(
                "store `{}` is unreachable; erasure recovery waits for it",
                open.store
            )));
        };
        match connector {
            Connector::Sql(sql) => {
                let db = sql.connection();
                let receipt = match sql.ensure_receipts().await {
                    Ok(()) => receipts::fence(db, open.id).await,
                    Err(e) => Err(e),
                }
                .map_err(|e| {
                    JobError::Permanent(format!("recovery in `{}`: {}", open.store, crate::stores::sql::classify(e)))
                })?;
                settle(&ctx.db, db, open.id, receipt).await.map_err(EraseError::from)?;
            }
            Connector::Redis(redis) => {
                let receipt = super::redis::fence(&redis, open.id)
                    .await
                    .map_err(|e| JobError::Permanent(format!("recovery in `{}`: {e}", open.store)))?;
                match receipt {
                    Some(n) => {
                        intent::settle_applied(&ctx.db, open.id, n).await.map_err(EraseError::from)?;
                        redis.forget_receipt(&super::redis::receipt_key(open.id)).await;
                    }
                    None => intent::settle_void(&ctx.db, open.id).await.map_err(EraseError::from)?,
                }
            }
        }
        settled += 1;
    }
    tracing::info!(request_id = %request, settled, "erasure recovery settled pending intents");
    Ok(settled)
}
