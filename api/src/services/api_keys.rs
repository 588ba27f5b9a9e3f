//! API keys for integrations (admin only): listed without their secrets, created and
//! regenerated with the secret shown once, revoked for good.

use lethe_entities::entity::api_key;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::api_key::{SCOPES, generate};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Id.
    pub id: Uuid,
    /// Label.
    pub name: String,
    /// Public prefix (the key starts with `lethe_<prefix>_`).
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the secret was last (re)generated.
    #[serde(with = "time::serde::rfc3339")]
    pub rotated_at: OffsetDateTime,
    /// Last use (to the minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<&api_key::Model> for ApiKeyView {
    fn from(k: &api_key::Model) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scopes: k.scope_list().into_iter().map(str::to_owned).collect(),
            created_at: k.created_at,
            rotated_at: k.rotated_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key with its secret: shown once.
#[derive(Serialize, ToSchema)]
pub struct ApiKeySecret {
    /// The key.
    pub key: ApiKeyView,
    /// The full secret, `lethe_<prefix>_<secret>`. Store it now: it cannot be shown again.
    pub secret: String,
}
crate::opaque_debug!(ApiKeySecret);

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "crm-sync", "scopes": ["requests:read"] }))]
pub struct NewApiKey {
    /// Label (1 to 100 characters).
    pub name: String,
    /// Scopes: `requests:read`, `requests:write`, `requests:submit`, `ledger:read`,
    /// `webhooks:manage`, `reports:read`.
    pub scopes: Vec<String>,
}

fn not_found() -> ApiError {
    ApiError::not_found("api_key_not_found", "no API key with this id")
}

/// The organization's API keys, oldest first, without secrets.
pub async fn list(state: &AppState, principal: &Principal) -> ApiResult<Vec<ApiKeyView>> {
    principal.require(Permission::ManageApiKeys)?;
    let keys = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(principal.organization_id))
        .order_by_asc(api_key::Column::CreatedAt)
        .all(&state.db)
        .await?;
    Ok(keys.iter().map(ApiKeyView::from).collect())
}

/// Creates an API key (by a signed-in operator, not another key); the answer holds the secret,
/// which is never shown again.
pub async fn create(state: &AppState, principal: &Principal, body: NewApiKey) -> ApiResult<ApiKeySecret> {
    principal.require(Permission::ManageApiKeys)?;
    let created_by = principal.operator_id()?;
    let mut errors = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError { field: "name".into(), message: "1 to 100 characters".into() });
    }
    let mut scopes: Vec<&str> = body.scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    scopes.dedup();
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(s)) {
        errors.push(FieldError { field: "scopes".into(), message: format!("one or more of: {}", SCOPES.join(", ")) });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let key = generate(&state.keyring);
    let now = OffsetDateTime::now_utc();
    let model = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(principal.organization_id),
        name: Set(name.to_owned()),
        prefix: Set(key.prefix),
        secret_digest: Set(key.digest),
        scopes: Set(scopes.join(" ")),
        created_by: Set(created_by),
        created_at: Set(now),
        rotated_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(api_key_id = %model.id, by = %created_by, "API key created");
    Ok(ApiKeySecret { key: ApiKeyView::from(&model), secret: key.full })
}

/// Revokes API key `id`: it stops working immediately and for good. Revoking twice is harmless.
pub async fn revoke(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<()> {
    principal.require(Permission::ManageApiKeys)?;
    let key = api_key::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(not_found)?;
    if key.revoked_at.is_none() {
        let mut active = key.into_active_model();
        active.revoked_at = Set(Some(OffsetDateTime::now_utc()));
        active.update(&state.db).await?;
        tracing::info!(api_key_id = %id, by = ?principal.actor().id, "API key revoked");
    }
    Ok(())
}

/// Regenerates API key `id`'s secret: the old one stops working at once, the new one is shown
/// once; scopes and id stay. A revoked key is refused (`409 api_key_revoked`).
pub async fn regenerate(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<ApiKeySecret> {
    principal.require(Permission::ManageApiKeys)?;
    let key = api_key::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(not_found)?;
    if key.revoked_at.is_some() {
        return Err(ApiError::conflict("api_key_revoked", "a revoked key cannot be regenerated; create a new one"));
    }
    let fresh = generate(&state.keyring);
    let mut active = key.into_active_model();
    active.prefix = Set(fresh.prefix);
    active.secret_digest = Set(fresh.digest);
    active.rotated_at = Set(OffsetDateTime::now_utc());
    let updated = active.update(&state.db).await?;
    tracing::info!(api_key_id = %id, by = ?principal.actor().id, "API key regenerated");
    Ok(ApiKeySecret { key: ApiKeyView::from(&updated), secret: fresh.full })
}
