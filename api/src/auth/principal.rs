//! The authenticated caller and what it may do.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use lethe_entities::domain::enums::{ActorKind, Role};
use lethe_entities::entity::request::Actor;
use lethe_entities::entity::{api_key, operator};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use uuid::Uuid;

use super::api_key as key_secret;
use crate::error::ApiError;
use crate::state::AppState;

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// List and read requests and their timelines.
    ReadRequests,
    /// See the subject's identities in clear.
    ReadIdentities,
    /// Approve, deny, extend, cancel, retry, hold and resume requests.
    ManageRequests,
    /// Create, list, revoke and regenerate API keys.
    ManageApiKeys,
    /// Create, list and change operators.
    ManageOperators,
    /// Read ledger entries, checkpoints and proofs (they hold no personal data).
    ReadLedger,
    /// Sign a ledger checkpoint on demand.
    SignCheckpoint,
    /// Look up a subject's ledger entries by identity.
    LookupLedger,
    /// List and read registered stores and their data maps (never their secrets).
    ReadStores,
    /// Register, change, test, discover, map and delete stores.
    ManageStores,
    /// Dry-run locating for given identities (counts; values need [`Permission::ReadIdentities`]).
    PreviewStores,
    /// Waive a request's store task (skip a store, with a reason) or recipient task.
    WaiveTasks,
    /// Read the organization's settings.
    ReadOrganization,
    /// Change the organization's settings.
    ManageOrganization,
    /// List and read retention policies and their runs.
    ReadRetention,
    /// Create, replace and delete retention policies.
    ManageRetention,
    /// Preview a retention policy and run it now.
    RunRetention,
    /// List legal holds.
    ReadHolds,
    /// Place and release legal holds.
    ManageHolds,
    /// Read and export the audit log (operators' actions and sign-ins).
    ReadAudit,
    /// File requests for people the caller's application has authenticated (trusted intake).
    SubmitRequests,
    /// List webhook endpoints and read their delivery logs.
    ReadWebhooks,
    /// Create, change, delete, rotate, test webhook endpoints and redeliver.
    ManageWebhooks,
    /// Read the yearly request metrics and the dashboard (counts and days, no personal data).
    ReadReports,
    /// Register, change and delete authorized agents (Data Rights Protocol).
    ManageAgents,
}

/// Who the caller is.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A signed-in operator.
    Operator {
        /// Operator id.
        id: Uuid,
        /// Current role (read from the database on every request).
        role: Role,
    },
    /// An integration's API key.
    ApiKey {
        /// Key id.
        id: Uuid,
        /// Granted scopes.
        scopes: Vec<String>,
    },
}

/// An authenticated caller, bound to one organization.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The caller's organization: every query of the request is scoped to it.
    pub organization_id: Uuid,
    /// Who is calling.
    pub caller: Caller,
    /// The client's address (the TCP peer), recorded with what the caller does.
    pub ip: Option<std::net::IpAddr>,
}

impl Principal {
    /// Whether the caller holds `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        use Permission::*;
        match &self.caller {
            Caller::Operator { role: Role::Admin, .. } => true,
            Caller::Operator { role: Role::Operator, .. } => {
                matches!(
                    permission,
                    ReadRequests
                        | ReadIdentities
                        | ManageRequests
                        | ReadLedger
                        | SignCheckpoint
                        | ReadStores
                        | PreviewStores
                        | ReadOrganization
                        | ReadRetention
                        | RunRetention
                        | ReadHolds
                        | ReadWebhooks
                        | ReadReports
                )
            }
            Caller::Operator { role: Role::Auditor, .. } => {
                matches!(
                    permission,
                    ReadRequests
                        | ReadLedger
                        | LookupLedger
                        | ReadStores
                        | ReadOrganization
                        | ReadRetention
                        | ReadHolds
                        | ReadAudit
                        | ReadReports
                )
            }
            Caller::ApiKey { scopes, .. } => {
                let has = |s: &str| scopes.iter().any(|g| g == s);
                match permission {
                    ReadRequests => has("requests:read") || has("requests:write"),
                    ManageRequests => has("requests:write"),
                    ReadLedger => has("ledger:read"),
                    ReadWebhooks | ManageWebhooks => has("webhooks:manage"),
                    SubmitRequests => has("requests:submit"),
                    ReadReports => has("reports:read"),
                    ReadIdentities | ManageApiKeys | ManageOperators | SignCheckpoint | LookupLedger | ReadStores
                    | ManageStores | PreviewStores | WaiveTasks | ReadOrganization | ManageOrganization
                    | ReadRetention | ManageRetention | RunRetention | ReadHolds | ManageHolds | ReadAudit
                    | ManageAgents => false,
                }
            }
        }
    }

    /// Fails with 403 unless the caller holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden("your role or key scopes do not allow this"))
        }
    }

    /// The caller as a timeline actor.
    pub fn actor(&self) -> Actor {
        match &self.caller {
            Caller::Operator { id, .. } => Actor { kind: ActorKind::Operator, id: Some(*id), ip: self.ip },
            Caller::ApiKey { id, .. } => Actor { kind: ActorKind::ApiKey, id: Some(*id), ip: self.ip },
        }
    }

    /// The operator's or the API key's id: whose rate-limit budget a call is counted against.
    pub fn caller_id(&self) -> Uuid {
        match self.caller {
            Caller::Operator { id, .. } | Caller::ApiKey { id, .. } => id,
        }
    }

    /// The operator's id, for operator-only actions.
    pub fn operator_id(&self) -> Result<Uuid, ApiError> {
        match self.caller {
            Caller::Operator { id, .. } => Ok(id),
            Caller::ApiKey { .. } => Err(ApiError::forbidden("this action needs a signed-in operator, not an API key")),
        }
    }
}

/// The bearer credential of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized("invalid_token", "the access token or API key is invalid, expired or revoked")
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    /// The caller the API's rate limit authenticated ([`crate::routes::throttle`]), or, where
    /// it did not (an invalid credential, or a route outside it), authenticated now.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let mut principal = match parts.extensions.get::<Principal>() {
            Some(principal) => principal.clone(),
            None => authenticate(state, &parts.headers).await?,
        };
        principal.ip = client_ip(parts);
        Ok(principal)
    }
}

/// The TCP peer's address, when the server was started with connection info.
pub fn client_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip())
}

/// Authenticates the bearer credential in `headers`: an operator token or an API key.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let token = bearer(headers)
        .ok_or_else(|| ApiError::unauthorized("unauthenticated", "send `Authorization: Bearer <token or API key>`"))?;
    if let Some((prefix, secret)) = key_secret::parse(token) {
        return from_api_key(state, prefix, secret).await;
    }
    let claims = state.tokens.verify(token).ok_or_else(invalid_token)?;
    let op = operator::Model::find_in_org(&state.db, claims.org, claims.sub).await?.ok_or_else(invalid_token)?;
    if op.disabled || op.token_version != claims.ver {
        return Err(invalid_token());
    }
    Ok(Principal {
        organization_id: op.organization_id,
        caller: Caller::Operator { id: op.id, role: op.role },
        ip: None,
    })
}

async fn from_api_key(state: &AppState, prefix: &str, secret: &str) -> Result<Principal, ApiError> {
    let key = api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .one(&state.db)
        .await?
        .filter(|k| k.revoked_at.is_none() && key_secret::matches(&state.keyring, prefix, secret, &k.secret_digest))
        .ok_or_else(invalid_token)?;
    let principal = Principal {
        organization_id: key.organization_id,
        caller: Caller::ApiKey { id: key.id, scopes: key.scope_list().into_iter().map(str::to_owned).collect() },
        ip: None,
    };
    // Record use at most once a minute: a write per API call would be wasted work.
    let now = time::OffsetDateTime::now_utc();
    if key.last_used_at.is_none_or(|t| now - t > time::Duration::minutes(1)) {
        let mut active = key.into_active_model();
        active.last_used_at = Set(Some(now));
        active.update(&state.db).await?;
    }
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(role: Role) -> Principal {
        Principal { organization_id: Uuid::nil(), caller: Caller::Operator { id: Uuid::nil(), role }, ip: None }
    }

    fn key(scopes: &[&str]) -> Principal {
        Principal {
            organization_id: Uuid::nil(),
            caller: Caller::ApiKey { id: Uuid::nil(), scopes: scopes.iter().map(|s| s.to_string()).collect() },
            ip: None,
        }
    }

    #[test]
    fn roles_and_scopes() {
        use Permission::*;
        assert!(op(Role::Admin).can(ManageOperators));
        assert!(op(Role::Operator).can(ManageRequests));
        assert!(!op(Role::Operator).can(ManageApiKeys));
        assert!(op(Role::Auditor).can(ReadRequests));
        assert!(!op(Role::Auditor).can(ManageRequests));
        assert!(!op(Role::Auditor).can(ReadIdentities));
        assert!(key(&["requests:read"]).can(ReadRequests));
        assert!(!key(&["requests:read"]).can(ManageRequests));
        assert!(key(&["requests:write"]).can(ManageRequests));
        assert!(!key(&["requests:write"]).can(ManageApiKeys));
        assert!(!key(&["requests:write"]).can(ReadIdentities));
        assert!(!key(&[]).can(ReadRequests));
        assert!(op(Role::Auditor).can(ReadReports) && op(Role::Operator).can(ReadReports));
        assert!(key(&["reports:read"]).can(ReadReports));
        assert!(!key(&["reports:read"]).can(ReadRequests));
        assert!(!key(&["requests:read"]).can(ReadReports));
    }
}
