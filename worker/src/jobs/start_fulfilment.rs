//! Starts fulfilling an approved request.
//!
//! The job moves the request from `approved` to `in_progress`, creates one task per registered
//! store (and, for erasure, rectification and restriction, one per recipient the stores' data
//! maps name: [`crate::recipients`]) and locates the subject's data in every automated store,
//! recording per-store status, counts and errors on the tasks and the timeline. Manual and HTTP stores wait for an operator
//! or the service. Export and erasure build on the located tasks; this job never marks a
//! request completed on its own. Run again (a retry, the reconciler, or an operator's
//! re-locate), it skips the transition and works only tasks still `pending`.
//!
//! A failure that may pass (a store unreachable, a dropped connection, Lethe's database busy)
//! leaves the work where it stopped and enqueues the next attempt after a backoff
//! ([`crate::settings::RetrySettings`]); a failure that cannot pass, the last attempt's failure
//! or a store task failed for good gives the request up: it goes `failed` and the admins are
//! told ([`crate::give_up`]). Starting from `approved` (a first start, or an operator's retry
//! from `failed`) puts the failed tasks back to `pending`, so a retry resumes where the work
//! stopped: stores already erased are not erased again.

use apalis::prelude::{BoxDynError, Data};
use lethe_entities::domain::enums::{RequestKind, RequestState};
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::request::{self, Actor, LifecycleError};
use lethe_entities::entity::{Commit, begin, store};
use uuid::Uuid;

use crate::context::JobContext;
use crate::error::JobError;
use crate::give_up::{self, Cause};
use crate::queue::payload::attempt_number;
use crate::queue::{FollowUp, Fulfil, Notice, StartFulfilment};
use crate::retry::{self, Decision, Failed};
use crate::{recipients, tasks};

/// apalis entry point.
pub async fn handle(job: StartFulfilment, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    run(&job, &ctx).await.map_err(JobError::into_apalis)
}

/// Does the work, then retries or gives up on a failure; separate from [`handle`] so tests can
/// call it directly. Returns an error only when neither the retry nor the failure could be
/// recorded (Lethe's database is down): apalis then runs the job again. A concurrent change on
/// the last attempt is not a failure: whoever changed the request has the work.
pub async fn run(job: &StartFulfilment, ctx: &JobContext) -> Result<(), JobError> {
    let attempt = attempt_number(job.attempt);
    let last = ctx.retry.is_last(attempt);
    let worked = match attempt_once(job, ctx, last).await {
        // Completed by this attempt: every task is done or waived, none failed.
        Ok(Attempt::Completed) => Ok(()),
        Ok(Attempt::Worked) => {
            give_up::request_if_a_task_failed(ctx, job.organization_id, job.request_id).await.map(drop)
        }
        Err(e) => Err(e),
    };
    let Err(e) = worked else { return Ok(()) };
    let (organization_id, request_id) = (job.organization_id, job.request_id);
    let failed = Failed { attempt, transient: e.is_transient(), conflict: matches!(e, JobError::Conflict) };
    let retry = |attempt, after| {
        let why = Fulfil::Retry { failure: Uuid::now_v7(), attempt, after };
        FollowUp::Fulfil { organization_id, request_id, why }
    };
    match retry::decide(ctx, failed, retry).await {
        Ok(Decision::LeftToOthers) => {
            tracing::info!(%request_id, "the request changed concurrently; left to its new owner");
        }
        Ok(Decision::Retried(after)) => {
            let retry_in_ms = after.as_millis() as u64;
            tracing::warn!(%request_id, attempt, code = e.code(), error = %e, retry_in_ms, "fulfilment failed in a way that may pass; retrying");
        }
        Ok(Decision::GiveUp) => {
            tracing::warn!(%request_id, attempt, code = e.code(), error = %e, "fulfilment gave up");
            // Recorded: the job is over (an error would make apalis run it again as the last attempt).
            give_up::request(ctx, organization_id, request_id, &Cause::of(&e)).await?;
        }
        Err(queue) => {
            // The queue is Lethe's database: apalis runs this job again as it is.
            tracing::warn!(%request_id, attempt, code = e.code(), "retry not enqueued");
            return Err(queue.into());
        }
    }
    Ok(())
}

/// How an attempt that did not fail ended.
enum Attempt {
    /// The request is completed (this attempt completed it).
    Completed,
    /// Work was done or is waited for; the request is not completed.
    Worked,
}

/// One attempt. What the work says should happen next is enqueued whether it succeeded or
/// failed part way.
async fn attempt_once(job: &StartFulfilment, ctx: &JobContext, last: bool) -> Result<Attempt, JobError> {
    let mut next = Vec::new();
    let worked = work(job, ctx, last, &mut next).await;
    let completed = next.iter().any(|f| matches!(f, FollowUp::Notice { notice: Notice::Completed, .. }));
    let worked = worked.map(|()| if completed { Attempt::Completed } else { Attempt::Worked });
    for follow_up in &next {
        if let Err(e) = ctx.queue.schedule(follow_up).await {
            tracing::warn!(request_id = %job.request_id, error = %e, "follow-up job not enqueued");
            if worked.is_ok() && !matches!(follow_up, FollowUp::Notice { .. }) {
                return Err(e.into());
            }
        }
    }
    worked
}

async fn work(job: &StartFulfilment, ctx: &JobContext, last: bool, next: &mut Vec<FollowUp>) -> Result<(), JobError> {
    if hold(job, ctx).await? {
        return Ok(());
    }
    let stores = store::Model::all_in_org(&ctx.db, job.organization_id).await?;
    let request = match start(job, ctx, &stores).await? {
        Some(request) if request.state == RequestState::InProgress => request,
        _ => return Ok(()),
    };
    if recipients::applies_to(request.kind) {
        recipients::ensure(&ctx.db, job.organization_id, job.request_id, &stores).await?;
    }
    let erasure = request.kind == RequestKind::Erasure;
    let (org, id) = (job.organization_id, job.request_id);
    let mut pass = tasks::locate_pending(ctx, &stores, org, id, erasure, last).await?;
    tracing::info!(
        request_id = %job.request_id,
        located = pass.located,
        failed = pass.failed,
        waiting = pass.waiting,
        deferred = pass.deferred.len(),
        "store tasks worked"
    );
    // Every store must be located before any is erased or exported (cross-store references):
    // a store that may come back is waited for.
    if let Some((store, error)) = pass.deferred.pop() {
        return Err(JobError::store(&store, error));
    }
    match request.kind {
        RequestKind::Erasure => crate::erase::run(ctx, &request, &stores, pass.keys, last, next).await?,
        RequestKind::Access => crate::export::run(ctx, &request, next).await?,
        // Rectification, restriction, objection and opt-out are worked by operators: their
        // tasks wait for them.
        _ => {}
    }
    Ok(())
}

/// Puts an approved erasure request of a subject under a legal hold `on_hold`, with the hold's
/// reason on the timeline; returns whether it did. A hold beats everything: nothing is located
/// or erased until it is released and an operator resumes the request.
async fn hold(job: &StartFulfilment, ctx: &JobContext) -> Result<bool, JobError> {
    let Some(current) = request::Model::find_in_org(&ctx.db, job.organization_id, job.request_id).await? else {
        return Ok(false);
    };
    if current.kind != RequestKind::Erasure || current.state != RequestState::Approved {
        return Ok(false);
    }
    let now = time::OffsetDateTime::now_utc();
    let Some(hold) = crate::retention::holds::on_subject(&ctx.db, job.organization_id, job.request_id, now).await?
    else {
        return Ok(false);
    };
    let held_because = hold.reason(&ctx.keyring).map_err(|_| JobError::Crypto)?;
    let reason = format!("legal hold {}: {}", hold.id, held_because.chars().take(1800).collect::<String>());
    match request::Model::apply(
        &ctx.db,
        &ctx.keyring,
        job.organization_id,
        job.request_id,
        Action::Hold,
        Actor::SYSTEM,
        Some(reason),
    )
    .await
    {
        Ok(_) => {
            tracing::info!(request_id = %job.request_id, hold_id = %hold.id, "erasure request put on hold by a legal hold");
            Ok(true)
        }
        // Released, resumed or held by someone else meanwhile: the request as it is decides.
        Err(LifecycleError::Transition(_) | LifecycleError::Concurrent) => Ok(false),
        Err(other) => Err(JobError::lifecycle(other)),
    }
}

/// Applies `start` if the request is approved, putting its failed tasks (a retry's) back to
/// `pending` and creating a task for each of `stores` that has none, in the same transaction;
/// returns the request as it now is.
async fn start(
    job: &StartFulfilment,
    ctx: &JobContext,
    stores: &[store::Model],
) -> Result<Option<request::Model>, JobError> {
    // Committed lazily (see `Commit::Lazy`): a start lost with the database server is applied
    // again by the job's re-run.
    let txn = begin(&ctx.db, Commit::Lazy).await?;
    let applied = request::Model::apply_in(
        &txn,
        &ctx.keyring,
        job.organization_id,
        job.request_id,
        Action::Start,
        Actor::SYSTEM,
        None,
    )
    .await;
    if applied.is_ok() {
        let reset = tasks::reset_failed(&txn, job.organization_id, job.request_id).await?;
        if reset > 0 {
            tracing::info!(request_id = %job.request_id, reset, "retry: failed store tasks are worked again");
        }
        tasks::ensure(&txn, job.organization_id, job.request_id, stores).await?;
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    match applied {
        Ok(updated) => {
            tracing::info!(request_id = %updated.id, kind = ?updated.kind, "fulfilment started");
            Ok(Some(updated))
        }
        // Already started, canceled, held...: the request as it is. Running twice never starts
        // twice.
        Err(LifecycleError::Transition(e)) => {
            tracing::info!(request_id = %job.request_id, state = e.from.as_str(), "request is not (or no longer) approved");
            Ok(request::Model::find_in_org(&ctx.db, job.organization_id, job.request_id).await?)
        }
        // Another worker started it at the same moment: go on with the request as it now is.
        Err(LifecycleError::Concurrent) => {
            Ok(request::Model::find_in_org(&ctx.db, job.organization_id, job.request_id).await?)
        }
        Err(other) => Err(JobError::lifecycle(other)),
    }
}
