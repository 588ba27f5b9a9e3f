//! A request's recipient tasks (GDPR Art. 19): the recipients the stores' data maps name, to be
//! told of an erasure, rectification or restriction. Operators mark one notified with a note;
//! admins waive one with a reason. Both texts are kept on the timeline only (never in the
//! certificate); the request completes once every store and recipient task is settled.

use axum::Json;
use axum::extract::State;
use lethe_entities::domain::enums::RecipientStatus;
use lethe_entities::entity::recipient_task;
use lethe_entities::entity::recipient_task::RecipientStep;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::actions::ReasonBody;
use crate::auth::{Permission, Principal};
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{AdminOnly, Authenticated, Invalid, RequestNotFound, TaskNotFound};
use crate::services::recipients;
use crate::services::tasks::find;
use crate::state::AppState;

/// One recipient to notify for a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientTaskView {
    /// Task id.
    pub id: Uuid,
    /// The store whose data map names the recipient.
    pub store_id: Uuid,
    /// Its name.
    pub store: String,
    /// The recipient (e.g. `Mailchimp`).
    pub recipient: String,
    /// How to reach them (a URL or role mailbox), from the data map.
    pub contact: Option<String>,
    /// What to do, from the data map.
    pub instructions: String,
    /// The tables (or key patterns) disclosed to them, from the data map.
    pub tables: Vec<String>,
    /// `waiting`, `notified` or `waived`.
    pub status: RecipientStatus,
    /// When it was notified or waived.
    #[serde(with = "time::serde::rfc3339::option")]
    pub settled_at: Option<OffsetDateTime>,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&recipient_task::Model> for RecipientTaskView {
    fn from(t: &recipient_task::Model) -> Self {
        Self {
            id: t.id,
            store_id: t.store_id,
            store: t.store_name.clone(),
            recipient: t.recipient.clone(),
            contact: t.contact.clone(),
            instructions: t.instructions.clone(),
            tables: t.table_list(),
            status: t.status,
            settled_at: t.settled_at,
            updated_at: t.updated_at,
        }
    }
}

/// A request's recipient tasks.
#[utoipa::path(
    get, path = "/v1/requests/{id}/recipients", tag = "requests", operation_id = "list_recipients",
    params(("id" = Uuid, Path, description = "Request id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One task per recipient the stores' data maps name, by store and recipient (none for access, objection and opt-out requests)", body = [RecipientTaskView]),
        Authenticated,
        RequestNotFound,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Vec<RecipientTaskView>>> {
    principal.require(Permission::ReadRequests)?;
    let req = find(&state, &principal, id).await?;
    let tasks = recipient_task::Model::of_request(&state.db, principal.organization_id, req.id).await?;
    Ok(Json(tasks.iter().map(RecipientTaskView::from).collect()))
}

/// Marks a recipient notified, with the operator's note: how and when they were told.
#[utoipa::path(
    post, path = "/v1/requests/{id}/recipients/{task}/complete", tag = "requests", operation_id = "notify_recipient",
    params(("id" = Uuid, Path, description = "Request id"), ("task" = Uuid, Path, description = "Recipient task id")),
    request_body = ReasonBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notified; the request completes when every store and recipient task is settled", body = RecipientTaskView),
        Authenticated,
        TaskNotFound,
        (status = 409, description = "`task_finished`: already notified or waived, or the request is not in progress", body = Problem, content_type = "application/problem+json"),
        Invalid,
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    principal: Principal,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<RecipientTaskView>> {
    let settled = recipients::settle(&state, &principal, id, task, RecipientStep::Notify, &body.reason).await?;
    Ok(Json(RecipientTaskView::from(&settled)))
}

/// Waives notifying a recipient (admin), with the reason (e.g. nothing of the person's was
/// ever disclosed to them).
#[utoipa::path(
    post, path = "/v1/requests/{id}/recipients/{task}/waive", tag = "requests", operation_id = "waive_recipient",
    params(("id" = Uuid, Path, description = "Request id"), ("task" = Uuid, Path, description = "Recipient task id")),
    request_body = ReasonBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Waived", body = RecipientTaskView),
        AdminOnly,
        TaskNotFound,
        (status = 409, description = "`task_finished`: already notified or waived, or the request is not in progress", body = Problem, content_type = "application/problem+json"),
        Invalid,
    )
)]
pub async fn waive(
    State(state): State<AppState>,
    principal: Principal,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<RecipientTaskView>> {
    let settled = recipients::settle(&state, &principal, id, task, RecipientStep::Waive, &body.reason).await?;
    Ok(Json(RecipientTaskView::from(&settled)))
}
