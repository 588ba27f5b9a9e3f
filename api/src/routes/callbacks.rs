//! Callbacks from internal HTTP services that accepted an erasure for later completion. The
//! call is authenticated by its signature (the store's shared secret, as Lethe signs its own
//! calls) and must be fresh (five minutes).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use lethe_entities::domain::enums::TaskStatus;
use lethe_entities::entity::store::Connection;
use lethe_entities::entity::{store, store_task, subject_identity};
use lethe_worker::erase::http::{ReportError, ServiceReport, record_done, record_failed};
use lethe_worker::stores::http::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::PathParams;
use crate::state::AppState;

/// How far a callback's timestamp may be from now.
const FRESH_SECS: i64 = 300;

fn invalid_signature() -> ApiError {
    ApiError::unauthorized("invalid_signature", "the callback's signature or timestamp is not valid")
}

/// A service reports the outcome of an erasure it accepted.
///
/// Body: `{"status": "done", "erased": {"<table>": <rows>}}` or `{"status": "failed", "code":
/// "<code>"}`, signed with `Lethe-Timestamp` and `Lethe-Signature: v1=<hex HMAC-SHA256(secret,
/// timestamp + "." + body)>`.
#[utoipa::path(
    post, path = "/v1/callbacks/tasks/{task}", tag = "stores",
    params(("task" = Uuid, Path, description = "The task id Lethe sent with the call")),
    request_body(content = String, description = "The report, JSON", content_type = "application/json"),
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, description = "`invalid_signature` (also for an unknown task)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`task_not_waiting`: the task is not waiting for a callback (e.g. it timed out)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`: not a report", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn task_report(
    State(state): State<AppState>,
    PathParams(task): PathParams<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let task = store_task::Entity::find_by_id(task).one(&state.db).await?.ok_or_else(invalid_signature)?;
    let store = store::Entity::find_by_id(task.store_id).one(&state.db).await?.ok_or_else(invalid_signature)?;
    let Ok(Some(Connection::Http { signing_secret, .. })) = store.connection(&state.keyring) else {
        return Err(invalid_signature());
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp: i64 = header(TIMESTAMP_HEADER).and_then(|t| t.parse().ok()).ok_or_else(invalid_signature)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = header(SIGNATURE_HEADER).is_some_and(|s| verify(&signing_secret, timestamp, &body, s));
    if !signed || (now - timestamp).abs() > FRESH_SECS {
        return Err(invalid_signature());
    }
    let report: ServiceReport = serde_json::from_slice(&body)
        .map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "the body is not a report"))?;
    if task.status != TaskStatus::Waiting || task.accepted_at.is_none() {
        return Err(not_waiting());
    }
    let outcome = match report.status.as_str() {
        "done" => {
            let refs: Vec<_> = subject_identity::Model::of_request(&state.db, task.organization_id, task.request_id)
                .await?
                .iter()
                .map(|i| state.keyring.ledger_subject_ref(task.organization_id, &i.blind_index))
                .collect();
            record_done(&state.db, &task, TaskStatus::Waiting, &report.erased, &refs).await
        }
        "failed" => record_failed(&state.db, &task, report.code.as_deref()).await,
        _ => return Err(ApiError::invalid_field("status", "`done` or `failed`")),
    };
    match outcome {
        Ok(()) => {}
        Err(ReportError::NotWaiting) => return Err(not_waiting()),
        Err(ReportError::Invalid(why)) => return Err(ApiError::invalid_field("erased", why)),
        Err(ReportError::Ledger(e)) => return Err(e.into()),
    }
    tracing::info!(task_id = %task.id, status = %report.status, "service callback recorded");
    lethe_worker::tasks::complete_if_finished(
        &state.db,
        &state.keyring,
        task.organization_id,
        task.request_id,
        lethe_entities::entity::Commit::Durable,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn not_waiting() -> ApiError {
    ApiError::conflict("task_not_waiting", "this task is not waiting for a callback (finished, failed or timed out)")
}
