//! Registered stores: listing, registering, changing and deleting them. Connection secrets are
//! write-only: views describe where a store is (scheme, host, database) but never carry a
//! password, URL credentials or a signing secret. Admins register, change and delete; every
//! role reads.

use lethe_entities::datamap::DataMap;
use lethe_entities::domain::enums::{RequestState, TaskStatus};
use lethe_entities::entity::store::{self, Connection, seal_connection};
use lethe_entities::entity::{request, store_task};
use lethe_entities::{Keyring, StoreKind};
use lethe_worker::stores::check_url;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Query;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError, store_not_found};
use crate::redact::redact_url;
use crate::state::AppState;

/// A store as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    /// Id.
    pub id: Uuid,
    /// Unique name in the organization (used in data maps, the ledger and certificates).
    pub name: String,
    /// Kind.
    pub kind: StoreKind,
    /// What it is.
    pub description: Option<String>,
    /// Where it is, without credentials (e.g. `postgres://db.internal:5432/shop`).
    pub location: Option<String>,
    /// For manual stores: what the operator does.
    pub instructions: Option<String>,
    /// The saved data map.
    pub data_map: Option<DataMap>,
    /// Incremented on each save.
    pub data_map_version: i32,
    /// When the data map was saved.
    #[serde(with = "time::serde::rfc3339::option")]
    pub data_map_saved_at: Option<OffsetDateTime>,
    /// The last discovery's proposal (not used until saved).
    pub proposed_map: Option<DataMap>,
    /// When discovery last ran.
    #[serde(with = "time::serde::rfc3339::option")]
    pub discovered_at: Option<OffsetDateTime>,
    /// The last connection test.
    pub last_test: Option<TestResult>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The result of a connection test.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestResult {
    /// Whether the store answered and accepted the credentials.
    pub ok: bool,
    /// On failure: `store_unreachable`, `store_auth_failed`, `store_unknown_database`,
    /// `store_config_invalid`, `store_target_refused`, `store_query_failed`,
    /// `store_protocol_error`, `store_rejected` or `store_answer_too_large`.
    pub code: Option<String>,
    /// What happened, in Lethe's words.
    pub message: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl StoreView {
    /// The view of `store`; `keyring` decrypts the connection only to describe its location.
    pub fn of(store: &store::Model, keyring: &Keyring) -> Self {
        let location = match store.connection(keyring) {
            Ok(Some(store::Connection::Url { url })) => Some(lethe_worker::stores::describe_url(&url)),
            Ok(Some(store::Connection::Http { base_url, .. })) => Some(lethe_worker::stores::describe_url(&base_url)),
            Ok(None) => None,
            Err(_) => Some("(cannot be decrypted with the current master key)".to_owned()),
        };
        Self {
            id: store.id,
            name: store.name.clone(),
            kind: store.kind,
            description: store.description.clone(),
            location,
            instructions: store.instructions.clone(),
            data_map: store.saved_map(),
            data_map_version: store.data_map_version,
            data_map_saved_at: store.data_map_saved_at,
            proposed_map: store.proposed_map.clone().and_then(|m| serde_json::from_value(m).ok()),
            discovered_at: store.discovered_at,
            last_test: store.last_test_at.map(|at| TestResult {
                ok: store.last_test_ok.unwrap_or(false),
                code: store.last_test_code.clone(),
                message: store.last_test_message.clone().unwrap_or_default(),
                at,
            }),
            created_at: store.created_at,
            updated_at: store.updated_at,
        }
    }
}

/// Loads a store of the caller's organization, or `404 store_not_found`.
pub async fn load(state: &AppState, organization: Uuid, id: Uuid) -> ApiResult<store::Model> {
    store::Model::find_in_org(&state.db, organization, id).await?.ok_or_else(store_not_found)
}

/// How to reach a store (write-only: never returned; its `Debug` hides the credentials).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionInput {
    /// For `postgres`, `mysql`, `sqlite` and `redis` stores: the URL with credentials, e.g.
    /// `postgres://lethe:secret@db.internal:5432/shop`.
    pub url: Option<String>,
    /// For `http` stores: the service's base URL.
    pub base_url: Option<String>,
    /// For `http` stores: the shared secret requests are signed with (at least 16 characters).
    pub signing_secret: Option<String>,
}

impl std::fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("base_url", &self.base_url.as_deref().map(redact_url))
            .field("signing_secret", &self.signing_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A new store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "shop", "kind": "postgres", "description": "Web shop database",
    "connection": { "url": "postgres://lethe:secret@db.internal:5432/shop" }
}))]
pub struct NewStore {
    /// Unique name: lower-case letters, digits, `-` and `_`, 1 to 64 characters.
    pub name: String,
    /// Kind.
    pub kind: StoreKind,
    /// What it is (at most 2000 characters).
    pub description: Option<String>,
    /// How to reach it (all kinds but `manual`).
    pub connection: Option<ConnectionInput>,
    /// For `manual` stores: what an operator must do, step by step (required for them).
    pub instructions: Option<String>,
}

/// Changes to a store. The name and kind cannot change (data maps, the ledger and
/// certificates refer to the name).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreChange {
    /// New description.
    pub description: Option<String>,
    /// New connection (replaces the old one).
    pub connection: Option<ConnectionInput>,
    /// New instructions (manual stores).
    pub instructions: Option<String>,
}

fn field(errors: &mut Vec<FieldError>, field: &str, message: &str) {
    errors.push(FieldError { field: field.to_owned(), message: message.to_owned() });
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Validates a connection for `kind`.
fn connection(kind: StoreKind, input: Option<&ConnectionInput>, errors: &mut Vec<FieldError>) -> Option<Connection> {
    match (kind, input) {
        (StoreKind::Manual, None) => None,
        (StoreKind::Manual, Some(_)) => {
            field(errors, "connection", "manual stores have no connection; describe the work in `instructions`");
            None
        }
        (_, None) => {
            field(errors, "connection", "required for this kind of store");
            None
        }
        (StoreKind::Http, Some(c)) => {
            if c.url.is_some() {
                field(errors, "connection.url", "http stores take `base_url` and `signing_secret`");
            }
            let base = c.base_url.clone().unwrap_or_default();
            if let Err(e) = check_url(kind, &base) {
                field(errors, "connection.base_url", &e.to_string());
            }
            let secret = c.signing_secret.clone().unwrap_or_default();
            if secret.chars().count() < 16 {
                field(errors, "connection.signing_secret", "at least 16 characters");
            }
            Some(Connection::Http { base_url: base, signing_secret: secret })
        }
        (_, Some(c)) => {
            if c.base_url.is_some() || c.signing_secret.is_some() {
                field(errors, "connection", "this kind of store takes a `url`");
            }
            let url = c.url.clone().unwrap_or_default();
            if let Err(e) = check_url(kind, &url) {
                field(errors, "connection.url", &e.to_string());
            }
            Some(Connection::Url { url })
        }
    }
}

fn text(value: Option<&String>, name: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.is_some_and(|v| v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t')) {
        field(errors, name, &format!("at most {max} printable characters"));
    }
}

/// The organization's stores, by name.
pub async fn list(state: &AppState, principal: &Principal) -> ApiResult<Vec<StoreView>> {
    principal.require(Permission::ReadStores)?;
    let stores = store::Model::all_in_org(&state.db, principal.organization_id).await?;
    Ok(stores.iter().map(|s| StoreView::of(s, &state.keyring)).collect())
}

/// Checks a new store's fields; returns its connection (none for a manual store).
fn check_new(body: &NewStore) -> ApiResult<Option<Connection>> {
    let mut errors = Vec::new();
    if !valid_name(&body.name) {
        field(
            &mut errors,
            "name",
            "1 to 64 characters: lower-case letters, digits, `-` and `_`, starting with a letter or digit",
        );
    }
    let conn = connection(body.kind, body.connection.as_ref(), &mut errors);
    text(body.description.as_ref(), "description", 2000, &mut errors);
    text(body.instructions.as_ref(), "instructions", 10_000, &mut errors);
    if body.kind == StoreKind::Manual && body.instructions.as_ref().is_none_or(|i| i.trim().is_empty()) {
        field(&mut errors, "instructions", "manual stores need instructions for the operator");
    }
    if errors.is_empty() { Ok(conn) } else { Err(ApiError::validation(errors)) }
}

fn name_taken() -> ApiError {
    ApiError::conflict("store_name_taken", "another store of this organization has this name")
}

/// Refuses a connection the installation's target policy does not allow
/// (`422 store_target_refused`, the same answer whatever the reason).
async fn check_target(state: &AppState, kind: StoreKind, conn: Option<&Connection>) -> ApiResult<()> {
    match conn {
        Some(conn) => Ok(lethe_worker::stores::check_target(state.stores.policy(), kind, conn).await?),
        None => Ok(()),
    }
}

/// Registers a store. Its connection secret is encrypted at rest and never returned. A
/// connection the target policy refuses is not registered.
pub async fn create(state: &AppState, principal: &Principal, body: NewStore) -> ApiResult<StoreView> {
    principal.require(Permission::ManageStores)?;
    let conn = check_new(&body)?;
    check_target(state, body.kind, conn.as_ref()).await?;
    let taken = store::Entity::find()
        .filter(store::Column::OrganizationId.eq(principal.organization_id))
        .filter(store::Column::Name.eq(&body.name))
        .count(&state.db)
        .await?;
    if taken > 0 {
        return Err(name_taken());
    }
    let (id, now) = (Uuid::now_v7(), OffsetDateTime::now_utc());
    let created = store::ActiveModel {
        id: Set(id),
        organization_id: Set(principal.organization_id),
        name: Set(body.name),
        kind: Set(body.kind),
        description: Set(body.description),
        connection_ciphertext: Set(conn.map(|c| seal_connection(&state.keyring, principal.organization_id, id, &c))),
        instructions: Set(body.instructions),
        data_map: Set(None),
        data_map_version: Set(0),
        data_map_saved_at: Set(None),
        proposed_map: Set(None),
        discovery_report: Set(None),
        discovered_at: Set(None),
        last_test_at: Set(None),
        last_test_ok: Set(None),
        last_test_code: Set(None),
        last_test_message: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&state.db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => name_taken(),
        _ => e.into(),
    })?;
    tracing::info!(store_id = %created.id, kind = created.kind.as_str(), by = ?principal.actor().id, "store registered");
    Ok(StoreView::of(&created, &state.keyring))
}

/// Store `id` of the caller's organization.
pub async fn get(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<StoreView> {
    principal.require(Permission::ReadStores)?;
    let store = load(state, principal.organization_id, id).await?;
    Ok(StoreView::of(&store, &state.keyring))
}

/// Changes a store's description, connection or instructions; a new connection forgets the
/// last connection test (and is refused when the target policy does not allow it).
pub async fn update(state: &AppState, principal: &Principal, id: Uuid, body: StoreChange) -> ApiResult<StoreView> {
    principal.require(Permission::ManageStores)?;
    let store = load(state, principal.organization_id, id).await?;
    let mut errors = Vec::new();
    let conn = body.connection.as_ref().map(|c| connection(store.kind, Some(c), &mut errors));
    text(body.description.as_ref(), "description", 2000, &mut errors);
    text(body.instructions.as_ref(), "instructions", 10_000, &mut errors);
    if body.instructions.is_some() && store.kind != StoreKind::Manual {
        field(&mut errors, "instructions", "only manual stores have instructions");
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    check_target(state, store.kind, conn.as_ref().and_then(Option::as_ref)).await?;
    let kind = store.kind;
    let mut active = store.into_active_model();
    if let Some(d) = body.description {
        active.description = Set(Some(d));
    }
    if let Some(Some(c)) = conn {
        active.connection_ciphertext = Set(Some(seal_connection(&state.keyring, principal.organization_id, id, &c)));
        active.last_test_at = Set(None);
        active.last_test_ok = Set(None);
        active.last_test_code = Set(None);
        active.last_test_message = Set(None);
    }
    if let Some(i) = body.instructions.filter(|_| kind == StoreKind::Manual) {
        active.instructions = Set(Some(i));
    }
    active.updated_at = Set(OffsetDateTime::now_utc());
    let updated = active.update(&state.db).await?;
    state.stores.forget(id).await;
    tracing::info!(store_id = %id, by = ?principal.actor().id, "store changed");
    Ok(StoreView::of(&updated, &state.keyring))
}

/// Deletes a store. Refused (`409 store_in_use`) while a request in progress still has work
/// for it.
pub async fn delete(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<()> {
    principal.require(Permission::ManageStores)?;
    let store = load(state, principal.organization_id, id).await?;
    let open_requests = Query::select()
        .column(request::Column::Id)
        .from(request::Entity)
        .and_where(request::Column::OrganizationId.eq(principal.organization_id))
        .and_where(request::Column::State.eq(RequestState::InProgress))
        .to_owned();
    let busy = store_task::Entity::find()
        .filter(store_task::Column::StoreId.eq(store.id))
        .filter(store_task::Column::Status.is_not_in([TaskStatus::Done, TaskStatus::Waived]))
        .filter(store_task::Column::RequestId.in_subquery(open_requests))
        .count(&state.db)
        .await?;
    if busy > 0 {
        return Err(ApiError::conflict(
            "store_in_use",
            format!("{busy} request(s) in progress still have work in this store; finish or waive it first"),
        ));
    }
    store::Entity::delete_by_id(store.id).exec(&state.db).await?;
    state.stores.forget(id).await;
    tracing::info!(store_id = %id, by = ?principal.actor().id, "store deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["shop", "crm-eu", "a", "billing_2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Shop", "-x", "a b", "ä", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
