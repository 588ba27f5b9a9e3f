//! Registered stores: CRUD (`crud`), data maps and Fides import (`datamap`), connection tests,
//! discovery and preview (`actions`). Connection secrets are write-only: views describe where a
//! store is (scheme, host, database) but never carry a password, URL credentials or a signing
//! secret.

pub mod actions;
pub mod crud;
pub mod datamap;

use lethe_entities::datamap::DataMap;
use lethe_entities::entity::store;
use lethe_entities::{Keyring, StoreKind};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiResult, store_not_found};
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
    /// `store_config_invalid`, `store_query_failed` or `store_protocol_error`.
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
