//! Expiry warnings for legal holds: 7 days and 1 day before a hold expires its owner is
//! e-mailed ([`crate::jobs::SendHoldWarning`]), so an open matter is not left unprotected by
//! accident.
//!
//! Each scheduler pass finds the active holds that owe a warning, enqueues the warning's job
//! (one idempotency key per hold and warning: enqueued twice, it is still one job), then records
//! the warning on the hold by compare-and-set. A crash between the two enqueues again on the
//! next pass, which the key deduplicates; so every warning is sent once, by whichever worker
//! process comes first. The warning is announced to webhooks (`hold.expiring`) in the
//! transaction that records it.

use lethe_entities::entity::{begin_write, legal_hold};
use lethe_entities::webhook::{self, EventType};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::queue::{FollowUp, JobQueue, QueueError};

/// Enqueues the warnings due at `now`; returns how many this pass recorded.
pub async fn pass(db: &DatabaseConnection, queue: &JobQueue, now: OffsetDateTime) -> Result<usize, QueueError> {
    let mut sent = 0;
    for hold in legal_hold::Model::owing_warnings(db, now).await? {
        let Some(warning) = hold.warning_due(now) else { continue };
        queue
            .schedule(&FollowUp::HoldWarning { organization_id: hold.organization_id, hold_id: hold.id, warning })
            .await?;
        let txn = begin_write(db).await?;
        let recorded = legal_hold::Entity::update_many()
            .col_expr(legal_hold::Column::ExpiryWarnings, Expr::value(warning))
            .filter(legal_hold::Column::Id.eq(hold.id))
            .filter(legal_hold::Column::ExpiryWarnings.eq(hold.expiry_warnings))
            .exec(&txn)
            .await?;
        if recorded.rows_affected == 1 {
            webhook::announce(&txn, hold.announcement(EventType::HoldExpiring)).await?;
        }
        txn.commit().await?;
        if recorded.rows_affected == 1 {
            tracing::info!(hold_id = %hold.id, warning, "hold expiry warning queued");
            sent += 1;
        }
    }
    Ok(sent)
}
