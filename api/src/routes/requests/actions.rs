//! Operator actions on a request: approve, deny, extend, cancel, retry, hold, resume.
//!
//! The JSON face of [`crate::services::requests`]: each handler reads its body and calls the
//! service, which checks, applies and records the action.

use axum::Json;
use axum::extract::State;
use lethe_entities::entity::request::{self};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::views::{RequestSummary, SubjectStatus};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Body, OptionalBody, PathParams};
use crate::openapi::responses::{Authenticated, Invalid, InvalidTransition, RateLimited, RequestNotFound};
use crate::services::requests::{self, DenialGround, RequestAction};
use crate::state::AppState;

/// An optional note for the timeline.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// Why (optional; recorded in the timeline).
    pub reason: Option<String>,
}

/// A required reason for the timeline (and, for extensions, for the requester).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why (required, at most 2000 characters).
    pub reason: String,
}

/// A denial: a standard ground plus free text (required for `other`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "ground": "legal_exception", "detail": "Invoices must be kept for 7 years (tax law)." }))]
pub struct DenyBody {
    /// The ground.
    pub ground: DenialGround,
    /// Explanation for the requester (required when `ground` is `other`).
    pub detail: Option<String>,
}

/// A cancellation: by the data subject (with the status token) or by an operator (with a reason).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// The status token, when the data subject cancels.
    pub token: Option<String>,
    /// Why (required when an operator cancels; refused from the data subject, whose free text
    /// could hold personal data).
    pub reason: Option<String>,
}
crate::opaque_debug!(CancelBody);

/// The answer to a cancellation: the subject's or the operator's view.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CancelResult {
    /// Canceled by the subject.
    Subject(SubjectStatus),
    /// Canceled by an operator.
    Operator(RequestSummary),
}

/// The operator's view of a request just changed.
fn summary(updated: &request::Model) -> Json<RequestSummary> {
    Json(RequestSummary::new(updated, time::OffsetDateTime::now_utc()))
}

/// Approve a verified request.
///
/// Moves `pending_approval` to `approved` and starts fulfilment.
#[utoipa::path(
    post, path = "/v1/requests/{id}/approve", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body(content = Option<NoteBody>, description = "Optional note; the body may be omitted"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Approved", body = RequestSummary),
        Authenticated,
        RequestNotFound,
        InvalidTransition,
        Invalid,
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(body): OptionalBody<NoteBody>,
) -> ApiResult<Json<RequestSummary>> {
    let updated = requests::act(&state, &principal, id, RequestAction::Approve(body.reason.as_deref())).await?;
    Ok(summary(&updated))
}

/// Deny a request.
///
/// Requires a standard ground; free text is required for `other`. The requester sees the
/// ground and text on the status page.
#[utoipa::path(
    post, path = "/v1/requests/{id}/deny", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = DenyBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Denied", body = RequestSummary),
        Authenticated,
        RequestNotFound,
        InvalidTransition,
        (status = 422, description = "`validation_failed` (missing detail for `other`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn deny(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<DenyBody>,
) -> ApiResult<Json<RequestSummary>> {
    let action = RequestAction::Deny(body.ground, body.detail.as_deref());
    Ok(summary(&requests::act(&state, &principal, id, action).await?))
}

/// Extend the deadline.
///
/// Once, where the law allows it (GDPR/UK GDPR +2 months, CCPA and VCDPA +45 days; LGPD
/// none). A reason is required: the requester must be told why.
#[utoipa::path(
    post, path = "/v1/requests/{id}/extend", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = ReasonBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Extended; `due_at` is the new deadline", body = RequestSummary),
        Authenticated,
        RequestNotFound,
        (status = 409, description = "`extension_not_allowed`, `already_extended`, `extension_too_late` or `invalid_transition`", body = Problem, content_type = "application/problem+json"),
        Invalid,
    )
)]
pub async fn extend(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<RequestSummary>> {
    Ok(summary(&requests::act(&state, &principal, id, RequestAction::Extend(&body.reason)).await?))
}

/// Cancel a request.
///
/// The data subject cancels with the status token while the request is not yet approved; an
/// operator cancels with a reason at any time before fulfilment starts.
#[utoipa::path(
    post, path = "/v1/requests/{id}/cancel", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = CancelBody,
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Canceled", body = CancelResult),
        Authenticated,
        RequestNotFound,
        InvalidTransition,
        Invalid,
        RateLimited,
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    caller: Result<Principal, ApiError>,
    Body(body): Body<CancelBody>,
) -> ApiResult<Json<CancelResult>> {
    if let Some(token) = body.token.as_deref() {
        // A subject's free text may hold personal data; the timeline stores none, so it is refused.
        if body.reason.is_some() {
            return Err(ApiError::invalid_field("reason", "the data subject cancels without a reason"));
        }
        let updated = crate::services::intake::cancel_by_subject(&state, id, token).await?;
        return Ok(Json(CancelResult::Subject(SubjectStatus::new(&updated, &state.keyring)?)));
    }
    let principal = caller?;
    let updated = requests::act(&state, &principal, id, RequestAction::Cancel(body.reason.as_deref())).await?;
    Ok(Json(CancelResult::Operator(RequestSummary::new(&updated, time::OffsetDateTime::now_utc()))))
}

/// Retry a failed request.
#[utoipa::path(
    post, path = "/v1/requests/{id}/retry", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body(content = Option<NoteBody>, description = "Optional note; the body may be omitted"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Back to `approved`; fulfilment restarts", body = RequestSummary),
        Authenticated,
        RequestNotFound,
        InvalidTransition,
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(body): OptionalBody<NoteBody>,
) -> ApiResult<Json<RequestSummary>> {
    Ok(summary(&requests::act(&state, &principal, id, RequestAction::Retry(body.reason.as_deref())).await?))
}

/// Put a request on hold.
#[utoipa::path(
    post, path = "/v1/requests/{id}/hold", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = ReasonBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "On hold", body = RequestSummary),
        Authenticated,
        RequestNotFound,
        InvalidTransition,
        Invalid,
    )
)]
pub async fn hold(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<RequestSummary>> {
    Ok(summary(&requests::act(&state, &principal, id, RequestAction::Hold(&body.reason)).await?))
}

/// Resume a held request into the state it was held in.
#[utoipa::path(
    post, path = "/v1/requests/{id}/resume", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body(content = Option<NoteBody>, description = "Optional note; the body may be omitted"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Resumed", body = RequestSummary),
        Authenticated,
        RequestNotFound,
        InvalidTransition,
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(body): OptionalBody<NoteBody>,
) -> ApiResult<Json<RequestSummary>> {
    Ok(summary(&requests::act(&state, &principal, id, RequestAction::Resume(body.reason.as_deref())).await?))
}
