//! Operator actions on a request: approve, deny, extend, cancel, retry, hold, resume.
//!
//! Every action goes through the request state machine in `entities` (an invalid one is a 409
//! `invalid_transition`) and is recorded on the timeline with who did it and why; an approval
//! schedules fulfilment, a denial or an extension the person's notice.

use lethe_entities::domain::enums::RequestState;
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::{organization, request};
use lethe_worker::queue::{FollowUp, Notice};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, request_not_found};
use crate::state::AppState;

/// Longest accepted reason text.
pub const MAX_REASON_CHARS: usize = 2000;

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

/// What an operator does to a request, with the text each action takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestAction<'a> {
    /// Approve a verified request (an optional note); fulfilment starts.
    Approve(Option<&'a str>),
    /// Deny it on a ground, with a detail for the requester (required for `other`).
    Deny(DenialGround, Option<&'a str>),
    /// Extend the deadline once, where the law allows it (a reason, told to the requester).
    Extend(&'a str),
    /// Cancel it before fulfilment starts (a reason).
    Cancel(Option<&'a str>),
    /// Retry a failed request (an optional note).
    Retry(Option<&'a str>),
    /// Put it on hold (a reason).
    Hold(&'a str),
    /// Resume it into the state it was held in (an optional note).
    Resume(Option<&'a str>),
}

impl RequestAction<'_> {
    /// The action's name, as in the console's URLs and `?done=`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Approve(_) => "approve",
            Self::Deny(..) => "deny",
            Self::Extend(_) => "extend",
            Self::Cancel(_) => "cancel",
            Self::Retry(_) => "retry",
            Self::Hold(_) => "hold",
            Self::Resume(_) => "resume",
        }
    }
}

/// A reason text as the timeline keeps it: trimmed, `None` when blank; an error of `field` when
/// it is required and blank, or longer than [`MAX_REASON_CHARS`].
pub fn reason_text(field: &str, raw: Option<&str>, required: bool) -> ApiResult<Option<String>> {
    let text = raw.map(str::trim).filter(|r| !r.is_empty());
    match text {
        None if required => Err(ApiError::invalid_field(field, "a reason is required")),
        Some(t) if t.chars().count() > MAX_REASON_CHARS => {
            Err(ApiError::invalid_field(field, format!("at most {MAX_REASON_CHARS} characters")))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// Applies `action` to request `id` of the principal's organization as the principal; returns
/// the request as it now is.
pub async fn act(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: RequestAction<'_>,
) -> ApiResult<request::Model> {
    principal.require(Permission::ManageRequests)?;
    let (transition, reason) = match action {
        RequestAction::Approve(note) => (Action::Approve, reason_text("reason", note, false)?),
        RequestAction::Deny(ground, detail) => {
            let detail = reason_text("detail", detail, ground == DenialGround::Other)?;
            // The ground's name as the API spells it (its serde name): one spelling, not two.
            let ground = serde_json::to_value(ground).ok().and_then(|v| v.as_str().map(str::to_owned));
            let ground = ground.unwrap_or_default();
            let reason = match detail {
                Some(d) => format!("{ground}: {d}"),
                None => ground,
            };
            (Action::Deny, Some(reason))
        }
        RequestAction::Extend(reason) => return extend(state, principal, id, reason).await,
        RequestAction::Cancel(reason) => (Action::Cancel { by_subject: false }, reason_text("reason", reason, true)?),
        RequestAction::Retry(note) => (Action::Retry, reason_text("reason", note, false)?),
        RequestAction::Hold(reason) => (Action::Hold, reason_text("reason", Some(reason), true)?),
        // The state machine resumes into the stored `held_from`; the placeholder is replaced.
        RequestAction::Resume(note) => {
            (Action::Resume { held_from: RequestState::PendingApproval }, reason_text("reason", note, false)?)
        }
    };
    let updated = request::Model::apply(
        &state.db,
        &state.keyring,
        principal.organization_id,
        id,
        transition,
        principal.actor(),
        reason,
    )
    .await?;
    if updated.state == RequestState::Approved {
        schedule_fulfilment(state, &updated).await;
    }
    if transition == Action::Deny {
        state.queue.schedule_logged(&FollowUp::notice(&updated, Notice::Denied)).await;
    }
    tracing::info!(request_id = %id, action = transition.name(), state = updated.state.as_str(), "request action");
    Ok(updated)
}

async fn extend(state: &AppState, principal: &Principal, id: Uuid, reason: &str) -> ApiResult<request::Model> {
    let reason = reason_text("reason", Some(reason), true)?.unwrap_or_default();
    let org = organization::Entity::find_by_id(principal.organization_id)
        .one(&state.db)
        .await?
        .ok_or_else(request_not_found)?;
    let updated = request::Model::extend(&state.db, &state.keyring, &org, id, principal.actor(), reason).await?;
    state.queue.schedule_logged(&FollowUp::notice(&updated, Notice::Extended)).await;
    tracing::info!(request_id = %id, "deadline extended");
    Ok(updated)
}

/// Schedules fulfilment of an approved request. A failure is logged, not returned: the approval
/// is committed and the reconciler will enqueue the same job.
pub async fn schedule_fulfilment(state: &AppState, approved: &request::Model) {
    if let Err(e) = state.queue.schedule(&FollowUp::approved(approved)).await {
        tracing::warn!(request_id = %approved.id, error = %e, "fulfilment job not enqueued; the reconciler will retry");
    }
}

/// Completes request `request` of `organization` if every store and recipient task is settled,
/// then schedules the person's "completed" notice. Used after an operator settles a task or a
/// service reports back: the completion is committed durably before the caller is answered.
pub async fn complete_if_finished(state: &AppState, organization: Uuid, request: Uuid) -> ApiResult<()> {
    let commit = lethe_entities::entity::Commit::Durable;
    if let Some(notice) =
        lethe_worker::tasks::complete_if_finished(&state.db, &state.keyring, organization, request, commit).await?
    {
        state.queue.schedule_logged(&notice).await;
    }
    Ok(())
}
