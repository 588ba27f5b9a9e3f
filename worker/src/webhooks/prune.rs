//! Keeping the outbox and the delivery log bounded: deliveries that ended (succeeded or failed)
//! more than [`KEEP`] ago go with their attempts, and dispatched events older than that with no
//! delivery left. A pending delivery, however old (its endpoint disabled for failing), is kept
//! with its event: it is sent once the endpoint is enabled again.

use std::time::Duration;

use lethe_entities::entity::webhook_delivery::{self, DeliveryStatus};
use lethe_entities::entity::{begin_write, webhook_attempt, webhook_event};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use time::OffsetDateTime;

/// How long ended deliveries and dispatched events are kept (the delivery log's reach).
pub const KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// How many deliveries one pass removes at most (the next pass takes the rest).
const BATCH: u64 = 5_000;

/// Removes what ended before `now - KEEP`; returns how many deliveries and events went.
pub async fn run_once(db: &DatabaseConnection, now: OffsetDateTime) -> Result<(u64, u64), DbErr> {
    let before = now - KEEP;
    let txn = begin_write(db).await?;
    let ended: Vec<uuid::Uuid> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::Status.ne(DeliveryStatus::Pending))
        .filter(webhook_delivery::Column::FinishedAt.lt(before))
        .limit(BATCH)
        .into_tuple()
        .all(&txn)
        .await?;
    for chunk in ended.chunks(500) {
        webhook_attempt::Entity::delete_many()
            .filter(webhook_attempt::Column::DeliveryId.is_in(chunk.iter().copied()))
            .exec(&txn)
            .await?;
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::Id.is_in(chunk.iter().copied()))
            .exec(&txn)
            .await?;
    }
    let events = webhook_event::Entity::delete_many()
        .filter(webhook_event::Column::Dispatched.eq(true))
        .filter(webhook_event::Column::CreatedAt.lt(before))
        .filter(webhook_event::Column::Id.not_in_subquery(
            Query::select().column(webhook_delivery::Column::EventId).from(webhook_delivery::Entity).to_owned(),
        ))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok((ended.len() as u64, events.rows_affected))
}
