//! Authorized agents, registered by admins: the agent's id in the DRP directory, the
//! organization's business id as the agent knows it (default: the organization's slug), the
//! agent's Ed25519 verify key (base64, as the directory publishes it), its name and a contact
//! (encrypted). Changing the key ends the token the agent set up; a disabled agent's messages
//! are refused; an agent that filed requests cannot be deleted, only disabled. Every change is
//! in the audit log.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lethe_entities::drp::signed;
use lethe_entities::entity::drp_agent::{self, contact_context};
use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::entity::{begin_write, drp_request};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, SqlErr};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

/// The most agents an organization registers.
pub const MAX_AGENTS: u64 = 50;

/// A registered agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    /// Lethe's id of the registration.
    pub id: Uuid,
    /// The agent's id in the DRP directory.
    #[schema(example = "CR_AA")]
    pub agent_id: String,
    /// The organization's id as the agent knows it (`business-id` in its messages).
    #[schema(example = "ACME")]
    pub business_id: String,
    /// The agent's name.
    pub name: String,
    /// The agent's Ed25519 verify key, base64.
    pub verify_key: String,
    /// Who to reach at the agent.
    pub contact: Option<String>,
    /// Whether its messages are accepted.
    pub enabled: bool,
    /// When the agent last set up its token (`POST /v1/agent/{agent-id}`); `null`: never, or
    /// the key changed since.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub token_issued_at: Option<OffsetDateTime>,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl AgentView {
    fn of(agent: &drp_agent::Model, state: &AppState) -> ApiResult<Self> {
        Ok(Self {
            id: agent.id,
            agent_id: agent.agent_id.clone(),
            business_id: agent.business_id.clone(),
            name: agent.name.clone(),
            verify_key: STANDARD.encode(&agent.verify_key),
            contact: agent.contact(&state.keyring).map_err(|e| ApiError::internal(&e))?,
            enabled: agent.enabled,
            token_issued_at: agent.token_issued_at,
            created_at: agent.created_at,
        })
    }
}

/// An agent to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "agent_id": "CR_AA",
    "name": "Consumer Reports Permission Slip",
    "verify_key": "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
    "contact": "drp-tech@example.org"
}))]
pub struct NewAgent {
    /// The agent's id in the DRP directory: 1 to 64 of `A-Z`, `a-z`, `0-9`, `_`, `-`, `.`.
    pub agent_id: String,
    /// The organization's id as the agent knows it (same characters); default: the
    /// organization's slug.
    #[serde(default)]
    pub business_id: Option<String>,
    /// The agent's name (1 to 200 characters).
    pub name: String,
    /// The agent's Ed25519 verify key: 32 bytes, base64.
    pub verify_key: String,
    /// Who to reach at the agent (at most 500 characters).
    #[serde(default)]
    pub contact: Option<String>,
}

/// Changes to an agent; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentChange {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new verify key (the agent sets up a new token with it).
    #[serde(default)]
    pub verify_key: Option<String>,
    /// A new contact; empty removes it.
    #[serde(default)]
    pub contact: Option<String>,
    /// Accept the agent's messages, or refuse them.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Whether `id` is an agent or business id: 1 to 64 of letters, digits, `_`, `-`, `.`.
fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn check_key(key: &str, errors: &mut Vec<FieldError>) -> Option<Vec<u8>> {
    match STANDARD.decode(key.trim()) {
        Ok(bytes) if signed::is_key(&bytes) => Some(bytes),
        _ => {
            errors.push(FieldError {
                field: "verify_key".into(),
                message: "an Ed25519 public key: 32 bytes, base64".into(),
            });
            None
        }
    }
}

fn check_text(field: &str, text: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        errors.push(FieldError { field: field.into(), message: format!("1 to {max} characters") });
    }
    text.to_owned()
}

async fn audit(
    db: &impl ConnectionTrait,
    state: &AppState,
    principal: &Principal,
    kind: OperatorEventKind,
    agent: Uuid,
) -> ApiResult<()> {
    crate::services::audit::record(db, state, principal, kind, serde_json::json!({ "drp_agent_id": agent })).await
}

fn not_found() -> ApiError {
    ApiError::not_found("agent_not_found", "no such agent")
}

/// The organization's agents.
pub async fn list(state: &AppState, principal: &Principal) -> ApiResult<Vec<AgentView>> {
    principal.require(Permission::ManageAgents)?;
    let agents = drp_agent::Model::list(&state.db, principal.organization_id).await?;
    agents.iter().map(|a| AgentView::of(a, state)).collect()
}

/// Registers an agent.
pub async fn create(state: &AppState, principal: &Principal, body: NewAgent) -> ApiResult<AgentView> {
    principal.require(Permission::ManageAgents)?;
    let org = principal.organization_id;
    let mut errors = Vec::new();
    let agent_id = body.agent_id.trim().to_owned();
    if !is_id(&agent_id) {
        errors.push(FieldError { field: "agent_id".into(), message: "1 to 64 of A-Z, a-z, 0-9, _, -, .".into() });
    }
    let business_id = match body.business_id.as_deref().map(str::trim) {
        Some(id) => id.to_owned(),
        None => lethe_entities::entity::organization::Entity::find_by_id(org)
            .one(&state.db)
            .await?
            .map(|o| o.slug)
            .unwrap_or_default(),
    };
    if !is_id(&business_id) {
        errors.push(FieldError { field: "business_id".into(), message: "1 to 64 of A-Z, a-z, 0-9, _, -, .".into() });
    }
    let name = check_text("name", &body.name, 200, &mut errors);
    let contact = body.contact.as_deref().map(|c| check_text("contact", c, 500, &mut errors));
    let key = check_key(&body.verify_key, &mut errors);
    let Some(key) = key.filter(|_| errors.is_empty()) else { return Err(ApiError::validation(errors)) };
    let count = drp_agent::Entity::find().filter(drp_agent::Column::OrganizationId.eq(org)).count(&state.db).await?;
    if count >= MAX_AGENTS {
        return Err(ApiError::conflict("too_many_agents", "an organization registers at most 50 agents"));
    }
    let (id, now) = (Uuid::now_v7(), OffsetDateTime::now_utc());
    let txn = begin_write(&state.db).await?;
    let inserted = drp_agent::ActiveModel {
        id: Set(id),
        organization_id: Set(org),
        agent_id: Set(agent_id),
        business_id: Set(business_id),
        name: Set(name),
        verify_key: Set(key),
        contact_ciphertext: Set(contact.map(|c| state.keyring.seal_text(&c, &contact_context(org, id)))),
        token_digest: Set(None),
        token_issued_at: Set(None),
        setup_issued_at: Set(None),
        enabled: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await;
    let created = match inserted {
        Ok(created) => created,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(ApiError::conflict(
                "agent_registered",
                "this agent is already registered with this business id in this installation",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    audit(&txn, state, principal, OperatorEventKind::DrpAgentRegistered, id).await?;
    txn.commit().await?;
    tracing::info!(drp_agent_id = %id, by = ?principal.actor().id, "authorized agent registered");
    AgentView::of(&created, state)
}

/// Changes agent `id`.
pub async fn update(state: &AppState, principal: &Principal, id: Uuid, change: AgentChange) -> ApiResult<AgentView> {
    principal.require(Permission::ManageAgents)?;
    let org = principal.organization_id;
    let agent = drp_agent::Model::find_in_org(&state.db, org, id).await?.ok_or_else(not_found)?;
    let mut errors = Vec::new();
    let name = change.name.as_deref().map(|n| check_text("name", n, 200, &mut errors));
    let key = change.verify_key.as_deref().map(|k| check_key(k, &mut errors));
    let contact = change.contact.as_deref().map(str::trim).map(|c| {
        if c.chars().count() > 500 {
            errors.push(FieldError { field: "contact".into(), message: "at most 500 characters".into() });
        }
        (!c.is_empty()).then(|| state.keyring.seal_text(c, &contact_context(org, id)))
    });
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut active: drp_agent::ActiveModel = agent.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(Some(key)) = key {
        active.verify_key = Set(key);
        active.token_digest = Set(None);
        active.token_issued_at = Set(None);
    }
    if let Some(contact) = contact {
        active.contact_ciphertext = Set(contact);
    }
    if let Some(enabled) = change.enabled {
        active.enabled = Set(enabled);
    }
    active.updated_at = Set(OffsetDateTime::now_utc());
    let txn = begin_write(&state.db).await?;
    let saved = active.update(&txn).await?;
    audit(&txn, state, principal, OperatorEventKind::DrpAgentChanged, id).await?;
    txn.commit().await?;
    AgentView::of(&saved, state)
}

/// Deletes agent `id`, unless it filed requests (disable it instead: they keep its name).
pub async fn delete(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<()> {
    principal.require(Permission::ManageAgents)?;
    let agent = drp_agent::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(not_found)?;
    let filed = drp_request::Entity::find().filter(drp_request::Column::AgentId.eq(agent.id)).count(&state.db).await?;
    if filed > 0 {
        return Err(ApiError::conflict("agent_has_requests", "this agent filed requests: disable it instead"));
    }
    let txn = begin_write(&state.db).await?;
    drp_agent::Entity::delete_by_id(agent.id).exec(&txn).await?;
    audit(&txn, state, principal, OperatorEventKind::DrpAgentDeleted, id).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_and_plain() {
        assert!(is_id("CR_AA") && is_id("acme-shop.eu") && is_id(&"A".repeat(64)));
        assert!(!is_id("") && !is_id("with space") && !is_id(&"A".repeat(65)) && !is_id("é"));
    }
}
