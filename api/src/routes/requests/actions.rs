//! Operator actions on a request: approve, deny, extend, cancel, retry, hold, resume.
//!
//! Every action goes through the state machine in `entities` (an invalid one is a 409
//! `invalid_transition`) and is recorded in the timeline with who did it and why.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use lethe_entities::domain::enums::RequestState;
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::organization;
use lethe_entities::entity::request::{self, Actor};
use lethe_worker::queue::{FollowUp, Notice};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::intake::{enqueue_fulfilment, find_with_token};
use super::views::{RequestSummary, SubjectStatus};
use crate::auth::principal::authenticate;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, Problem, request_not_found};
use crate::extract::{Body, OptionalBody, PathParams};
use crate::state::AppState;

/// Longest accepted reason text.
pub const MAX_REASON_CHARS: usize = 2000;

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

/// Standard grounds for refusing a request.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DenialGround {
    /// The requester's identity could not be verified sufficiently.
    InsufficientVerification,
    /// The request is manifestly unfounded (GDPR Art. 12(5)).
    ManifestlyUnfounded,
    /// The request is excessive, e.g. repetitive (GDPR Art. 12(5)).
    Excessive,
    /// A legal exception applies (e.g. GDPR Art. 17(3), CCPA §1798.105(d)).
    LegalException,
    /// The regime claimed does not cover the requester.
    OutsideJurisdiction,
    /// Another ground, explained in `detail`.
    Other,
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// The status token, when the data subject cancels.
    pub token: Option<String>,
    /// Why (required when an operator cancels; refused from the data subject, whose free text
    /// could hold personal data).
    pub reason: Option<String>,
}

/// The answer to a cancellation: the subject's or the operator's view.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CancelResult {
    /// Canceled by the subject.
    Subject(SubjectStatus),
    /// Canceled by an operator.
    Operator(RequestSummary),
}

pub(crate) fn reason_text(field: &str, raw: Option<&str>, required: bool) -> ApiResult<Option<String>> {
    let text = raw.map(str::trim).filter(|r| !r.is_empty());
    match text {
        None if required => Err(ApiError::invalid_field(field, "a reason is required")),
        Some(t) if t.chars().count() > MAX_REASON_CHARS => {
            Err(ApiError::invalid_field(field, format!("at most {MAX_REASON_CHARS} characters")))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

async fn act(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: Action,
    reason: Option<String>,
) -> ApiResult<Json<RequestSummary>> {
    principal.require(Permission::ManageRequests)?;
    let updated = request::Model::apply(
        &state.db,
        &state.keyring,
        principal.organization_id,
        id,
        action,
        principal.actor(),
        reason,
    )
    .await?;
    if updated.state == RequestState::Approved {
        enqueue_fulfilment(state, &updated).await;
    }
    if action == Action::Deny {
        state.queue.schedule_logged(&FollowUp::notice(&updated, Notice::Denied)).await;
    }
    tracing::info!(request_id = %id, action = action.name(), state = updated.state.as_str(), "request action");
    Ok(Json(RequestSummary::new(&updated, time::OffsetDateTime::now_utc())))
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
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(body): OptionalBody<NoteBody>,
) -> ApiResult<Json<RequestSummary>> {
    principal.require(Permission::ManageRequests)?;
    let reason = reason_text("reason", body.reason.as_deref(), false)?;
    act(&state, &principal, id, Action::Approve, reason).await
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
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (missing detail for `other`) or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn deny(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<DenyBody>,
) -> ApiResult<Json<RequestSummary>> {
    principal.require(Permission::ManageRequests)?;
    let detail = reason_text("detail", body.detail.as_deref(), body.ground == DenialGround::Other)?;
    let ground = serde_json::to_value(body.ground).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let reason = match detail {
        Some(d) => format!("{ground}: {d}"),
        None => ground,
    };
    act(&state, &principal, id, Action::Deny, Some(reason)).await
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
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`extension_not_allowed`, `already_extended`, `extension_too_late` or `invalid_transition`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn extend(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<RequestSummary>> {
    principal.require(Permission::ManageRequests)?;
    let reason = reason_text("reason", Some(&body.reason), true)?.unwrap_or_default();
    let org = organization::Entity::find_by_id(principal.organization_id)
        .one(&state.db)
        .await?
        .ok_or_else(request_not_found)?;
    let updated = request::Model::extend(&state.db, &org, id, principal.actor(), reason).await?;
    state.queue.schedule_logged(&FollowUp::notice(&updated, Notice::Extended)).await;
    tracing::info!(request_id = %id, "deadline extended");
    Ok(Json(RequestSummary::new(&updated, time::OffsetDateTime::now_utc())))
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
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    headers: HeaderMap,
    Body(body): Body<CancelBody>,
) -> ApiResult<Json<CancelResult>> {
    if let Some(token) = body.token.as_deref() {
        // A subject's free text may hold personal data; the timeline stores none, so it is refused.
        if body.reason.is_some() {
            return Err(ApiError::invalid_field("reason", "the data subject cancels without a reason"));
        }
        let req = find_with_token(&state, id, token).await?;
        let updated = request::Model::apply(
            &state.db,
            &state.keyring,
            req.organization_id,
            req.id,
            Action::Cancel { by_subject: true },
            Actor::SUBJECT,
            None,
        )
        .await?;
        tracing::info!(request_id = %id, "request canceled by the subject");
        return Ok(Json(CancelResult::Subject(SubjectStatus::from(&updated))));
    }
    let principal = authenticate(&state, &headers).await?;
    let Json(summary) = cancel_by_operator(&state, &principal, id, body.reason.as_deref()).await?;
    Ok(Json(CancelResult::Operator(summary)))
}

/// An operator cancels request `id` with a reason (required).
pub async fn cancel_by_operator(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    reason: Option<&str>,
) -> ApiResult<Json<RequestSummary>> {
    principal.require(Permission::ManageRequests)?;
    let reason = reason_text("reason", reason, true)?;
    act(state, principal, id, Action::Cancel { by_subject: false }, reason).await
}

/// Retry a failed request.
#[utoipa::path(
    post, path = "/v1/requests/{id}/retry", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body(content = Option<NoteBody>, description = "Optional note; the body may be omitted"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Back to `approved`; fulfilment restarts", body = RequestSummary),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(body): OptionalBody<NoteBody>,
) -> ApiResult<Json<RequestSummary>> {
    principal.require(Permission::ManageRequests)?;
    let reason = reason_text("reason", body.reason.as_deref(), false)?;
    act(&state, &principal, id, Action::Retry, reason).await
}

/// Put a request on hold.
#[utoipa::path(
    post, path = "/v1/requests/{id}/hold", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = ReasonBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "On hold", body = RequestSummary),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn hold(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<ReasonBody>,
) -> ApiResult<Json<RequestSummary>> {
    principal.require(Permission::ManageRequests)?;
    let reason = reason_text("reason", Some(&body.reason), true)?;
    act(&state, &principal, id, Action::Hold, reason).await
}

/// Resume a held request into the state it was held in.
#[utoipa::path(
    post, path = "/v1/requests/{id}/resume", tag = "requests",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body(content = Option<NoteBody>, description = "Optional note; the body may be omitted"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Resumed", body = RequestSummary),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`request_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    OptionalBody(body): OptionalBody<NoteBody>,
) -> ApiResult<Json<RequestSummary>> {
    principal.require(Permission::ManageRequests)?;
    let reason = reason_text("reason", body.reason.as_deref(), false)?;
    // The state machine resumes into the stored `held_from`; the placeholder is replaced.
    act(&state, &principal, id, Action::Resume { held_from: RequestState::PendingApproval }, reason).await
}
