//! Callbacks from internal HTTP services that accepted an erasure or an access call for later
//! completion. The call is authenticated by its signature (the store's shared secret, as Lethe
//! signs its own calls) and must be fresh (five minutes).
//!
//! The body limit is the global one (`LETHE_MAX_BODY_BYTES`), except for an access task
//! waiting for its callback: the rows a service returns may take up to 16 MiB
//! ([`lethe_worker::export::service::MAX_BYTES`]). The task is looked up before the body is
//! read, so only a waiting access task can make Lethe read that much.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use lethe_entities::domain::enums::{RequestKind, TaskStatus};
use lethe_entities::entity::store::Connection;
use lethe_entities::entity::{request, store, store_task, subject_identity};
use lethe_worker::erase::http::Erase;
use lethe_worker::export::service::Access;
use lethe_worker::queue::{FollowUp, Fulfil};
use lethe_worker::services::{Operation, Report, ReportError, Status, record_failed};
use lethe_worker::stores::http::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::PathParams;
use crate::openapi::responses::RateLimited;
use crate::state::AppState;

/// How far a callback's timestamp may be from now.
const FRESH_SECS: i64 = 300;

fn invalid_signature() -> ApiError {
    ApiError::unauthorized("invalid_signature", "the callback's signature or timestamp is not valid")
}

/// A service reports the outcome of an erasure or access call it accepted.
///
/// Body, for an erasure: `{"status": "done", "erased": {"<table>": <rows>}}`; for an access
/// request: `{"status": "done", "tables": {"<table>": [{"<column>": <string, number, boolean
/// or null>}]}}` (at most 16 MiB); or `{"status": "failed", "code": "<code>"}`. Signed with
/// `Lethe-Timestamp` and `Lethe-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." +
/// body)>`.
#[utoipa::path(
    post, path = "/v1/callbacks/tasks/{task}", tag = "stores",
    params(("task" = Uuid, Path, description = "The task id Lethe sent with the call")),
    request_body(content = String, description = "The report, JSON", content_type = "application/json"),
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, description = "`invalid_signature` (also for an unknown task)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`task_not_waiting`: the task is not waiting for a callback (e.g. it timed out)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: over 16 MiB for an access task, over the global limit otherwise", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body` (not a report), `validation_failed` (unknown status, bad `erased`) or `service_data_invalid` (`tables` is not tables of rows of scalars)", body = Problem, content_type = "application/problem+json"),
        RateLimited,
    )
)]
pub async fn task_report(
    State(state): State<AppState>,
    PathParams(task): PathParams<Uuid>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<StatusCode> {
    let task = store_task::Entity::find_by_id(task).one(&state.db).await?.ok_or_else(invalid_signature)?;
    let store = store::Entity::find_by_id(task.store_id).one(&state.db).await?.ok_or_else(invalid_signature)?;
    let Ok(Some(Connection::Http { signing_secret, .. })) = store.connection(&state.keyring) else {
        return Err(invalid_signature());
    };
    let req = request::Model::find_in_org(&state.db, task.organization_id, task.request_id)
        .await?
        .ok_or_else(invalid_signature)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp: i64 = header(TIMESTAMP_HEADER).and_then(|t| t.parse().ok()).ok_or_else(invalid_signature)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if (now - timestamp).abs() > FRESH_SECS {
        return Err(invalid_signature());
    }
    let waiting = task.status == TaskStatus::Waiting && task.accepted_at.is_some();
    let limit = if waiting && req.kind == RequestKind::Access {
        lethe_worker::export::service::MAX_BYTES
    } else {
        state.settings.max_body_bytes
    };
    let body = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if crate::server::body_timeout::is_body_timeout(&e) {
            return ApiError::request_timeout();
        }
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than this server accepts")
    })?;
    if !header(SIGNATURE_HEADER).is_some_and(|s| verify(&signing_secret, timestamp, &body, s)) {
        return Err(invalid_signature());
    }
    let report = serde_json::from_slice(&body)
        .ok()
        .and_then(|json| Report::parse(json).ok())
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "the body is not a report"))?;
    drop(body);
    if !waiting {
        return Err(not_waiting());
    }
    let refs: Vec<_>;
    let operation: &dyn Operation = if req.kind == RequestKind::Access {
        &Access
    } else {
        refs = subject_identity::Model::of_request(&state.db, task.organization_id, task.request_id)
            .await?
            .iter()
            .map(|i| state.keyring.ledger_subject_ref(task.organization_id, &i.blind_index))
            .collect();
        &Erase { refs: &refs }
    };
    let status = report.status;
    let outcome = match status {
        Status::Done => operation.record_done(&state.db, &state.keyring, &task, TaskStatus::Waiting, report.body).await,
        Status::Failed => record_failed(&state.db, &task, report.code.as_deref()).await,
        Status::Accepted => return Err(ApiError::invalid_field("status", "`done` or `failed`")),
    };
    match outcome {
        Ok(()) => {}
        Err(ReportError::NotWaiting) => return Err(not_waiting()),
        Err(ReportError::Invalid { field, message }) => return Err(ApiError::invalid_field(field, message)),
        Err(ReportError::InvalidData(message)) => {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "service_data_invalid", message));
        }
        Err(ReportError::Ledger(e)) => return Err(e.into()),
    }
    tracing::info!(task_id = %task.id, done = status == Status::Done, "service callback recorded");
    if req.kind == RequestKind::Access {
        // The package is built by the worker once every service has returned its rows.
        state.queue.schedule(&FollowUp::fulfil(&req, Fulfil::ServiceReturned { task: task.id })).await?;
    } else {
        crate::services::requests::complete_if_finished(&state, task.organization_id, task.request_id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

fn not_waiting() -> ApiError {
    ApiError::conflict("task_not_waiting", "this task is not waiting for a callback (finished, failed or timed out)")
}
