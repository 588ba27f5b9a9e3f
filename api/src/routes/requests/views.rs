//! What the request endpoints return.

use lethe_entities::Keyring;
use lethe_entities::domain::crypto::CryptoError;
use lethe_entities::domain::enums::{ActorKind, EventKind, IdentityKind, Regime, RequestKind, RequestState};
use lethe_entities::entity::{request, request_event, subject_identity};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A request as its data subject sees it (through the status token).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectStatus {
    /// Request id.
    pub id: Uuid,
    /// What was asked for.
    pub kind: RequestKind,
    /// The law that applies.
    pub regime: Regime,
    /// Where the request is now.
    pub state: RequestState,
    /// When it was received.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When the answer is due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Whether the deadline was extended.
    pub extended: bool,
    /// Why the deadline was extended.
    pub extension_reason: Option<String>,
    /// Why the request was denied.
    pub denial_reason: Option<String>,
    /// Whether the subject can still cancel.
    pub can_cancel: bool,
}

impl SubjectStatus {
    /// The subject's view of `r`, the reasons decrypted with `keyring`.
    pub fn new(r: &request::Model, keyring: &Keyring) -> Result<Self, CryptoError> {
        Ok(Self {
            id: r.id,
            kind: r.kind,
            regime: r.regime,
            state: r.state,
            received_at: r.received_at,
            due_at: r.due_at,
            extended: r.extended_at.is_some(),
            extension_reason: r.extension_reason(keyring)?,
            denial_reason: r.denial_reason(keyring)?,
            can_cancel: matches!(r.state, RequestState::IdentityUnverified | RequestState::PendingApproval),
        })
    }
}

/// The answer to a submission. Keep `status_token`: it is the only way to see or cancel the
/// request without signing in, and it is shown only once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019a9c1e-8a52-7c1d-9d1e-3f1c2b4a5d6e",
    "status_token": "Qm9vbS1zdGF0dXMtdG9rZW4tZXhhbXBsZS0xMjM0NTY",
    "state": "identity_unverified",
    "received_at": "2026-11-22T10:00:00Z",
    "due_at": "2026-12-22T10:00:00Z",
    "status_url": "/v1/requests/019a9c1e-8a52-7c1d-9d1e-3f1c2b4a5d6e?token=Qm9vbS1zdGF0dXMtdG9rZW4tZXhhbXBsZS0xMjM0NTY"
}))]
pub struct Submitted {
    /// Request id.
    pub id: Uuid,
    /// Secret token for status, verification and cancellation.
    pub status_token: String,
    /// `identity_unverified`: a code is on its way to the e-mail address (an attested request:
    /// `pending_approval`, or `approved` with the organization's auto-approval).
    pub state: RequestState,
    /// When the request was received.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When the answer is due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Where to check the status.
    pub status_url: String,
}

impl Submitted {
    /// The answer to `submission`, now in `state`.
    pub fn of(submission: &crate::services::intake::Submission, state: RequestState) -> Self {
        Self {
            id: submission.id,
            status_token: submission.status_token.clone(),
            state,
            received_at: submission.received_at,
            due_at: submission.due_at,
            status_url: format!("/v1/requests/{}?token={}", submission.id, submission.status_token),
        }
    }
}

/// A request in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestSummary {
    /// Request id.
    pub id: Uuid,
    /// What was asked for.
    pub kind: RequestKind,
    /// The law that applies.
    pub regime: Regime,
    /// Lifecycle state.
    pub state: RequestState,
    /// When it was received.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When the answer is due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Open and past its due date.
    pub overdue: bool,
    /// Whole days until the due date (negative when overdue).
    pub days_left: i64,
}

impl RequestSummary {
    /// Builds the summary as of `now`.
    pub fn new(r: &request::Model, now: OffsetDateTime) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            regime: r.regime,
            state: r.state,
            received_at: r.received_at,
            due_at: r.due_at,
            overdue: r.is_overdue(now),
            days_left: (r.due_at - now).whole_days(),
        }
    }
}

/// One page of requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    /// The requests, earliest due first.
    pub items: Vec<RequestSummary>,
    /// This page (from 1).
    pub page: u64,
    /// Page size.
    pub per_page: u64,
    /// Matching requests in total.
    pub total: u64,
}

/// One identity of the subject. `value` is present only for roles allowed to see identities.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    /// Kind of identity.
    pub kind: IdentityKind,
    /// The normalised value, or null when the caller may not see it.
    pub value: Option<String>,
}

/// One timeline event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Event id.
    pub id: Uuid,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who: system, subject, operator, api_key or agent.
    pub actor_kind: ActorKind,
    /// The operator's or API key's id.
    pub actor_id: Option<Uuid>,
    /// What happened.
    pub kind: EventKind,
    /// State before.
    pub from_state: Option<RequestState>,
    /// State after.
    pub to_state: Option<RequestState>,
    /// Why.
    pub reason: Option<String>,
    /// Structured facts.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

impl EventView {
    /// The view of `e`, its reason decrypted with `keyring`.
    pub fn new(e: request_event::Model, keyring: &Keyring) -> Result<Self, CryptoError> {
        Ok(Self {
            reason: e.reason(keyring)?,
            id: e.id,
            at: e.at,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            kind: e.kind,
            from_state: e.from_state,
            to_state: e.to_state,
            detail: e.detail,
        })
    }
}

/// A request with everything an operator needs, including its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: RequestSummary,
    /// The due date before any extension.
    #[serde(with = "time::serde::rfc3339")]
    pub original_due_at: OffsetDateTime,
    /// When the acknowledgement is due (CCPA).
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledgement_due_at: Option<OffsetDateTime>,
    /// When the deadline was extended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub extended_at: Option<OffsetDateTime>,
    /// Why it was extended.
    pub extension_reason: Option<String>,
    /// When the requester was verified.
    #[serde(with = "time::serde::rfc3339::option")]
    pub verified_at: Option<OffsetDateTime>,
    /// Why it was denied.
    pub denial_reason: Option<String>,
    /// When it was closed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// The subject's identities.
    pub identities: Vec<IdentityView>,
    /// The requester's message, for roles allowed to see identities.
    pub message: Option<String>,
    /// Every event, oldest first.
    pub timeline: Vec<EventView>,
}

impl RequestDetail {
    /// Assembles the detail; identities and message are decrypted only when `reveal` is true,
    /// the operators' reasons always.
    pub fn new(
        r: &request::Model,
        identities: Vec<subject_identity::Model>,
        timeline: Vec<request_event::Model>,
        keyring: &Keyring,
        reveal: bool,
        now: OffsetDateTime,
    ) -> Result<Self, CryptoError> {
        let identities = identities
            .iter()
            .map(|i| IdentityView { kind: i.kind, value: if reveal { i.open(keyring).ok() } else { None } })
            .collect();
        let message = r.message_ciphertext.as_ref().filter(|_| reveal).and_then(|blob| {
            let plain = keyring.decrypt(blob, &request::Model::message_context(r.organization_id, r.id)).ok()?;
            String::from_utf8(plain.to_vec()).ok()
        });
        Ok(Self {
            summary: RequestSummary::new(r, now),
            original_due_at: r.original_due_at,
            acknowledgement_due_at: r.acknowledgement_due_at,
            extended_at: r.extended_at,
            extension_reason: r.extension_reason(keyring)?,
            verified_at: r.verified_at,
            denial_reason: r.denial_reason(keyring)?,
            closed_at: r.closed_at,
            identities,
            message,
            timeline: timeline.into_iter().map(|e| EventView::new(e, keyring)).collect::<Result<_, _>>()?,
        })
    }
}

/// `GET /v1/requests/{id}` answers with the subject's view (with `?token=`) or the operator's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum RequestView {
    /// With a status token.
    Subject(SubjectStatus),
    /// With an operator token or API key.
    Operator(Box<RequestDetail>),
}
