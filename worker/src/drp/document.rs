//! The Exercise Status document (DRP 1.0 section 3.03) of a request an agent filed: ids, dates,
//! the status and its reason ([`lethe_entities::drp::status`]), and, while the person has not
//! confirmed their address, the portal's verification page for the agent to send them to. It
//! carries nothing a person or an operator wrote.

use lethe_entities::Keyring;
use lethe_entities::drp::status::{self, Status};
use lethe_entities::entity::{drp_request, request};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::portal_link;

/// Where a request stands, as the protocol says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ExerciseStatus {
    /// The request's id (Lethe's).
    pub request_id: Uuid,
    /// When it was received (ISO 8601).
    pub received_at: String,
    /// When it is due (ISO 8601): the law's deadline, after any extension.
    pub expected_by: String,
    /// The agent's own id for it, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_request_id: Option<String>,
    /// `in_progress`, `fulfilled`, `denied` or `revoked`.
    pub status: String,
    /// `need_user_verification` (in progress), or why it was denied: `insuf_verification`,
    /// `too_many_requests`, `claim_not_covered`, `outside_jurisdiction`, `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What is happening, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_details: Option<String>,
    /// While the reason is `need_user_verification`: the portal page where the person enters
    /// the code e-mailed to them (the agent adds `redirect_to` and `request_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_verification_url: Option<String>,
}

/// The status of `request`, its denial ground read from the encrypted reason.
pub fn status_of(keyring: &Keyring, request: &request::Model) -> Status {
    let reason = request.denial_reason(keyring).ok().flatten();
    let ground = reason.as_deref().map(|r| r.split(':').next().unwrap_or("other").trim());
    status::of(request, ground)
}

/// The document of `request`, filed as `filed`, of the organization `slug`.
pub fn of(
    keyring: &Keyring,
    public_url: &str,
    slug: &str,
    request: &request::Model,
    filed: &drp_request::Model,
) -> ExerciseStatus {
    let status = status_of(keyring, request);
    let iso = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let verify = (status.reason == Some("need_user_verification")).then(|| {
        let token = portal_link::status_token(keyring, request.id);
        format!("{}/p/{slug}/verify/{token}", public_url.trim_end_matches('/'))
    });
    ExerciseStatus {
        request_id: request.id,
        received_at: iso(request.received_at),
        expected_by: iso(request.due_at),
        agent_request_id: filed.agent_request_id.clone(),
        status: status.status.to_owned(),
        reason: status.reason.map(str::to_owned),
        processing_details: status.processing_details.map(str::to_owned),
        user_verification_url: verify,
    }
}
