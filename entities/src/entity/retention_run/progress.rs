//! How far a running run has come: its cursor, the batch in flight and its counts. Each change is
//! a compare-and-set that fails when another worker or a stop changed the run since it was read,
//! so a batch is claimed once and counted once.

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Column, Entity, Model, RunState};

/// A change to a run's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A batch goes in flight: its ledger intent and the cursor it reaches once settled. Only
    /// from a running run with nothing in flight and the batches seen.
    Claim {
        /// The batch's intent.
        intent: Uuid,
        /// The key the batch reaches (JSON array of the key's columns as text).
        cursor: serde_json::Value,
    },
    /// The batch in flight (`intent`) is settled with `rows`: cursor advanced, counts added,
    /// nothing in flight.
    Take {
        /// The batch's intent.
        intent: Uuid,
        /// Rows the store's transaction purged.
        rows: i64,
    },
    /// The batch in flight never committed (its intent is void): cleared, the cursor stays.
    Release {
        /// The batch's intent.
        intent: Uuid,
    },
    /// A page with nothing to do: the cursor moves past it. Only from a running run with nothing
    /// in flight and the batches seen.
    Skip {
        /// The key after the page.
        cursor: serde_json::Value,
    },
    /// A batch of a built-in policy (in Lethe's own database, no cursor) is counted, while the
    /// run is running.
    Count {
        /// Rows purged.
        rows: i64,
    },
    /// Work already done (purged exports) is counted, whatever the run's state.
    Tally {
        /// Rows (exports) purged.
        rows: i64,
    },
}

impl Model {
    /// The run as it is after `progress`.
    pub fn progressed(&self, progress: &Progress, now: OffsetDateTime) -> Model {
        let mut next = self.clone();
        if !matches!(progress, Progress::Release { .. }) {
            next.updated_at = now;
        }
        let count = |next: &mut Model, rows: i64, batch: bool| {
            next.rows = next.rows.saturating_add(rows);
            next.batches += i32::from(batch);
            next.largest_batch = next.largest_batch.max(rows);
        };
        match progress {
            Progress::Claim { intent, cursor } => {
                next.pending_intent = Some(*intent);
                next.pending_cursor = Some(cursor.clone());
            }
            Progress::Take { rows, .. } => {
                next.cursor = self.pending_cursor.clone().or(next.cursor);
                (next.pending_intent, next.pending_cursor) = (None, None);
                count(&mut next, *rows, true);
            }
            Progress::Release { .. } => (next.pending_intent, next.pending_cursor) = (None, None),
            Progress::Skip { cursor } => next.cursor = Some(cursor.clone()),
            Progress::Count { rows } | Progress::Tally { rows } => count(&mut next, *rows, *rows > 0),
        }
        next
    }

    /// Records `progress` on this run (as read) in `db` (the caller's transaction, if any):
    /// returns the run as it now is, or `None`, writing nothing, when the run changed since.
    pub async fn record(&self, db: &impl ConnectionTrait, progress: Progress) -> Result<Option<Model>, DbErr> {
        let next = self.progressed(&progress, OffsetDateTime::now_utc());
        let columns: Vec<(Column, SimpleExpr)> = match &progress {
            Progress::Claim { .. } => vec![
                (Column::PendingIntent, Expr::value(next.pending_intent)),
                (Column::PendingCursor, Expr::value(next.pending_cursor.clone())),
            ],
            Progress::Take { .. } => vec![
                (Column::Cursor, Expr::value(next.cursor.clone().unwrap_or(serde_json::Value::Null))),
                (Column::PendingIntent, Expr::value(Option::<Uuid>::None)),
                (Column::PendingCursor, Expr::value(Option::<serde_json::Value>::None)),
                (Column::Rows, Expr::value(next.rows)),
                (Column::Batches, Expr::value(next.batches)),
                (Column::LargestBatch, Expr::value(next.largest_batch)),
            ],
            Progress::Release { .. } => vec![
                (Column::PendingIntent, Expr::value(Option::<Uuid>::None)),
                (Column::PendingCursor, Expr::value(Option::<serde_json::Value>::None)),
            ],
            Progress::Skip { .. } => vec![(Column::Cursor, Expr::value(next.cursor.clone()))],
            Progress::Count { .. } | Progress::Tally { .. } => vec![
                (Column::Rows, Expr::value(next.rows)),
                (Column::Batches, Expr::value(next.batches)),
                (Column::LargestBatch, Expr::value(next.largest_batch)),
            ],
        };
        let mut update = Entity::update_many().filter(Column::Id.eq(self.id));
        if !matches!(progress, Progress::Release { .. }) {
            update = update.col_expr(Column::UpdatedAt, Expr::value(next.updated_at));
        }
        for (column, value) in columns {
            update = update.col_expr(column, value);
        }
        update = match &progress {
            Progress::Claim { .. } | Progress::Skip { .. } => update
                .filter(Column::PendingIntent.is_null())
                .filter(Column::Batches.eq(self.batches))
                .filter(Column::State.eq(RunState::Running)),
            Progress::Take { intent, .. } | Progress::Release { intent } => {
                update.filter(Column::PendingIntent.eq(*intent))
            }
            Progress::Count { .. } => update.filter(Column::State.eq(RunState::Running)),
            Progress::Tally { .. } => update,
        };
        Ok((update.exec(db).await?.rows_affected == 1).then_some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::retention_run::RunTrigger;

    fn run() -> Model {
        let at = OffsetDateTime::UNIX_EPOCH;
        Model {
            id: Uuid::nil(),
            organization_id: Uuid::nil(),
            policy_id: Uuid::nil(),
            trigger: RunTrigger::Manual,
            scheduled_for: None,
            state: RunState::Running,
            cutoff: Some(at),
            cursor: Some(serde_json::json!(["10"])),
            pending_intent: None,
            pending_cursor: None,
            rows: 30,
            batches: 3,
            largest_batch: 10,
            error_code: None,
            error_message: None,
            started_at: Some(at),
            finished_at: None,
            resumes: 0,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_batch_is_claimed_then_taken_once() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let intent = Uuid::from_u128(7);
        let claimed = run().progressed(&Progress::Claim { intent, cursor: serde_json::json!(["20"]) }, now);
        assert_eq!((claimed.pending_intent, claimed.cursor.clone()), (Some(intent), Some(serde_json::json!(["10"]))));
        let taken = claimed.progressed(&Progress::Take { intent, rows: 12 }, now);
        assert_eq!(taken.cursor, Some(serde_json::json!(["20"])));
        assert_eq!((taken.pending_intent, taken.pending_cursor), (None, None));
        assert_eq!((taken.rows, taken.batches, taken.largest_batch), (42, 4, 12));
    }

    #[test]
    fn a_released_batch_leaves_the_cursor_and_counts() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let intent = Uuid::from_u128(7);
        let claimed = run().progressed(&Progress::Claim { intent, cursor: serde_json::json!(["20"]) }, now);
        let released = claimed.progressed(&Progress::Release { intent }, now);
        assert_eq!(released, Model { pending_intent: None, pending_cursor: None, ..run() });
    }

    #[test]
    fn empty_counts_are_no_batch() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let counted = run().progressed(&Progress::Count { rows: 0 }, now);
        assert_eq!((counted.rows, counted.batches), (30, 3));
        let skipped = run().progressed(&Progress::Skip { cursor: serde_json::json!(["99"]) }, now);
        assert_eq!((skipped.cursor, skipped.batches), (Some(serde_json::json!(["99"])), 3));
    }
}
