//! A request's recipient tasks (GDPR Art. 19), settled by people: an operator notifies a
//! recipient (with a note: how and when), an admin waives one (with a reason); the request
//! completes once every store and recipient task is settled.

use lethe_entities::domain::enums::RequestState;
use lethe_entities::entity::recipient_task::{self, RecipientStep};
use lethe_entities::entity::request_event::SealedReason;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::requests::reason_text;
use super::tasks::find;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Settles a waiting recipient task by `step` (compare-and-set) with its timeline event, then
/// completes the request if nothing else is open.
pub async fn settle(
    state: &AppState,
    principal: &Principal,
    request: Uuid,
    task: Uuid,
    step: RecipientStep,
    text: &str,
) -> ApiResult<recipient_task::Model> {
    let permission = match step {
        RecipientStep::Notify => Permission::ManageRequests,
        RecipientStep::Waive => Permission::WaiveTasks,
    };
    principal.require(permission)?;
    let text = reason_text("reason", Some(text), true)?;
    let req = find(state, principal, request).await?;
    let org = principal.organization_id;
    let task = load(state, org, req.id, task).await?;
    if task.status.is_settled() {
        return Err(ApiError::conflict("task_finished", "this recipient was already notified or waived"));
    }
    if req.state != RequestState::InProgress {
        return Err(ApiError::conflict("task_finished", "the request is not in progress"));
    }
    let actor = principal.actor();
    let text = SealedReason::seal_some(&state.keyring, org, req.id, text.as_deref());
    let txn = lethe_entities::entity::begin_write(&state.db).await?;
    if !task.settle(&txn, step, actor, text).await? {
        return Err(ApiError::conflict(
            "concurrent_modification",
            "the task changed at the same moment; reload and retry",
        ));
    }
    txn.commit().await?;
    tracing::info!(request_id = %req.id, task_id = %task.id, step = ?step, by = ?actor.id, "recipient task settled");
    super::requests::complete_if_finished(state, org, req.id).await?;
    load(state, org, req.id, task.id).await
}

async fn load(state: &AppState, organization: Uuid, request: Uuid, task: Uuid) -> ApiResult<recipient_task::Model> {
    recipient_task::Entity::find_by_id(task)
        .filter(recipient_task::Column::OrganizationId.eq(organization))
        .filter(recipient_task::Column::RequestId.eq(request))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("task_not_found", "no recipient task with this id on this request"))
}
