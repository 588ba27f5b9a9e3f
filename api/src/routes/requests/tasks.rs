//! A request's store tasks: what locating found (counts, never values) and what still waits,
//! re-running locate for failed stores, and settling manual tasks by hand (complete with a note
//! and, for an access request, a file for the package; or waive with a reason).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lethe_entities::StoreKind;
use lethe_entities::domain::enums::TaskStatus;
use lethe_entities::entity::store_task;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::actions::ReasonBody;
use crate::auth::{Permission, Principal};
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{AdminOnly, Authenticated, Invalid, RequestNotFound, TaskNotFound};
use crate::services::{self, tasks::MAX_ATTACHMENT_BYTES, tasks::Upload};
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
    /// `pending`, `located`, `waiting` (operator or service), `erasing`, `calling` (a service is
    /// being asked for an access request's data), `failed`, `done` or `waived`.
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

/// A request's store tasks.
#[utoipa::path(
    get, path = "/v1/requests/{id}/tasks", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One task per store, by store name", body = [TaskView]),
        Authenticated,
        RequestNotFound,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Vec<TaskView>>> {
    principal.require(Permission::ReadRequests)?;
    let req = services::tasks::find(&state, &principal, id).await?;
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
        Authenticated,
        RequestNotFound,
        (status = 409, description = "`invalid_transition`: the request is not in progress", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn relocate(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    services::tasks::relocate(&state, &principal, id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The body limit of [`complete`]: an attachment in base64 and the note.
pub const COMPLETE_BODY_BYTES: usize = MAX_ATTACHMENT_BYTES.div_ceil(3) * 4 + 64 * 1024;

/// Completing a manual (or HTTP) store's task by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// What was done (required, at most 2000 characters).
    pub reason: String,
    /// Access requests, manual stores: a file with what was found, for the package.
    pub attachment: Option<AttachmentBody>,
}

/// A file attached to a manual task, kept encrypted until the access package holds it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentBody {
    /// The file's name (1 to 255 characters, no control characters); in the package it goes to
    /// `<store>/attachments/<name>` with anything but ASCII letters, digits, `-`, `_` and `.`
    /// replaced by `_`.
    pub file_name: String,
    /// The content, base64 (standard alphabet, padded): 1 byte to 10 MiB once decoded.
    pub content_base64: String,
}

/// Marks a manual (or HTTP) store's task done, with the operator's note: what was done. For an
/// access request, an operator may attach a file holding what was found in a manual store
/// (base64, up to 10 MiB): it is kept encrypted and goes into the package under
/// `<store>/attachments/`; the package is built once every manual task is completed or waived.
#[utoipa::path(
    post, path = "/v1/requests/{id}/tasks/{task}/complete", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id"), ("task" = Uuid, Path, description = "Task id")),
    request_body = CompleteBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Done; the request completes when every task is done or waived", body = TaskView),
        Authenticated,
        TaskNotFound,
        (status = 409, description = "`task_not_waiting`: automated stores are worked by Lethe", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (also for an attachment that is not base64, too large, or not for a manual task of an access request) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    principal: Principal,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    Body(body): Body<CompleteBody>,
) -> ApiResult<Json<TaskView>> {
    let file = body.attachment.map(|a| Upload::Base64 { file_name: a.file_name, content_base64: a.content_base64 });
    let updated = services::tasks::complete(&state, &principal, id, task, &body.reason, file).await?;
    Ok(Json(TaskView::from(&updated)))
}

/// Waives a store task (admin): the request may complete without it. The reason is recorded.
#[utoipa::path(
    post, path = "/v1/requests/{id}/tasks/{task}/waive", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id"), ("task" = Uuid, Path, description = "Task id")),
    request_body = ReasonBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Waived", body = TaskView),
        AdminOnly,
        TaskNotFound,
        (status = 409, description = "`task_finished` or `task_busy` (being erased)", body = Problem, content_type = "application/problem+json"),
        Invalid,
    )
)]
pub async fn waive(
    State(state): State<AppState>,
    principal: Principal,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<TaskView>> {
    let updated = services::tasks::waive(&state, &principal, id, task, &body.reason).await?;
    Ok(Json(TaskView::from(&updated)))
}
