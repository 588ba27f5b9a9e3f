//! Erasure by an internal HTTP service: Lethe calls `POST <base>/lethe/erase` (signed, see
//! [`crate::stores::http`]) with
//!
//! ```json
//! {"request_id": "...", "task_id": "...", "identities": [{"kind": "email", "value": "..."}],
//!  "callback_url": "https://lethe.example/v1/callbacks/tasks/<task_id>"}
//! ```
//!
//! and the service answers either `200 {"status": "done", "erased": {"<table>": <rows>, ...}}`
//! (done now) or `202 {"status": "accepted"}` (it will call `callback_url` back, signed with
//! the same secret, with `{"status": "done", "erased": {...}}` or `{"status": "failed",
//! "code": "..."}`). Unreachable services, timeouts and 5xx answers are retried with
//! exponential backoff; a refusal (4xx) or too many attempts fail the task with the service's
//! error; a service that accepted but does not call back in time fails it too. The rows the
//! service reports are written to the ledger as `service_erase` entries: the count is the
//! service's own word, as with a SQL store's receipt.

use std::collections::BTreeMap;

use lethe_entities::domain::enums::{EventKind, TaskStatus};
use lethe_entities::entity::request::Actor;
use lethe_entities::entity::store::Connection;
use lethe_entities::entity::{request_event, store, store_task};
use lethe_entities::ledger::entry::{EntryKind, SubjectRef};
use lethe_entities::ledger::{self, LedgerError, NewEntry};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::context::JobContext;
use crate::jobs::{JobError, StartFulfilment};
use crate::locate::Subject;
use crate::stores::{StoreError, http};

/// The ledger action of rows a service reports as erased.
pub const ACTION: &str = "service_erase";

/// What a service says, in an answer or a callback.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceReport {
    /// `done`, `accepted` or `failed`.
    pub status: String,
    /// Rows erased per table (with `done`).
    #[serde(default)]
    pub erased: BTreeMap<String, u64>,
    /// The service's error code (with `failed`): `[a-z0-9_]`, at most 64 characters.
    #[serde(default)]
    pub code: Option<String>,
}

/// Why a report cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report is malformed (unknown status, bad table names, too many tables).
    #[error("{0}")]
    Invalid(String),
    /// The task is not waiting for this report.
    #[error("the task is not waiting for the service")]
    NotWaiting,
    /// Lethe's database or ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<sea_orm::DbErr> for ReportError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Ledger(LedgerError::Db(e))
    }
}

/// Calls the services of the request's waiting HTTP tasks whose next attempt is due, and fails
/// those whose callback is overdue.
pub async fn run(
    ctx: &JobContext,
    request: &lethe_entities::entity::request::Model,
    tasks: &[store_task::Model],
    subject: &Subject,
    refs: &[SubjectRef],
) -> Result<(), JobError> {
    let now = OffsetDateTime::now_utc();
    for task in
        tasks.iter().filter(|t| t.store_kind == lethe_entities::StoreKind::Http && t.status == TaskStatus::Waiting)
    {
        if let Some(accepted) = task.accepted_at {
            let deadline = accepted + ctx.services.callback_timeout;
            if now >= deadline {
                let message = format!(
                    "the service accepted the erasure but did not call back within {} s",
                    ctx.services.callback_timeout.as_secs()
                );
                fail(&ctx.db, task, TaskStatus::Waiting, "service_timeout", &message).await?;
            } else {
                let key = format!("service-timeout:{}", task.id);
                let wait = (deadline - now).unsigned_abs();
                let job = StartFulfilment { organization_id: request.organization_id, request_id: request.id };
                ctx.queue.enqueue_after(job, &key, wait).await.map_err(|e| JobError::Permanent(e.to_string()))?;
            }
            continue;
        }
        if let Some(at) = task.next_attempt_at.filter(|at| *at > now) {
            // Too early (the queue schedules to the second): come back when it is due.
            let wait = std::time::Duration::from_secs((at - now).whole_seconds().max(0) as u64 + 1);
            let key = format!("service-wait:{}:{}", task.id, task.attempts);
            let job = StartFulfilment { organization_id: request.organization_id, request_id: request.id };
            ctx.queue.enqueue_after(job, &key, wait).await.map_err(|e| JobError::Permanent(e.to_string()))?;
            continue;
        }
        call(ctx, request, task, subject, refs).await?;
    }
    Ok(())
}

async fn call(
    ctx: &JobContext,
    request: &lethe_entities::entity::request::Model,
    task: &store_task::Model,
    subject: &Subject,
    refs: &[SubjectRef],
) -> Result<(), JobError> {
    // Claim: one worker calls at a time.
    let attempt = task.attempts + 1;
    let claimed = store_task::Entity::update_many()
        .col_expr(store_task::Column::Status, Expr::value(TaskStatus::Erasing))
        .col_expr(store_task::Column::Attempts, Expr::value(attempt))
        .col_expr(store_task::Column::UpdatedAt, Expr::value(OffsetDateTime::now_utc()))
        .filter(store_task::Column::Id.eq(task.id))
        .filter(store_task::Column::Status.eq(TaskStatus::Waiting))
        .filter(store_task::Column::UpdatedAt.eq(task.updated_at))
        .exec(&ctx.db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(());
    }
    let Some(model) = store::Model::find_in_org(&ctx.db, task.organization_id, task.store_id).await? else {
        return fail(&ctx.db, task, TaskStatus::Erasing, "store_not_found", "the store was deleted").await;
    };
    let Ok(Some(Connection::Http { base_url, signing_secret })) = model.connection(&ctx.keyring) else {
        return fail(&ctx.db, task, TaskStatus::Erasing, "store_config_invalid", "no usable connection is configured")
            .await;
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
    let answer = http::call(&base_url, &signing_secret, "erase", &body).await;
    let report = answer.and_then(|json| {
        serde_json::from_value::<ServiceReport>(json)
            .map_err(|_| StoreError::Protocol("the answer is not a report".into()))
    });
    match report {
        Ok(report) => match report.status.as_str() {
            "done" => match record_done(&ctx.db, task, TaskStatus::Erasing, &report.erased, refs).await {
                Ok(()) => Ok(()),
                Err(ReportError::Invalid(why)) => {
                    fail(&ctx.db, task, TaskStatus::Erasing, "store_protocol_error", &why).await
                }
                Err(e) => Err(JobError::Permanent(e.to_string())),
            },
            "accepted" => {
                accepted(&ctx.db, task).await?;
                let key = format!("service-timeout:{}", task.id);
                let job = StartFulfilment { organization_id: request.organization_id, request_id: request.id };
                ctx.queue
                    .enqueue_after(job, &key, ctx.services.callback_timeout)
                    .await
                    .map_err(|e| JobError::Permanent(e.to_string()))?;
                Ok(())
            }
            "failed" => {
                let message = format!("the service reported a failure ({})", safe_code(report.code.as_deref()));
                fail(&ctx.db, task, TaskStatus::Erasing, "service_failed", &message).await
            }
            _ => {
                fail(
                    &ctx.db,
                    task,
                    TaskStatus::Erasing,
                    "store_protocol_error",
                    "the service answered an unknown status",
                )
                .await
            }
        },
        Err(e) if e.is_transient() && attempt < ctx.services.max_attempts => {
            let delay = ctx.services.retry_after * 2u32.saturating_pow((attempt - 1) as u32);
            let next = OffsetDateTime::now_utc() + delay;
            store_task::Entity::update_many()
                .col_expr(store_task::Column::Status, Expr::value(TaskStatus::Waiting))
                .col_expr(store_task::Column::NextAttemptAt, Expr::value(Some(next)))
                .col_expr(store_task::Column::ErrorCode, Expr::value(Some(e.code().to_owned())))
                .col_expr(
                    store_task::Column::ErrorMessage,
                    Expr::value(Some(format!("attempt {attempt} of {}: {e}; retrying", ctx.services.max_attempts))),
                )
                .col_expr(store_task::Column::UpdatedAt, Expr::value(OffsetDateTime::now_utc()))
                .filter(store_task::Column::Id.eq(task.id))
                .exec(&ctx.db)
                .await?;
            tracing::info!(task_id = %task.id, attempt, code = e.code(), "service call failed; retrying later");
            let job = StartFulfilment { organization_id: request.organization_id, request_id: request.id };
            ctx.queue
                .enqueue_after(job, &format!("service:{}:{attempt}", task.id), delay)
                .await
                .map_err(|e| JobError::Permanent(e.to_string()))?;
            Ok(())
        }
        Err(e) => {
            let message = format!("after {attempt} attempt(s): {e}");
            fail(&ctx.db, task, TaskStatus::Erasing, e.code(), &message).await
        }
    }
}

/// A service error code as it may be shown: `[a-z0-9_]{1,64}`, else `unspecified`.
fn safe_code(code: Option<&str>) -> &str {
    match code {
        Some(c)
            if !c.is_empty()
                && c.len() <= 64
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            c
        }
        _ => "unspecified",
    }
}

async fn accepted(db: &DatabaseConnection, task: &store_task::Model) -> Result<(), JobError> {
    let now = OffsetDateTime::now_utc();
    store_task::Entity::update_many()
        .col_expr(store_task::Column::Status, Expr::value(TaskStatus::Waiting))
        .col_expr(store_task::Column::AcceptedAt, Expr::value(Some(now)))
        .col_expr(store_task::Column::ErrorCode, Expr::value(Option::<String>::None))
        .col_expr(store_task::Column::ErrorMessage, Expr::value(Option::<String>::None))
        .col_expr(store_task::Column::UpdatedAt, Expr::value(now))
        .filter(store_task::Column::Id.eq(task.id))
        .exec(db)
        .await?;
    event(
        db,
        task,
        EventKind::StoreWaiting,
        serde_json::json!({ "store": task.store_name, "waits_for": "service_callback" }),
    )
    .await?;
    Ok(())
}

/// Fails a task (compare-and-set from `from`) with its event.
async fn fail(
    db: &DatabaseConnection,
    task: &store_task::Model,
    from: TaskStatus,
    code: &str,
    message: &str,
) -> Result<(), JobError> {
    let changed = store_task::Entity::update_many()
        .col_expr(store_task::Column::Status, Expr::value(TaskStatus::Failed))
        .col_expr(store_task::Column::ErrorCode, Expr::value(Some(code.to_owned())))
        .col_expr(store_task::Column::ErrorMessage, Expr::value(Some(message.to_owned())))
        .col_expr(store_task::Column::UpdatedAt, Expr::value(OffsetDateTime::now_utc()))
        .filter(store_task::Column::Id.eq(task.id))
        .filter(store_task::Column::Status.eq(from))
        .exec(db)
        .await?;
    if changed.rows_affected == 1 {
        tracing::warn!(task_id = %task.id, code, "service erasure failed");
        event(
            db,
            task,
            EventKind::StoreFailed,
            serde_json::json!({ "store": task.store_name, "code": code, "message": message }),
        )
        .await?;
    }
    Ok(())
}

async fn event(
    db: &DatabaseConnection,
    task: &store_task::Model,
    kind: EventKind,
    detail: serde_json::Value,
) -> Result<(), sea_orm::DbErr> {
    request_event::ActiveModel::record(
        task.organization_id,
        task.request_id,
        Actor::SYSTEM,
        kind,
        None,
        None,
        Some(detail),
    )
    .insert(db)
    .await
    .map(drop)
}

/// Records a service's `done` report: the task moves from `from` to done, the reported rows go
/// to the ledger (one `service_erase` entry per table) and the timeline, in one transaction.
pub async fn record_done(
    db: &DatabaseConnection,
    task: &store_task::Model,
    from: TaskStatus,
    erased: &BTreeMap<String, u64>,
    refs: &[SubjectRef],
) -> Result<(), ReportError> {
    if erased.len() > 1000 {
        return Err(ReportError::Invalid("a report may name at most 1000 tables".into()));
    }
    let entries: Vec<NewEntry> = erased
        .iter()
        .map(|(table, rows)| NewEntry {
            request_id: Some(task.request_id),
            store: Some(task.store_name.clone()),
            table: Some(table.clone()),
            action: Some(ACTION.into()),
            row_count: *rows,
            subject_refs: refs.to_vec(),
            ..NewEntry::new(EntryKind::Erasure)
        })
        .collect();
    for entry in &entries {
        entry.validate().map_err(|_| ReportError::Invalid("a reported table name is not a valid name".into()))?;
    }
    let now = OffsetDateTime::now_utc();
    let txn = lethe_entities::entity::begin_write(db).await?;
    let changed = store_task::Entity::update_many()
        .col_expr(store_task::Column::Status, Expr::value(TaskStatus::Done))
        .col_expr(store_task::Column::ErrorCode, Expr::value(Option::<String>::None))
        .col_expr(store_task::Column::ErrorMessage, Expr::value(Option::<String>::None))
        .col_expr(store_task::Column::UpdatedAt, Expr::value(now))
        .filter(store_task::Column::Id.eq(task.id))
        .filter(store_task::Column::Status.eq(from))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(ReportError::NotWaiting);
    }
    let first = if entries.is_empty() {
        None
    } else {
        Some(ledger::append(&txn, task.organization_id, &entries).await?.first_seq)
    };
    let erased: Vec<serde_json::Value> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            serde_json::json!({ "table": e.table, "action": ACTION, "rows": e.row_count, "ledger_seq": first.map(|s| s + i as u64) })
        })
        .collect();
    request_event::ActiveModel::record(
        task.organization_id,
        task.request_id,
        Actor::SYSTEM,
        EventKind::StoreErased,
        None,
        None,
        Some(
            serde_json::json!({ "store": task.store_name, "erased": erased, "retained": [], "reported_by": "service" }),
        ),
    )
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Records a callback's `failed` report on a task waiting for it.
pub async fn record_failed(
    db: &DatabaseConnection,
    task: &store_task::Model,
    code: Option<&str>,
) -> Result<(), ReportError> {
    let message = format!("the service reported a failure ({})", safe_code(code));
    let changed = store_task::Entity::update_many()
        .col_expr(store_task::Column::Status, Expr::value(TaskStatus::Failed))
        .col_expr(store_task::Column::ErrorCode, Expr::value(Some("service_failed".to_owned())))
        .col_expr(store_task::Column::ErrorMessage, Expr::value(Some(message.clone())))
        .col_expr(store_task::Column::UpdatedAt, Expr::value(OffsetDateTime::now_utc()))
        .filter(store_task::Column::Id.eq(task.id))
        .filter(store_task::Column::Status.eq(TaskStatus::Waiting))
        .exec(db)
        .await?;
    if changed.rows_affected != 1 {
        return Err(ReportError::NotWaiting);
    }
    event(
        db,
        task,
        EventKind::StoreFailed,
        serde_json::json!({ "store": task.store_name, "code": "service_failed", "message": message }),
    )
    .await?;
    Ok(())
}
