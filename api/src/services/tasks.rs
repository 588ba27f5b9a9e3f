//! A request's store tasks, settled by people: locate again (failed stores back to `pending`),
//! complete a waiting manual or HTTP task with a note (and, for an access request's manual
//! store, a file for the package), or waive a task with a reason. Every move goes through the
//! store task state machine with its timeline event; what follows (the worker's next pass, the
//! request's completion) is scheduled here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lethe_entities::StoreKind;
use lethe_entities::domain::enums::{EventKind, RequestKind, RequestState, TaskStatus};
use lethe_entities::entity::request_event::SealedReason;
use lethe_entities::entity::store_task::{Step, TaskEvent};
use lethe_entities::entity::task_return::{self, ReturnKind};
use lethe_entities::entity::{request, store_task};
use lethe_worker::queue::{FollowUp, Fulfil};
use sea_orm::ActiveModelTrait;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::requests::reason_text;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, request_not_found};
use crate::state::AppState;

/// The largest file an operator may attach to a manual task (10 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 10 << 20;

/// A file attached to a manual task, as it arrives.
#[derive(Debug)]
pub enum Upload {
    /// From the JSON API: the content in base64 (standard alphabet, padded).
    Base64 {
        /// The file's name.
        file_name: String,
        /// The content, base64.
        content_base64: String,
    },
    /// From a form: the bytes.
    Bytes {
        /// The file's name.
        file_name: String,
        /// The content.
        content: Vec<u8>,
    },
}

/// The caller's organization's request `id` (another organization's answers like an unknown one).
pub async fn find(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<request::Model> {
    request::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(request_not_found)
}

/// Locate again: failed store tasks go back to `pending`, stores registered since get a task,
/// and the worker locates them.
pub async fn relocate(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<()> {
    principal.require(Permission::ManageRequests)?;
    let req = find(state, principal, id).await?;
    if req.state != RequestState::InProgress {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!("a request in state `{}` is not being located", req.state.as_str()),
        ));
    }
    let reset = lethe_worker::tasks::reset_failed(&state.db, principal.organization_id, req.id).await?;
    state.queue.schedule(&FollowUp::fulfil(&req, Fulfil::Relocate { ask: Uuid::now_v7() })).await?;
    tracing::info!(request_id = %id, reset, by = ?principal.actor().id, "locate requested again");
    Ok(())
}

/// Marks a waiting manual (or HTTP) store's task done with the operator's `note` (what was
/// done) and, for an access request's manual store, a file for the package.
pub async fn complete(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    task: Uuid,
    note: &str,
    upload: Option<Upload>,
) -> ApiResult<store_task::Model> {
    principal.require(Permission::ManageRequests)?;
    let note = reason_text("reason", Some(note), true)?;
    let req = find(state, principal, id).await?;
    let task = load_task(state, principal, req.id, task).await?;
    if task.store_kind.is_automated() || task.status != TaskStatus::Waiting || !settles_tasks(req.state) {
        return Err(ApiError::conflict(
            "task_not_waiting",
            "only a waiting manual or HTTP store task of a request in progress (or failed) can be completed by hand",
        ));
    }
    let file = attachment(&req, &task, upload)?;
    let settled = Settled { step: Step::Complete, event: EventKind::TaskCompleted, reason: note, file };
    let updated = settle_task(state, principal, &req, &task, settled).await?;
    resume_if_nothing_failed(state, principal, &req).await?;
    Ok(updated)
}

/// Waives a store task (admins) with a `reason`: the request may complete without it.
pub async fn waive(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    task: Uuid,
    reason: &str,
) -> ApiResult<store_task::Model> {
    principal.require(Permission::WaiveTasks)?;
    let reason = reason_text("reason", Some(reason), true)?;
    let req = find(state, principal, id).await?;
    let task = load_task(state, principal, req.id, task).await?;
    match task.status {
        TaskStatus::Done | TaskStatus::Waived => {
            return Err(ApiError::conflict("task_finished", "this task is already done or waived"));
        }
        TaskStatus::Erasing => {
            return Err(ApiError::conflict("task_busy", "this store is being erased right now; wait for the outcome"));
        }
        _ => {}
    }
    if !settles_tasks(req.state) {
        return Err(ApiError::conflict("task_finished", "the request is not in progress"));
    }
    let settled = Settled { step: Step::Waive, event: EventKind::TaskWaived, reason, file: None };
    let updated = settle_task(state, principal, &req, &task, settled).await?;
    resume_if_nothing_failed(state, principal, &req).await?;
    Ok(updated)
}

/// Whether operators may settle a request's tasks by hand: while it is in progress, and while it
/// is `failed` (a failed store need not stop a manual step, and waiving the failed store is how
/// an admin lets the request finish without it).
fn settles_tasks(request: RequestState) -> bool {
    matches!(request, RequestState::InProgress | RequestState::Failed)
}

/// A failed request none of whose store tasks is failed any more (an admin waived them) goes
/// back to work as a retry: fulfilment resumes and completes it when everything is settled.
async fn resume_if_nothing_failed(state: &AppState, principal: &Principal, req: &request::Model) -> ApiResult<()> {
    if req.state != RequestState::Failed {
        return Ok(());
    }
    let tasks = store_task::Model::of_request(&state.db, req.organization_id, req.id).await?;
    if tasks.iter().any(|t| t.status == TaskStatus::Failed) {
        return Ok(());
    }
    let note = Some("resumed: no store task is failed any more");
    // The settling itself is committed; a resume lost to a concurrent one (another admin's
    // waiver, a retry) is not this caller's failure.
    if let Err(e) = super::requests::act(state, principal, req.id, super::requests::RequestAction::Retry(note)).await {
        tracing::info!(request_id = %req.id, code = e.code(), "failed request not resumed after a task was settled");
    }
    Ok(())
}

/// Checks an attachment: only for a manual store's task of an access request; a usable name;
/// content of 1 byte to [`MAX_ATTACHMENT_BYTES`] (base64 from the JSON API).
fn attachment(
    req: &request::Model,
    task: &store_task::Model,
    upload: Option<Upload>,
) -> ApiResult<Option<task_return::Attachment>> {
    let Some(upload) = upload else { return Ok(None) };
    if req.kind != RequestKind::Access || task.store_kind != StoreKind::Manual {
        return Err(ApiError::invalid_field(
            "attachment",
            "only a manual store's task of an access request takes a file",
        ));
    }
    let (Upload::Base64 { file_name, .. } | Upload::Bytes { file_name, .. }) = &upload;
    let name = file_name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("attachment.file_name", "1 to 255 characters without control characters"));
    }
    let content = match upload {
        Upload::Base64 { content_base64, .. } => STANDARD.decode(content_base64.as_bytes()).map_err(|_| {
            ApiError::invalid_field("attachment.content_base64", "not base64 (standard alphabet, padded)")
        })?,
        Upload::Bytes { content, .. } => content,
    };
    if content.is_empty() || content.len() > MAX_ATTACHMENT_BYTES {
        return Err(ApiError::invalid_field("attachment.content_base64", "the file must hold 1 byte to 10 MiB"));
    }
    Ok(Some(task_return::Attachment { file_name: name, content }))
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
    let reason = SealedReason::seal_some(&state.keyring, task.organization_id, task.request_id, reason.as_deref());
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
    } else {
        super::requests::complete_if_finished(state, task.organization_id, task.request_id).await?;
    }
    let updated = store_task::Entity::find_by_id(task.id).one(&state.db).await?;
    updated.ok_or_else(|| ApiError::not_found("task_not_found", "no task with this id on this request"))
}
