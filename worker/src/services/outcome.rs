//! What a service says (in an answer or a callback) and how it is recorded on the task and the
//! timeline. Nothing the service sends is logged or put on the timeline except its error code,
//! and that only when it is a plain code.

use lethe_entities::domain::enums::{EventKind, TaskStatus};
use lethe_entities::entity::store_task::{self, Step, TaskError, TaskEvent};
use lethe_entities::ledger::LedgerError;
use sea_orm::DatabaseConnection;

use crate::error::JobError;

/// The `status` of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done; the rest of the report says what was done.
    Done,
    /// Accepted: the service will call back.
    Accepted,
    /// The service failed.
    Failed,
}

/// A service's answer or callback.
#[derive(Debug, Clone)]
pub struct Report {
    /// What the service says.
    pub status: Status,
    /// The service's error code (with `failed`).
    pub code: Option<String>,
    /// The whole report, for the operation to read what was done.
    pub body: serde_json::Value,
}

impl Report {
    /// Reads a report: an object with `status` `done`, `accepted` or `failed`.
    pub fn parse(body: serde_json::Value) -> Result<Self, ReportError> {
        let status = match body.get("status").and_then(serde_json::Value::as_str) {
            Some("done") => Status::Done,
            Some("accepted") => Status::Accepted,
            Some("failed") => Status::Failed,
            _ => {
                return Err(ReportError::Invalid {
                    field: "status",
                    message: "the service answered no known status (`done`, `accepted` or `failed`)".into(),
                });
            }
        };
        let code = body.get("code").and_then(serde_json::Value::as_str).map(str::to_owned);
        Ok(Self { status, code, body })
    }
}

/// Why a report cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report is malformed (unknown status, bad table names, too many tables).
    #[error("{message}")]
    Invalid {
        /// The report's field at fault.
        field: &'static str,
        /// What is wrong, without any value from the report.
        message: String,
    },
    /// The data a service returned for an access request is not rows of scalars, or too much.
    #[error("{0}")]
    InvalidData(String),
    /// The task is not waiting for this report.
    #[error("the task is not waiting for the service")]
    NotWaiting,
    /// Lethe's database or ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl ReportError {
    /// The task's error code when a service's answer is refused.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidData(_) => "service_data_invalid",
            _ => "store_protocol_error",
        }
    }
}

impl From<sea_orm::DbErr> for ReportError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Ledger(LedgerError::Db(e))
    }
}

impl From<TaskError> for ReportError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::Db(e) => e.into(),
            // The task is in no status this report can move it from.
            TaskError::Refused(_) => Self::NotWaiting,
        }
    }
}

/// A service error code as it may be shown: `[a-z0-9_]{1,64}`, else `unspecified`.
pub fn safe_code(code: Option<&str>) -> &str {
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

/// The service accepted the work: the task (claimed as `from`) waits for its callback.
pub(super) async fn accepted(
    db: &DatabaseConnection,
    task: &store_task::Model,
    from: TaskStatus,
) -> Result<(), JobError> {
    let detail = serde_json::json!({ "store": task.store_name, "waits_for": "service_callback" });
    task.apply(db, from, Step::Accepted, Some(TaskEvent::system(EventKind::StoreWaiting, detail))).await?;
    Ok(())
}

/// Fails a task (compare-and-set from `from`) with its event.
pub(super) async fn fail(
    db: &DatabaseConnection,
    task: &store_task::Model,
    from: TaskStatus,
    code: &str,
    message: &str,
) -> Result<(), JobError> {
    let detail = serde_json::json!({ "store": task.store_name, "code": code, "message": message });
    let step = Step::Fail { code: code.to_owned(), message: message.to_owned() };
    if task.apply(db, from, step, Some(TaskEvent::system(EventKind::StoreFailed, detail))).await? {
        tracing::warn!(task_id = %task.id, code, "service call failed");
    }
    Ok(())
}

/// Records a callback's `failed` report on a task waiting for it.
pub async fn record_failed(
    db: &DatabaseConnection,
    task: &store_task::Model,
    code: Option<&str>,
) -> Result<(), ReportError> {
    let message = format!("the service reported a failure ({})", safe_code(code));
    let detail = serde_json::json!({ "store": task.store_name, "code": "service_failed", "message": message });
    let step = Step::Fail { code: "service_failed".to_owned(), message };
    let event = TaskEvent::system(EventKind::StoreFailed, detail);
    if !task.apply(db, TaskStatus::Waiting, step, Some(event)).await? {
        return Err(ReportError::NotWaiting);
    }
    Ok(())
}
