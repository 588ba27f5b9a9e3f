//! Stores worked by internal HTTP services: the call protocol erasure and access share.
//!
//! For each waiting HTTP task Lethe calls `POST <base>/lethe/<operation>` (`erase` or
//! `access`, signed, see [`crate::stores::http`]) with
//!
//! ```json
//! {"request_id": "...", "task_id": "...", "identities": [{"kind": "email", "value": "..."}],
//!  "callback_url": "https://lethe.example/v1/callbacks/tasks/<task_id>"}
//! ```
//!
//! and the service answers `200 {"status": "done", ...}` (done now; what follows `status`
//! depends on the operation, see [`Operation`]) or `202 {"status": "accepted"}` (it will call
//! `callback_url` back, signed with the same secret, with the `done` report or `{"status":
//! "failed", "code": "..."}`). Unreachable services, timeouts and 5xx answers are retried with
//! exponential backoff; a refusal (4xx), an answer larger than
//! [`crate::stores::http::MAX_ANSWER_BYTES`] or too many attempts fail the task with the
//! service's error; a service that accepted but does not call back in time fails it too.
//!
//! One worker calls at a time: the task is claimed (`waiting` -> the operation's claim status,
//! compare-and-set). A claim older than [`CLAIM_TIMEOUT`] belongs to a worker that died during
//! the call, and the call is made again.

pub mod outcome;

use std::future::Future;
use std::pin::Pin;

use lethe_entities::Keyring;
use lethe_entities::StoreKind;
use lethe_entities::domain::enums::TaskStatus;
use lethe_entities::entity::store::Connection;
use lethe_entities::entity::store_task::{self, Step};
use lethe_entities::entity::{request, store};
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;

pub use outcome::{Report, ReportError, Status, record_failed};

use crate::context::JobContext;
use crate::error::JobError;
use crate::locate::Subject;
use crate::queue::{FollowUp, Fulfil};
use crate::stores::http;

/// A claim on a call older than this belongs to a worker that died: the call is made again.
pub const CLAIM_TIMEOUT: std::time::Duration = crate::tasks::CLAIM_TIMEOUT;

/// The future [`Operation::record_done`] returns.
pub type Recording<'a> = Pin<Box<dyn Future<Output = Result<(), ReportError>> + Send + 'a>>;

/// What a service is asked to do, and how its `done` report is recorded: erasure
/// ([`crate::erase::http::Erase`]: `{"status": "done", "erased": {"<table>": <rows>}}`, the rows
/// go to the ledger as the service's own count) and access ([`crate::export::service::Access`]:
/// `{"status": "done", "tables": {"<table>": [{"<column>": <scalar>}]}}`, the rows kept encrypted
/// until the package is built). Each operation lives with the work it belongs to; this module
/// only calls.
pub trait Operation: Sync {
    /// The operation's name: the endpoint is `POST <base>/lethe/<name>`.
    fn name(&self) -> &'static str;

    /// The status of a task while a worker calls its service.
    fn claim_status(&self) -> TaskStatus;

    /// Records a `done` report on a task in status `from`.
    fn record_done<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        keyring: &'a Keyring,
        task: &'a store_task::Model,
        from: TaskStatus,
        report: serde_json::Value,
    ) -> Recording<'a>;
}

/// Whether [`run`] has anything to do among `tasks`: an HTTP task waiting for its call or
/// callback, or one whose call is claimed (to take over once the claim is stale).
pub fn due(tasks: &[store_task::Model], operation: &dyn Operation) -> bool {
    tasks.iter().any(|t| {
        t.store_kind == StoreKind::Http && (t.status == TaskStatus::Waiting || t.status == operation.claim_status())
    })
}

fn callable(task: &store_task::Model, operation: &dyn Operation, now: OffsetDateTime) -> bool {
    task.store_kind == StoreKind::Http
        && (task.status == TaskStatus::Waiting
            || (task.status == operation.claim_status() && task.updated_at < now - CLAIM_TIMEOUT))
}

/// Calls the services of the request's HTTP tasks whose next attempt is due, and fails those
/// whose callback is overdue. When to come back (a claim expiring, a callback deadline, a retry)
/// is added to `next`.
pub async fn run(
    ctx: &JobContext,
    request: &request::Model,
    tasks: &[store_task::Model],
    subject: &Subject,
    operation: &dyn Operation,
    next: &mut Vec<FollowUp>,
) -> Result<(), JobError> {
    let now = OffsetDateTime::now_utc();
    let claimed = tasks.iter().filter(|t| {
        t.store_kind == StoreKind::Http && t.status == operation.claim_status() && !callable(t, operation, now)
    });
    for task in claimed {
        // Another worker is calling (or died calling): come back when its claim would expire.
        let after = (task.updated_at + CLAIM_TIMEOUT - now).unsigned_abs() + std::time::Duration::from_secs(1);
        next.push(FollowUp::fulfil(request, Fulfil::ServiceClaimed { task: task.id, attempts: task.attempts, after }));
    }
    for task in tasks.iter().filter(|t| callable(t, operation, now)) {
        if let Some(accepted) = task.accepted_at.filter(|_| task.status == TaskStatus::Waiting) {
            let deadline = accepted + ctx.services.callback_timeout;
            if now >= deadline {
                let message = format!(
                    "the service accepted the call but did not call back within {} s",
                    ctx.services.callback_timeout.as_secs()
                );
                outcome::fail(&ctx.db, task, TaskStatus::Waiting, "service_timeout", &message).await?;
            } else {
                let after = (deadline - now).unsigned_abs();
                next.push(FollowUp::fulfil(request, Fulfil::ServiceDeadline { task: task.id, after }));
            }
            continue;
        }
        if let Some(at) = task.next_attempt_at.filter(|at| *at > now) {
            // Too early (the queue schedules to the second): come back when it is due.
            let after = std::time::Duration::from_secs((at - now).whole_seconds().max(0) as u64 + 1);
            next.push(FollowUp::fulfil(request, Fulfil::ServiceDue { task: task.id, attempts: task.attempts, after }));
            continue;
        }
        call(ctx, request, task, subject, operation, next).await?;
    }
    Ok(())
}

async fn call(
    ctx: &JobContext,
    request: &request::Model,
    task: &store_task::Model,
    subject: &Subject,
    operation: &dyn Operation,
    next: &mut Vec<FollowUp>,
) -> Result<(), JobError> {
    // Claim: one worker calls at a time.
    let attempt = task.attempts + 1;
    let claim = operation.claim_status();
    if !task.apply(&ctx.db, task.status, Step::ClaimCall { claim, attempt }, None).await? {
        return Ok(());
    }
    let Some(model) = store::Model::find_in_org(&ctx.db, task.organization_id, task.store_id).await? else {
        return outcome::fail(&ctx.db, task, claim, "store_not_found", "the store was deleted").await;
    };
    let Ok(Some(Connection::Http { base_url, signing_secret })) = model.connection(&ctx.keyring) else {
        return outcome::fail(&ctx.db, task, claim, "store_config_invalid", "no usable connection is configured").await;
    };
    let identities: Vec<serde_json::Value> = subject
        .identities
        .iter()
        .map(|(kind, value)| serde_json::json!({ "kind": kind.as_str(), "value": value }))
        .collect();
    let body = serde_json::json!({
        "request_id": request.id,
        "task_id": task.id,
        "identities": identities,
        "callback_url": format!("{}/v1/callbacks/tasks/{}", ctx.services.public_url.trim_end_matches('/'), task.id),
    });
    let answer = http::call(ctx.stores.policy(), &base_url, &signing_secret, operation.name(), &body).await;
    match answer {
        Ok(json) => match Report::parse(json) {
            Ok(Report { status: Status::Done, body, .. }) => {
                match operation.record_done(&ctx.db, &ctx.keyring, task, claim, body).await {
                    Ok(()) => Ok(()),
                    Err(ReportError::Ledger(e)) => Err(JobError::Ledger(e)),
                    Err(ReportError::NotWaiting) => Ok(()),
                    Err(invalid) => outcome::fail(&ctx.db, task, claim, invalid.code(), &invalid.to_string()).await,
                }
            }
            Ok(Report { status: Status::Accepted, .. }) => {
                outcome::accepted(&ctx.db, task, claim).await?;
                let after = ctx.services.callback_timeout;
                next.push(FollowUp::fulfil(request, Fulfil::ServiceDeadline { task: task.id, after }));
                Ok(())
            }
            Ok(Report { status: Status::Failed, code, .. }) => {
                let message = format!("the service reported a failure ({})", outcome::safe_code(code.as_deref()));
                outcome::fail(&ctx.db, task, claim, "service_failed", &message).await
            }
            Err(invalid) => outcome::fail(&ctx.db, task, claim, invalid.code(), &invalid.to_string()).await,
        },
        Err(e) if e.is_transient() && attempt < ctx.services.max_attempts => {
            let delay = ctx.services.retry_after * 2u32.saturating_pow((attempt - 1) as u32);
            let next_at = OffsetDateTime::now_utc() + delay;
            let message = format!("attempt {attempt} of {}: {e}; retrying", ctx.services.max_attempts);
            let step = Step::RetryAt { at: next_at, code: e.code().to_owned(), message };
            task.apply(&ctx.db, claim, step, None).await?;
            tracing::info!(task_id = %task.id, attempt, code = e.code(), "service call failed; retrying later");
            next.push(FollowUp::fulfil(request, Fulfil::ServiceRetry { task: task.id, attempt, after: delay }));
            Ok(())
        }
        Err(e) => {
            let message = format!("after {attempt} attempt(s): {e}");
            outcome::fail(&ctx.db, task, claim, e.code(), &message).await
        }
    }
}
