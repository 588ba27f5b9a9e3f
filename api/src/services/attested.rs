//! Trusted intake: the company's own application files a request for a person it has already
//! authenticated (signed in to its account), with an API key that has the `requests:submit`
//! scope. The request starts verified: no e-mail round trip. The key that attested the identity
//! and how (its `attestation`, encrypted like every text people type) are on the timeline's
//! `verified` event; the organization's rules then apply as after any verification (straight to
//! `approved` with auto-approval). An `Idempotency-Key` makes a retried call safe
//! ([`super::idempotency`]). The portal's e-mail verification stays the public path.

use axum::http::HeaderMap;
use lethe_entities::domain::enums::{Regime, RequestKind, RequestState};
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::{organization, request};
use lethe_worker::queue::{FollowUp, Notice};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::idempotency;
use super::intake::{SubmissionFields, insert_submitted, validate};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::routes::requests::views::Submitted;
use crate::state::AppState;

/// The longest attestation taken.
pub const MAX_ATTESTATION_CHARS: usize = 500;

/// A request for a person the caller's application has authenticated.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "access",
    "regime": "gdpr",
    "email": "ann.lee@example.com",
    "customer_id": "C-1042",
    "attestation": "Signed in to her account with password and TOTP at 2026-12-08T09:14Z"
}))]
pub struct AttestedRequest {
    /// What is asked for.
    pub kind: RequestKind,
    /// The law that applies.
    pub regime: Regime,
    /// The person's e-mail address (notices go there).
    pub email: String,
    /// Optional phone number, international form.
    #[serde(default)]
    pub phone: Option<String>,
    /// Optional customer number at the organization.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Optional message to the privacy team (at most 2000 characters).
    #[serde(default)]
    pub message: Option<String>,
    /// The language of the e-mails to the person: `en` (default), `de` or `sv`.
    #[serde(default)]
    pub locale: Option<String>,
    /// How the application authenticated the person (1 to 500 characters), kept encrypted on
    /// the timeline with the key that attested it.
    pub attestation: String,
}
crate::opaque_debug!(AttestedRequest);

/// Files `body` as a verified request; the answer, and whether it is a replay of a first call
/// with the same `Idempotency-Key`.
pub async fn submit(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    body: AttestedRequest,
) -> ApiResult<(Submitted, bool)> {
    principal.require(Permission::SubmitRequests)?;
    let mut errors = Vec::new();
    let attestation = body.attestation.trim();
    if attestation.is_empty() || attestation.chars().count() > MAX_ATTESTATION_CHARS {
        errors.push(FieldError { field: "attestation".into(), message: "1 to 500 characters".into() });
    }
    let fields = SubmissionFields {
        email: &body.email,
        phone: body.phone.as_ref(),
        customer_id: body.customer_id.as_ref(),
        message: body.message.as_deref(),
        locale: body.locale.as_deref(),
    };
    let valid = validate(fields, errors)?;
    let key = idempotency::from_headers(state, principal, headers, &body)?;
    if let Some(key) = &key
        && let Some(first) = idempotency::replay(state, key).await?
    {
        return Ok((first, true));
    }
    let org = organization::Entity::find_by_id(principal.organization_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::internal(&"the caller's organization is gone"))?;
    let actor = principal.actor();
    let reason = format!("identity attested by the integration: {attestation}");
    let txn = lethe_entities::entity::begin_write(&state.db).await?;
    let submission = insert_submitted(&txn, state, &org, (body.kind, body.regime), valid, actor).await?;
    let verified = request::Model::apply_in(
        &txn,
        &state.keyring,
        org.id,
        submission.id,
        Action::Verify { auto_approve: org.auto_approve },
        actor,
        Some(reason),
    )
    .await?;
    let answer = Submitted::of(&submission, verified.state);
    if let Some(key) = &key
        && let Err(e) = idempotency::keep(&txn, state, key, submission.id, &answer).await
    {
        drop(txn);
        return match e.sql_err() {
            // Another call with this key committed first: its answer is the answer.
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => match idempotency::replay(state, key).await? {
                Some(first) => Ok((first, true)),
                None => Err(ApiError::conflict("idempotency_key_in_use", "a call with this key is in progress")),
            },
            _ => Err(e.into()),
        };
    }
    txn.commit().await?;
    state.queue.schedule_logged(&FollowUp::notice(&verified, Notice::Received)).await;
    if verified.state == RequestState::Approved {
        super::requests::schedule_fulfilment(state, &verified).await;
    }
    tracing::info!(
        request_id = %submission.id,
        api_key_id = %principal.caller_id(),
        state = verified.state.as_str(),
        "attested request filed"
    );
    Ok((answer, false))
}
