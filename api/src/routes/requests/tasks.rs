//! A request's store tasks: what locating found (counts, never values) and what still waits,
//! and re-running locate for failed stores.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lethe_entities::StoreKind;
use lethe_entities::domain::enums::{RequestState, TaskStatus};
use lethe_entities::entity::{request, store_task};
use lethe_worker::jobs::StartFulfilment;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, Problem, request_not_found};
use crate::extract::PathParams;
use crate::state::AppState;

/// One store's task for a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    /// Task id.
    pub id: Uuid,
    /// The store.
    pub store_id: Uuid,
    /// Its name.
    pub store: String,
    /// Its kind.
    pub kind: StoreKind,
    /// `pending`, `located`, `waiting` (operator or service), `failed`, `done` or `waived`.
    pub status: TaskStatus,
    /// Located rows per table or key pattern.
    pub counts: BTreeMap<String, u64>,
    /// Their sum.
    pub total_rows: i64,
    /// Why it failed: a stable code.
    pub error_code: Option<String>,
    /// Why, in words.
    pub error_message: Option<String>,
    /// Locate runs so far.
    pub attempts: i32,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&store_task::Model> for TaskView {
    fn from(t: &store_task::Model) -> Self {
        Self {
            id: t.id,
            store_id: t.store_id,
            store: t.store_name.clone(),
            kind: t.store_kind,
            status: t.status,
            counts: t.count_map(),
            total_rows: t.total_rows,
            error_code: t.error_code.clone(),
            error_message: t.error_message.clone(),
            attempts: t.attempts,
            updated_at: t.updated_at,
        }
    }
}

async fn find(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<request::Model> {
    request::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(request_not_found)
}

/// A request's store tasks.
#[utoipa::path(
    get, path = "/v1/requests/{id}/tasks", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One task per store, by store name", body = [TaskView]),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Vec<TaskView>>> {
    principal.require(Permission::ReadRequests)?;
    let req = find(&state, &principal, id).await?;
    let tasks = store_task::Model::of_request(&state.db, principal.organization_id, req.id).await?;
    Ok(Json(tasks.iter().map(TaskView::from).collect()))
}

/// Locate again: failed store tasks go back to `pending`, stores registered since get a task,
/// and the worker locates them.
#[utoipa::path(
    post, path = "/v1/requests/{id}/locate", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Locating is queued"),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the request is not in progress", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn relocate(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    principal.require(Permission::ManageRequests)?;
    let req = find(&state, &principal, id).await?;
    if req.state != RequestState::InProgress {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!("a request in state `{}` is not being located", req.state.as_str()),
        ));
    }
    let reset = lethe_worker::tasks::reset_failed(&state.db, principal.organization_id, req.id).await?;
    let key = format!("locate:{}:{}", req.id, Uuid::now_v7());
    state.queue.enqueue(StartFulfilment { organization_id: req.organization_id, request_id: req.id }, &key).await?;
    tracing::info!(request_id = %id, reset, by = ?principal.actor().id, "locate requested again");
    Ok(StatusCode::ACCEPTED)
}
