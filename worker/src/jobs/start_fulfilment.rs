//! Starts fulfilling an approved request.
//!
//! The job moves the request from `approved` to `in_progress`, creates one task per registered
//! store (and, for erasure, rectification and restriction, one per recipient the stores' data
//! maps name: [`crate::recipients`]) and locates the subject's data in every automated store,
//! recording per-store status, counts and errors on the tasks and the timeline. Manual and HTTP stores wait for an operator
//! or the service. Export and erasure build on the located tasks; this job never marks a
//! request completed on its own. Run again (a retry, the reconciler, or an operator's
//! re-locate), it skips the transition and works only tasks still `pending`.

use apalis::prelude::{BoxDynError, Data};
use lethe_entities::domain::enums::{RequestKind, RequestState};
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::request::{self, Actor, LifecycleError};
use lethe_entities::entity::{Commit, begin, store};

use crate::context::JobContext;
use crate::error::JobError;
use crate::queue::{FollowUp, StartFulfilment};
use crate::{recipients, tasks};

/// apalis entry point.
pub async fn handle(job: StartFulfilment, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    run(&job, &ctx).await.map_err(JobError::into_apalis)
}

/// Does the work; separate from [`handle`] so tests can call it directly. What the work says
/// should happen next is enqueued whether it succeeded or failed part way.
pub async fn run(job: &StartFulfilment, ctx: &JobContext) -> Result<(), JobError> {
    let mut next = Vec::new();
    let worked = work(job, ctx, &mut next).await;
    for follow_up in &next {
        if let Err(e) = ctx.queue.schedule(follow_up).await {
            tracing::warn!(request_id = %job.request_id, error = %e, "follow-up job not enqueued");
            if worked.is_ok() && !matches!(follow_up, FollowUp::Notice { .. }) {
                return Err(JobError::Permanent(e.to_string()));
            }
        }
    }
    worked
}

async fn work(job: &StartFulfilment, ctx: &JobContext, next: &mut Vec<FollowUp>) -> Result<(), JobError> {
    if hold(job, ctx).await? {
        return Ok(());
    }
    let request = match start(job, ctx).await? {
        Some(request) if request.state == RequestState::InProgress => request,
        _ => return Ok(()),
    };
    if recipients::applies_to(request.kind) {
        let stores = store::Model::all_in_org(&ctx.db, job.organization_id).await?;
        recipients::ensure(&ctx.db, job.organization_id, job.request_id, &stores).await?;
    }
    let erasure = request.kind == RequestKind::Erasure;
    let pass = tasks::locate_pending(&ctx.db, &ctx.keyring, &ctx.stores, job.organization_id, job.request_id, erasure)
        .await
        .map_err(JobError::Permanent)?;
    tracing::info!(
        request_id = %job.request_id,
        located = pass.located,
        failed = pass.failed,
        waiting = pass.waiting,
        "store tasks worked"
    );
    match request.kind {
        RequestKind::Erasure => crate::erase::run(ctx, &request, pass.keys, next).await?,
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
        Err(LifecycleError::Transition(_)) => Ok(false),
        Err(LifecycleError::Concurrent) => Err(JobError::Conflict),
        Err(LifecycleError::Db(e)) => Err(e.into()),
        Err(other) => Err(JobError::Permanent(other.to_string())),
    }
}

/// Applies `start` if the request is approved; returns the request as it now is.
async fn start(job: &StartFulfilment, ctx: &JobContext) -> Result<Option<request::Model>, JobError> {
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
        Err(LifecycleError::Concurrent) => Err(JobError::Conflict),
        Err(LifecycleError::Db(e)) => Err(e.into()),
        Err(other) => Err(JobError::Permanent(other.to_string())),
    }
}
