//! The retention scheduler: every worker process evaluates the policies' cron schedules and
//! starts one run per policy and tick.
//!
//! A policy's `next_run_at` holds its next tick. A pass at `now` takes every enabled policy
//! whose tick is due and, in one transaction, moves `next_run_at` to the first tick after `now`
//! (compare-and-set on the value it read) and inserts the run for the latest due tick (unique
//! per policy and tick). Whichever process wins the compare-and-set starts the run; the others
//! change nothing, so with several `lethe worker` processes each tick runs once. A scheduler
//! that was down for several ticks catches up once, with the latest of them. A policy whose
//! previous run is still queued or running skips the tick. Runs whose job may have been lost
//! (a crash between the commit and the enqueue, or a resumption's) are enqueued again under the
//! same key.
//!
//! The same pass queues the expiry warnings legal holds owe their owners
//! ([`super::hold_warnings`]).
//!
//! The clock is a parameter (`now`), so tests drive it.

use std::time::Duration;

use lethe_entities::entity::retention_policy::{self, Model as Policy};
use lethe_entities::entity::retention_run::{self, RunState, RunTrigger};
use lethe_entities::retention::Schedule;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::queue::{FollowUp, JobQueue, QueueError};

/// A queued run older than this without having started may have lost its job.
pub const REQUEUE_AFTER: Duration = Duration::from_secs(60);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Runs started for due ticks.
    pub started: usize,
    /// Due ticks skipped because the policy's previous run was still queued or running.
    pub skipped: usize,
    /// Due ticks another process took first.
    pub taken_elsewhere: usize,
    /// Queued runs enqueued again.
    pub requeued: usize,
    /// Legal-hold expiry warnings queued (see [`super::hold_warnings`]).
    pub hold_warnings: usize,
}

/// Why a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// Lethe's database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// One pass at `now`.
pub async fn tick(db: &DatabaseConnection, queue: &JobQueue, now: OffsetDateTime) -> Result<Pass, SchedulerError> {
    let mut pass = Pass::default();
    super::builtin::ensure_all(db, now).await?;
    for policy in Policy::due(db, now).await? {
        let Some(due) = policy.next_run_at else { continue };
        let schedule = policy.schedule.as_deref().and_then(|s| Schedule::parse(s, &policy.time_zone).ok());
        let next = schedule.as_ref().and_then(|s| s.next_after(now));
        // The latest due tick: `due` itself, or a later one missed while nobody ran.
        let tick =
            schedule.as_ref().and_then(|s| s.latest_between(due - time::Duration::microseconds(1), now)).unwrap_or(due);
        let busy = retention_run::Model::busy(db, policy.id).await?;
        let txn = lethe_entities::entity::begin_write(db).await?;
        let advanced = retention_policy::Entity::update_many()
            .col_expr(retention_policy::Column::NextRunAt, Expr::value(next))
            .filter(retention_policy::Column::Id.eq(policy.id))
            .filter(retention_policy::Column::NextRunAt.eq(due))
            .exec(&txn)
            .await?;
        if advanced.rows_affected != 1 {
            pass.taken_elsewhere += 1;
            continue;
        }
        if busy {
            txn.commit().await?;
            tracing::info!(policy_id = %policy.id, "retention tick skipped: the previous run is still going");
            pass.skipped += 1;
            continue;
        }
        let run = retention_run::ActiveModel::queued(
            policy.organization_id,
            policy.id,
            RunTrigger::Schedule,
            Some(tick),
            now,
        )
        .insert(&txn)
        .await;
        let run = match run {
            Ok(run) => run,
            Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
                pass.taken_elsewhere += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        txn.commit().await?;
        queue.schedule(&FollowUp::retention(&run)).await?;
        tracing::info!(policy_id = %policy.id, run_id = %run.id, "scheduled retention run queued");
        pass.started += 1;
    }
    let stale = now - REQUEUE_AFTER;
    for run in retention_run::Entity::find()
        .filter(retention_run::Column::State.eq(RunState::Queued))
        .filter(retention_run::Column::UpdatedAt.lt(stale))
        .all(db)
        .await?
    {
        queue.schedule(&FollowUp::retention(&run)).await?;
        pass.requeued += 1;
    }
    pass.hold_warnings = super::hold_warnings::pass(db, queue, now).await?;
    Ok(pass)
}
