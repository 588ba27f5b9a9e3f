//! The reconciler: makes sure every request that needs a job has one.
//!
//! The API enqueues jobs right after committing a change. If the process dies between the
//! commit and the enqueue, the request would wait forever; the reconciler closes that gap. It
//! runs in every worker process, periodically, and enqueues with the same idempotency keys the
//! API uses, so a job that already exists is never duplicated, even with several workers. An
//! approval still waiting long after its job was enqueued gets one fresh job per period (see
//! [`STUCK_AFTER`]), so a job that used up its attempts cannot strand a request.

use std::time::Duration;

use lethe_entities::domain::enums::{RequestState, TaskStatus};
use lethe_entities::entity::{request, store_task, verification_challenge};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;

use crate::queue::{FollowUp, Fulfil, JobQueue, QueueError};

/// How old a request must be before the reconciler steps in (the API enqueues within this time).
pub const GRACE: Duration = Duration::from_secs(30);

/// An approved request still waiting after this long may have a fulfilment job that used up its
/// attempts (its idempotency key then blocks a re-enqueue under the same key). The reconciler
/// then enqueues a fresh job under a key of the current period, so at most one extra job per
/// period; the job itself is idempotent, so an extra one never starts fulfilment twice.
pub const STUCK_AFTER: Duration = Duration::from_secs(15 * 60);

/// The fulfilment job the reconciler enqueues for an approved request at `now`: the API's own
/// while the approval is fresh, one per [`STUCK_AFTER`] period after that.
pub fn fulfilment(req: &request::Model, now: OffsetDateTime) -> FollowUp {
    if now - req.updated_at < STUCK_AFTER {
        return FollowUp::approved(req);
    }
    let period = now.unix_timestamp() / STUCK_AFTER.as_secs() as i64;
    FollowUp::fulfil(req, Fulfil::ApprovalStuck { approved_at: req.updated_at, period })
}

/// What one pass found and enqueued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Verification-code jobs enqueued (or found already queued).
    pub verification: usize,
    /// Fulfilment jobs enqueued (or found already queued).
    pub fulfilment: usize,
    /// Jobs enqueued for requests in progress whose store tasks were left pending.
    pub locate: usize,
}

/// One pass over all organizations: three queries of at most 500 rows each, oldest first (the
/// unverified one uses a `NOT IN` sub-select over the challenges table, the in-progress one an
/// `IN` sub-select over the store tasks), and one idempotent enqueue per row.
pub async fn run_once(db: &sea_orm::DatabaseConnection, queue: &JobQueue, grace: Duration) -> Result<Pass, QueueError> {
    let now = OffsetDateTime::now_utc();
    let cutoff = now - grace;
    let mut pass = Pass::default();

    // Unverified requests that never got a code.
    let with_code = Query::select()
        .column(verification_challenge::Column::RequestId)
        .from(verification_challenge::Entity)
        .to_owned();
    let unverified = request::Entity::find()
        .filter(request::Column::State.eq(RequestState::IdentityUnverified))
        .filter(request::Column::ReceivedAt.lt(cutoff))
        .filter(request::Column::Id.not_in_subquery(with_code))
        .order_by_asc(request::Column::ReceivedAt)
        .limit(500)
        .all(db)
        .await?;
    for req in unverified {
        queue.schedule(&FollowUp::FirstCode { organization_id: req.organization_id, request_id: req.id }).await?;
        pass.verification += 1;
    }

    // Approved requests whose fulfilment job may be missing.
    let approved = request::Entity::find()
        .filter(request::Column::State.eq(RequestState::Approved))
        .filter(request::Column::UpdatedAt.lt(cutoff))
        .order_by_asc(request::Column::UpdatedAt)
        .limit(500)
        .all(db)
        .await?;
    for req in approved {
        queue.schedule(&fulfilment(&req, now)).await?;
        pass.fulfilment += 1;
    }

    // Requests in progress with store tasks still pending long after they were created: the
    // job stopped between starting the request and locating (or used up its attempts).
    let pending = Query::select()
        .column(store_task::Column::RequestId)
        .from(store_task::Entity)
        .and_where(store_task::Column::Status.eq(TaskStatus::Pending))
        .and_where(store_task::Column::UpdatedAt.lt(now - STUCK_AFTER))
        .to_owned();
    let waiting = request::Entity::find()
        .filter(request::Column::State.eq(RequestState::InProgress))
        .filter(request::Column::Id.in_subquery(pending))
        .order_by_asc(request::Column::UpdatedAt)
        .limit(500)
        .all(db)
        .await?;
    let period = now.unix_timestamp() / STUCK_AFTER.as_secs() as i64;
    for req in waiting {
        queue.schedule(&FollowUp::fulfil(&req, Fulfil::LocateStuck { period })).await?;
        pass.locate += 1;
    }
    Ok(pass)
}
