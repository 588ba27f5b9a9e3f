//! The agents' side of the Data Rights Protocol 1.0 (sections 2.01 to 2.06): the pair-wise key
//! setup that issues an agent its bearer token, the agent check, filing a request, reading its
//! status and revoking it. Every signed message is opened with the agent's key and its envelope
//! checked in the specification's order ([`signed`]); a message already received is refused
//! (its digest is unique), so a replay within its validity window files nothing.
//!
//! Exercises map to Lethe's kinds: `deletion` is an erasure, `access`, `access:categories` and
//! `access:specific` are access requests, `sale:opt-out` is an opt-out; `sale:opt-in` is not
//! something Lethe fulfils and is refused. `regime: ccpa` is the CCPA; no regime is a voluntary
//! request (Lethe's `other`, with the organization's deadline). Of the identity claims Lethe
//! takes `email` (required: the person's notices go there) and `phone_number`; a name or an
//! address is never stored. With `email_verified: true` the agent's attestation verifies the
//! request at once (the agent and its claim are on the timeline); otherwise the person gets a
//! code by e-mail and the status says `need_user_verification` with the portal page to enter it.

use axum::http::{HeaderMap, StatusCode};
use lethe_entities::domain::crypto::random_token;
use lethe_entities::domain::enums::{ActorKind, Regime, RequestKind, RequestState};
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::drp::signed::{self, Envelope, Refused};
use lethe_entities::entity::drp_agent::{self, TOKEN_SCOPE};
use lethe_entities::entity::drp_request::{self, callback_context};
use lethe_entities::entity::request::Actor;
use lethe_entities::entity::{begin_write, organization, request};
use lethe_worker::drp::document::{self, ExerciseStatus};
use lethe_worker::queue::{FollowUp, Notice};
use lethe_worker::webhooks::target;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, SqlErr};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::principal::bearer;
use crate::error::drp::DrpError;
use crate::services::intake::{SubmissionFields, insert_submitted, validate};
use crate::state::AppState;

/// The protocol version Lethe speaks.
pub const VERSION: &str = "1.0";

/// The longest `agent-request-id` and revocation `reason` taken.
const MAX_TEXT: usize = 200;

/// The answer to a pair-wise key setup.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenIssued {
    /// The agent's id, as in the request.
    #[serde(rename = "agent-id")]
    pub agent_id: String,
    /// The bearer token for the agent's later calls (opaque; shown once).
    pub token: String,
}

/// The signed document of a data rights request (the envelope, the request, the person).
#[derive(Debug, Deserialize)]
struct ExerciseMessage {
    #[serde(flatten)]
    envelope: Envelope,
    #[serde(rename = "drp.version")]
    version: Option<String>,
    #[serde(rename = "agent-request-id")]
    agent_request_id: Option<String>,
    exercise: String,
    regime: Option<String>,
    status_callback: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    phone_number: Option<String>,
}

/// The signed document of a revocation.
#[derive(Debug, Default, Deserialize)]
struct RevokeMessage {
    reason: Option<String>,
}

fn bad(error: &'static str, message: &str) -> DrpError {
    DrpError::new(StatusCode::BAD_REQUEST, error, message)
}

/// The error of a refused signed message.
fn refused(r: Refused) -> DrpError {
    let message = r.to_string();
    match r {
        Refused::Encoding => bad("invalid_encoding", &message),
        Refused::Document => bad("invalid_document", &message),
        Refused::Signature => DrpError::new(StatusCode::FORBIDDEN, "invalid_signature", message),
        Refused::Agent => DrpError::new(StatusCode::FORBIDDEN, "wrong_agent", message),
        Refused::Business => DrpError::new(StatusCode::FORBIDDEN, "wrong_business", message),
        Refused::IssuedAt => bad("issued_in_future", &message),
        Refused::ExpiresAt => bad("expired", &message).fatal(),
    }
}

/// The Lethe kind of a DRP exercise.
fn kind_of(exercise: &str) -> Option<RequestKind> {
    match exercise {
        "deletion" => Some(RequestKind::Erasure),
        "access" | "access:categories" | "access:specific" => Some(RequestKind::Access),
        "sale:opt-out" => Some(RequestKind::OptOut),
        _ => None,
    }
}

/// `POST /v1/agent/{agent-id}`: checks the signed key setup of `agent_id` and issues a new
/// bearer token (the previous one stops working). A setup must be issued after the one that
/// issued the current token, so a setup message replayed within its window is refused. Any
/// failure is a bodiless `403`.
pub async fn setup(state: &AppState, agent_id: &str, body: &str) -> Result<TokenIssued, DrpError> {
    let now = OffsetDateTime::now_utc();
    let candidates = drp_agent::Model::by_agent_id(&state.db, agent_id).await?;
    // The same agent may be registered by several organizations (each its own business id):
    // the signature picks the keys that verify, the business id the registration.
    let mut opened = None;
    for agent in candidates.iter().filter(|a| a.enabled) {
        let Some(key) = agent.key_bytes() else { continue };
        if let Ok(message) = signed::open(&key, body) {
            opened = Some((agent, message));
            break;
        }
    }
    let Some((verified_by, message)) = opened else { return Err(DrpError::setup_refused()) };
    #[derive(Deserialize)]
    struct SetupMessage {
        #[serde(flatten)]
        envelope: Envelope,
        #[serde(rename = "drp.version")]
        version: Option<String>,
    }
    let parsed: SetupMessage = serde_json::from_slice(&message).map_err(|_| DrpError::setup_refused())?;
    let agent = candidates
        .iter()
        .find(|a| a.enabled && a.business_id == parsed.envelope.business_id && a.verify_key == verified_by.verify_key)
        .ok_or_else(DrpError::setup_refused)?;
    signed::check(&parsed.envelope, agent_id, &agent.business_id, now).map_err(|_| DrpError::setup_refused())?;
    // To the microsecond, as PostgreSQL keeps it: a replay compares equal on every backend.
    let issued = signed::issued_at(&parsed.envelope)
        .ok()
        .and_then(|t| t.replace_nanosecond(t.nanosecond() / 1000 * 1000).ok())
        .ok_or_else(DrpError::setup_refused)?;
    if parsed.version.as_deref() != Some(VERSION) || agent.setup_issued_at.is_some_and(|last| issued <= last) {
        return Err(DrpError::setup_refused());
    }
    let token = random_token(32);
    let mut active = agent.clone().into_active_model();
    active.token_digest = Set(Some(state.keyring.token_digest(TOKEN_SCOPE, &token)));
    active.token_issued_at = Set(Some(now));
    active.setup_issued_at = Set(Some(issued));
    active.updated_at = Set(now);
    active.update(&state.db).await?;
    tracing::info!(drp_agent_id = %agent.id, "DRP agent token issued");
    Ok(TokenIssued { agent_id: agent_id.to_owned(), token })
}

/// The enabled agent whose bearer token `headers` carry.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<drp_agent::Model, DrpError> {
    let token = bearer(headers).filter(|t| !t.is_empty() && t.len() <= 128).ok_or_else(DrpError::unauthorized)?;
    let digest = state.keyring.token_digest(TOKEN_SCOPE, token);
    drp_agent::Model::by_token(&state.db, &digest).await?.filter(|a| a.enabled).ok_or_else(DrpError::unauthorized)
}

/// `GET /v1/agent/{agent-id}`: whether the token is `agent_id`'s.
pub async fn check_agent(state: &AppState, headers: &HeaderMap, agent_id: &str) -> Result<(), DrpError> {
    let agent = authenticate(state, headers).await?;
    if agent.agent_id != agent_id {
        return Err(DrpError::new(StatusCode::FORBIDDEN, "wrong_agent", "the token is another agent's"));
    }
    Ok(())
}

/// What the request asks for, in Lethe's terms: its kind and law; refused (fatally) when the
/// version, the exercise, the regime or the agent's request id is not one Lethe takes.
fn asked(m: &ExerciseMessage) -> Result<(RequestKind, Regime), DrpError> {
    if m.version.as_deref() != Some(VERSION) {
        return Err(bad("unsupported_version", "drp.version must be \"1.0\"").fatal());
    }
    let kind = kind_of(&m.exercise).ok_or_else(|| {
        bad("unsupported_exercise", "supported: deletion, access, access:categories, access:specific, sale:opt-out")
            .fatal()
    })?;
    let regime = match m.regime.as_deref() {
        None => Regime::Other,
        Some("ccpa") => Regime::Ccpa,
        Some(_) => return Err(bad("unsupported_regime", "regime is \"ccpa\" or absent (voluntary)").fatal()),
    };
    if m.agent_request_id.as_ref().is_some_and(|id| id.chars().count() > MAX_TEXT) {
        return Err(bad("invalid_agent_request_id", "agent-request-id is at most 200 characters").fatal());
    }
    Ok((kind, regime))
}

/// The row recording that `agent` filed `filed` with the message `m` (digest `digest`) and the
/// sealed callback URL.
fn row(
    m: &ExerciseMessage,
    (agent, filed): (&drp_agent::Model, &request::Model),
    digest: String,
    callback: Option<Vec<u8>>,
) -> drp_request::ActiveModel {
    drp_request::ActiveModel {
        id: Set(filed.id),
        organization_id: Set(filed.organization_id),
        agent_id: Set(agent.id),
        agent_request_id: Set(m.agent_request_id.clone()),
        exercise: Set(m.exercise.clone()),
        message_digest: Set(digest),
        callback_open: Set(callback.is_some()),
        callback_ciphertext: Set(callback),
        callback_status: Set(None),
        callback_sent: Set(None),
        callback_attempts: Set(0),
        callback_next_at: Set(None),
        callback_error: Set(None),
        created_at: Set(filed.received_at),
    }
}

/// `POST /v1/data-rights-request`: files the signed request `body`.
pub async fn exercise(state: &AppState, headers: &HeaderMap, body: &str) -> Result<ExerciseStatus, DrpError> {
    let agent = authenticate(state, headers).await?;
    let key = agent.key_bytes().ok_or_else(DrpError::unauthorized)?;
    let message = signed::open(&key, body).map_err(refused)?;
    let m: ExerciseMessage = serde_json::from_slice(&message).map_err(|_| refused(Refused::Document))?;
    signed::check(&m.envelope, &agent.agent_id, &agent.business_id, OffsetDateTime::now_utc()).map_err(refused)?;
    let (kind, regime) = asked(&m)?;
    let email = m.email.as_deref().ok_or_else(|| bad("identity_missing", "the email claim is required").fatal())?;
    let fields =
        SubmissionFields { email, phone: m.phone_number.as_ref(), customer_id: None, message: None, locale: None };
    let valid = validate(fields, Vec::new())
        .map_err(|_| bad("invalid_identity", "email (and phone_number, E.164) must be valid").fatal())?;
    let callback = match m.status_callback.as_deref() {
        None => None,
        Some(url) => Some(target::check(state.stores.policy(), url).await.map_err(|r| {
            DrpError::new(StatusCode::BAD_REQUEST, "invalid_status_callback", format!("status_callback: {r}"))
        })?),
    };
    let digest = signed::digest(body);
    let seen = drp_request::Entity::find().filter(drp_request::Column::MessageDigest.eq(digest.as_str()));
    if seen.one(&state.db).await?.is_some() {
        return Err(replayed());
    }
    let org = organization::Entity::find_by_id(agent.organization_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| DrpError::from(crate::error::ApiError::internal(&"the agent's organization is gone")))?;
    let actor = Actor { kind: ActorKind::Agent, id: Some(agent.id), ip: None };
    let txn = begin_write(&state.db).await?;
    let submission = insert_submitted(&txn, state, &org, (kind, regime), valid, actor).await?;
    // Verifying returns the request as it now is; otherwise it is read as inserted.
    let filed = if m.email_verified {
        let reason = format!(
            "identity attested by the authorized agent {} ({}, Data Rights Protocol): e-mail address verified",
            agent.name, agent.agent_id
        );
        let action = Action::Verify { auto_approve: org.auto_approve };
        request::Model::apply_in(&txn, &state.keyring, org.id, submission.id, action, actor, Some(reason))
            .await
            .map_err(crate::error::ApiError::from)?
    } else {
        request::Model::find_in_org(&txn, org.id, submission.id).await?.ok_or_else(replayed)?
    };
    let sealed = callback.map(|url| state.keyring.seal_text(&url, &callback_context(org.id, filed.id)));
    let drp = row(&m, (&agent, &filed), digest, sealed);
    let drp = match drp.insert(&txn).await {
        Ok(drp) => drp,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => return Err(replayed()),
        Err(e) => return Err(e.into()),
    };
    txn.commit().await?;
    follow_up(state, &filed).await;
    tracing::info!(request_id = %filed.id, drp_agent_id = %agent.id, state = filed.state.as_str(), "DRP request filed");
    Ok(document::of(&state.keyring, &state.settings.public_url, &org.slug, &filed, &drp))
}

/// What follows a filed request: the code to the person, or the notice of receipt (and
/// fulfilment when the organization approves automatically).
async fn follow_up(state: &AppState, filed: &request::Model) {
    match filed.state {
        RequestState::IdentityUnverified => {
            let first = FollowUp::FirstCode { organization_id: filed.organization_id, request_id: filed.id };
            state.queue.schedule_logged(&first).await;
        }
        state_now => {
            state.queue.schedule_logged(&FollowUp::notice(filed, Notice::Received)).await;
            if state_now == RequestState::Approved {
                crate::services::requests::schedule_fulfilment(state, filed).await;
            }
        }
    }
}

fn replayed() -> DrpError {
    DrpError::new(StatusCode::CONFLICT, "replayed", "this signed request was already received")
}

/// The request `id` if the agent of `headers` filed it.
async fn own(
    state: &AppState,
    headers: &HeaderMap,
    id: Uuid,
) -> Result<(drp_agent::Model, drp_request::Model), DrpError> {
    let agent = authenticate(state, headers).await?;
    let filed = drp_request::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| DrpError::new(StatusCode::NOT_FOUND, "request_not_found", "no such request"))?;
    if filed.agent_id != agent.id {
        return Err(DrpError::new(StatusCode::FORBIDDEN, "not_your_request", "another agent filed this request"));
    }
    Ok((agent, filed))
}

/// The document of `filed` as it stands.
async fn document_of(state: &AppState, filed: &drp_request::Model) -> Result<ExerciseStatus, DrpError> {
    let req = request::Model::find_in_org(&state.db, filed.organization_id, filed.id)
        .await?
        .ok_or_else(|| DrpError::new(StatusCode::NOT_FOUND, "request_not_found", "no such request"))?;
    let slug = organization::Entity::find_by_id(filed.organization_id)
        .one(&state.db)
        .await?
        .map(|o| o.slug)
        .unwrap_or_default();
    Ok(document::of(&state.keyring, &state.settings.public_url, &slug, &req, filed))
}

/// `GET /v1/data-rights-request/{id}`.
pub async fn status(state: &AppState, headers: &HeaderMap, id: Uuid) -> Result<ExerciseStatus, DrpError> {
    let (_, filed) = own(state, headers, id).await?;
    document_of(state, &filed).await
}

/// `DELETE /v1/data-rights-request/{id}`: revokes the request with the signed `body` (an
/// optional `reason`, kept encrypted on the timeline), while it has not started.
pub async fn revoke(state: &AppState, headers: &HeaderMap, id: Uuid, body: &str) -> Result<ExerciseStatus, DrpError> {
    let (agent, filed) = own(state, headers, id).await?;
    let key = agent.key_bytes().ok_or_else(DrpError::unauthorized)?;
    let message = signed::open(&key, body).map_err(refused)?;
    let m: RevokeMessage = serde_json::from_slice(&message).map_err(|_| refused(Refused::Document))?;
    let reason = m.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 2000) {
        return Err(bad("invalid_reason", "reason is at most 2000 characters"));
    }
    let actor = Actor { kind: ActorKind::Agent, id: Some(agent.id), ip: None };
    let txn = begin_write(&state.db).await?;
    let action = Action::Cancel { by_subject: true };
    match request::Model::apply_in(&txn, &state.keyring, filed.organization_id, id, action, actor, reason).await {
        Ok(_) => txn.commit().await?,
        Err(lethe_entities::entity::request::LifecycleError::Transition(_)) => {
            return Err(DrpError::new(
                StatusCode::CONFLICT,
                "not_revocable",
                "the request is already being fulfilled or is closed",
            ));
        }
        Err(e) => return Err(crate::error::ApiError::from(e).into()),
    }
    tracing::info!(request_id = %id, drp_agent_id = %agent.id, "DRP request revoked");
    document_of(state, &filed).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exercises_map_to_lethes_kinds() {
        assert_eq!(kind_of("deletion"), Some(RequestKind::Erasure));
        assert_eq!(kind_of("access:specific"), Some(RequestKind::Access));
        assert_eq!(kind_of("sale:opt-out"), Some(RequestKind::OptOut));
        assert_eq!(kind_of("sale:opt-in"), None);
    }
}
