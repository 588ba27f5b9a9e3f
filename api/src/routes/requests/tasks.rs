//! A request's store tasks: what locating found (counts, never values) and what still waits,
//! re-running locate for failed stores, and settling manual tasks by hand (complete with a note
//! and, for an access request, a file for the package; or waive with a reason).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lethe_entities::StoreKind;
use lethe_entities::domain::enums::{EventKind, RequestKind, RequestState, TaskStatus};
use lethe_entities::entity::store_task::{Step, TaskEvent};
use lethe_entities::entity::task_return::{self, ReturnKind};
use lethe_entities::entity::{request, store_task};
use lethe_worker::queue::{FollowUp, Fulfil};
use sea_orm::ActiveModelTrait;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::actions::ReasonBody;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, Problem, request_not_found};
use crate::extract::{Body, PathParams};
use crate::services::requests::reason_text;
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

/// The caller's organization's request `id` (another organization's answers like an unknown one).
pub(super) async fn find(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<request::Model> {
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
    state.queue.schedule(&FollowUp::fulfil(&req, Fulfil::Relocate { ask: Uuid::now_v7() })).await?;
    tracing::info!(request_id = %id, reset, by = ?principal.actor().id, "locate requested again");
    Ok(StatusCode::ACCEPTED)
}

/// The largest file an operator may attach to a manual task (10 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 10 << 20;
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

/// Checks an attachment: only for a manual store's task of an access request; a usable name;
/// base64 content of 1 byte to [`MAX_ATTACHMENT_BYTES`].
fn attachment(
    req: &request::Model,
    task: &store_task::Model,
    body: Option<AttachmentBody>,
) -> ApiResult<Option<task_return::Attachment>> {
    let Some(body) = body else { return Ok(None) };
    if req.kind != RequestKind::Access || task.store_kind != StoreKind::Manual {
        return Err(ApiError::invalid_field(
            "attachment",
            "only a manual store's task of an access request takes a file",
        ));
    }
    let name = body.file_name.trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("attachment.file_name", "1 to 255 characters without control characters"));
    }
    let content = STANDARD
        .decode(body.content_base64.as_bytes())
        .map_err(|_| ApiError::invalid_field("attachment.content_base64", "not base64 (standard alphabet, padded)"))?;
    if content.is_empty() || content.len() > MAX_ATTACHMENT_BYTES {
        return Err(ApiError::invalid_field("attachment.content_base64", "the file must hold 1 byte to 10 MiB"));
    }
    Ok(Some(task_return::Attachment { file_name: name.to_owned(), content }))
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
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found` or `task_not_found`", body = Problem, content_type = "application/problem+json"),
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
    principal.require(Permission::ManageRequests)?;
    let note = reason_text("reason", Some(&body.reason), true)?;
    let req = find(&state, &principal, id).await?;
    let task = load_task(&state, &principal, req.id, task).await?;
    if task.store_kind.is_automated() || task.status != TaskStatus::Waiting || req.state != RequestState::InProgress {
        return Err(ApiError::conflict(
            "task_not_waiting",
            "only a waiting manual or HTTP store task of a request in progress can be completed by hand",
        ));
    }
    let file = attachment(&req, &task, body.attachment)?;
    let settled = Settled { step: Step::Complete, event: EventKind::TaskCompleted, reason: note, file };
    let updated = settle_task(&state, &principal, &req, &task, settled).await?;
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
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found` or `task_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`task_finished` or `task_busy` (being erased)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn waive(
    State(state): State<AppState>,
    principal: Principal,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<TaskView>> {
    principal.require(Permission::WaiveTasks)?;
    let reason = reason_text("reason", Some(&body.reason), true)?;
    let req = find(&state, &principal, id).await?;
    let task = load_task(&state, &principal, req.id, task).await?;
    match task.status {
        TaskStatus::Done | TaskStatus::Waived => {
            return Err(ApiError::conflict("task_finished", "this task is already done or waived"));
        }
        TaskStatus::Erasing => {
            return Err(ApiError::conflict("task_busy", "this store is being erased right now; wait for the outcome"));
        }
        _ => {}
    }
    if req.state != RequestState::InProgress {
        return Err(ApiError::conflict("task_finished", "the request is not in progress"));
    }
    let settled = Settled { step: Step::Waive, event: EventKind::TaskWaived, reason, file: None };
    let updated = settle_task(&state, &principal, &req, &task, settled).await?;
    Ok(Json(TaskView::from(&updated)))
}

async fn load_task(state: &AppState, principal: &Principal, request: Uuid, task: Uuid) -> ApiResult<store_task::Model> {
    store_task::Entity::find_by_id(task)
        .filter(store_task::Column::OrganizationId.eq(principal.organization_id))
        .filter(store_task::Column::RequestId.eq(request))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("task_not_found", "no task with this id on this request"))
}

/// How a task is settled by hand.
struct Settled {
    step: Step,
    event: EventKind,
    reason: Option<String>,
    /// A file attached to a manual task of an access request.
    file: Option<task_return::Attachment>,
}

/// Moves a task to its settled status (compare-and-set on the status seen) with its event and
/// attached file, then completes the request if that was the last open task. For an access
/// request the worker does that, after building the package the task may have been holding up.
async fn settle_task(
    state: &AppState,
    principal: &Principal,
    req: &request::Model,
    task: &store_task::Model,
    settled: Settled,
) -> ApiResult<store_task::Model> {
    let Settled { step, event, reason, file } = settled;
    let step_name = step.name();
    let now = OffsetDateTime::now_utc();
    let actor = principal.actor();
    let mut detail = serde_json::json!({ "store": task.store_name, "task": task.id });
    let sealed = file.map(|file| {
        detail["attachment_bytes"] = file.content.len().into();
        let bytes = file.content.len() as i64;
        let content = file.encode();
        (bytes, task_return::seal(&state.keyring, task.organization_id, task.id, ReturnKind::Attachment, &content))
    });
    let txn = lethe_entities::entity::begin_write(&state.db).await?;
    let event = TaskEvent { actor, kind: event, reason, detail };
    if !task.apply(&txn, task.status, step, Some(event)).await? {
        return Err(ApiError::conflict(
            "concurrent_modification",
            "the task changed at the same moment; reload and retry",
        ));
    }
    if let Some((bytes, ciphertext)) = sealed {
        task_return::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(task.organization_id),
            request_id: Set(task.request_id),
            task_id: Set(task.id),
            kind: Set(ReturnKind::Attachment),
            rows: Set(0),
            bytes: Set(bytes),
            ciphertext: Set(ciphertext),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    tracing::info!(request_id = %task.request_id, task_id = %task.id, step = step_name, by = ?actor.id, "store task settled by hand");
    if req.kind == RequestKind::Access {
        state.queue.schedule(&FollowUp::fulfil(req, Fulfil::TaskSettled { task: task.id })).await?;
    } else if let Some(notice) = lethe_worker::tasks::complete_if_finished(
        &state.db,
        &state.keyring,
        task.organization_id,
        task.request_id,
        lethe_entities::entity::Commit::Durable,
    )
    .await?
    {
        state.queue.schedule_logged(&notice).await;
    }
    let updated = store_task::Entity::find_by_id(task.id).one(&state.db).await?;
    updated.ok_or_else(|| ApiError::not_found("task_not_found", "no task with this id on this request"))
}
