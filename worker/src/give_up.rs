//! When work gives up: a request or a retention run goes `failed` with a stable code and a
//! message in Lethe's words, and the organization's admins are told.
//!
//! Work gives up when its error cannot pass ([`JobError::is_transient`] is false) or when it
//! failed on the last attempt the retry settings allow ([`crate::settings::RetrySettings`]).
//! A request also gives up when one of its store tasks failed for good (a store refused the
//! erasure, a service reported a failure, a store stayed unreachable through every attempt):
//! nothing Lethe does on its own will finish it, so it must not sit `in_progress` until its
//! deadline passes. From `failed`, `POST /v1/requests/{id}/retry` (or the console's retry)
//! puts the request back to `approved`; fulfilment then resets the failed tasks and works only
//! them, so stores already erased are not erased again.

use lethe_entities::domain::enums::{RequestState, TaskStatus};
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::request::{self, Actor, LifecycleError};
use lethe_entities::entity::retention_run::{Model as Run, RunStep};
use lethe_entities::entity::store_task;
use uuid::Uuid;

use crate::context::JobContext;
use crate::error::JobError;
use crate::queue::{Alert, FollowUp};

/// The most characters of a failure's message kept on the timeline (the rest is cut).
const MAX_MESSAGE_CHARS: usize = 1_800;

/// Why work gave up, as it is filed: its code and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Stable code (`store_refused`, `store_unreachable`, `lethe_database_failed`...).
    pub code: String,
    /// Lethe's own words, without personal data.
    pub message: String,
}

impl Cause {
    /// The failure of a job that gave up with `e`.
    pub fn of(e: &JobError) -> Self {
        Self { code: e.code().to_owned(), message: e.message() }
    }

    /// The reason recorded on the timeline: the code, then the message.
    fn reason(&self) -> String {
        let message: String = self.message.chars().take(MAX_MESSAGE_CHARS).collect();
        format!("{}: {message}", self.code)
    }
}

/// Moves request `request_id` to `failed` with `failure` on its timeline, if it is still
/// `approved` or `in_progress`, and schedules the admins' alert. Returns whether it moved.
pub async fn request(
    ctx: &JobContext,
    organization: Uuid,
    request_id: Uuid,
    failure: &Cause,
) -> Result<bool, JobError> {
    let applied = request::Model::apply(
        &ctx.db,
        &ctx.keyring,
        organization,
        request_id,
        Action::Fail,
        Actor::SYSTEM,
        Some(failure.reason()),
    )
    .await;
    let failed = match applied {
        Ok(failed) => failed,
        // Completed, canceled or failed by someone else meanwhile: nothing to give up.
        Err(LifecycleError::Transition(_) | LifecycleError::NotFound) => return Ok(false),
        Err(e) => return Err(JobError::lifecycle(e)),
    };
    ctx.counters.request_failed();
    tracing::warn!(request_id = %request_id, code = %failure.code, "request failed: its work gave up");
    let alert = FollowUp::Alert {
        organization_id: organization,
        alert: Alert::RequestFailed { request_id },
        failed_at: failed.updated_at,
    };
    ctx.queue.schedule_logged(&alert).await;
    Ok(true)
}

/// Gives a request in progress up when one of its store tasks failed for good: the failure
/// named is the first such task's (by store name), and the message counts the others.
/// Returns whether it gave up.
pub async fn request_if_a_task_failed(
    ctx: &JobContext,
    organization: Uuid,
    request_id: Uuid,
) -> Result<bool, JobError> {
    // The tasks first: on the common path (nothing failed) that is the only query.
    let mut failed: Vec<store_task::Model> = store_task::Model::of_request(&ctx.db, organization, request_id)
        .await?
        .into_iter()
        .filter(|t| t.status == TaskStatus::Failed)
        .collect();
    failed.sort_by(|a, b| a.store_name.cmp(&b.store_name));
    let Some(first) = failed.first() else { return Ok(false) };
    // Only a request in progress gives up here (an approved one is about to reset its failed
    // tasks: a retry).
    let current = request::Model::find_in_org(&ctx.db, organization, request_id).await?;
    if current.is_none_or(|r| r.state != RequestState::InProgress) {
        return Ok(false);
    }
    let others = match failed.len() - 1 {
        0 => String::new(),
        1 => " (and 1 other store failed)".to_owned(),
        n => format!(" (and {n} other stores failed)"),
    };
    let failure = Cause {
        code: first.error_code.clone().unwrap_or_else(|| "store_failed".to_owned()),
        message: format!(
            "store `{}`: {}{others}",
            first.store_name,
            first.error_message.as_deref().unwrap_or("the store's task failed")
        ),
    };
    request(ctx, organization, request_id, &failure).await
}

/// Fails retention run `run` with `failure` (if it is still queued or running) and schedules the
/// admins' alert. A batch the run left in flight is settled by the ledger's recovery sweep.
pub async fn run(ctx: &JobContext, run: &Run, failure: &Cause) -> Result<(), JobError> {
    let current = Run::find_in_org(&ctx.db, run.organization_id, run.id).await?.unwrap_or_else(|| run.clone());
    if current.state.is_final() {
        return Ok(());
    }
    let step = RunStep::Fail { code: failure.code.clone(), message: failure.message.clone() };
    if current.apply(&ctx.db, step).await?.is_none() {
        // Stopped or ended by someone else meanwhile.
        return Ok(());
    }
    ctx.counters.run_failed();
    tracing::warn!(run_id = %run.id, policy_id = %run.policy_id, code = %failure.code, "retention run failed");
    let alert = FollowUp::Alert {
        organization_id: run.organization_id,
        alert: Alert::RunFailed { run_id: run.id },
        failed_at: time::OffsetDateTime::now_utc(),
    };
    ctx.queue.schedule_logged(&alert).await;
    Ok(())
}
