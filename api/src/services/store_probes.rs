//! Asking a registered store: the connection test (recorded on the store), discovery (an
//! introspection whose proposed map is kept for review) and preview (a dry-run locate for given
//! identities; nothing is stored).

use std::collections::BTreeMap;

use lethe_entities::StoreKind;
use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::domain::identity::Identity;
use lethe_entities::entity::store;
use lethe_worker::locate::{Located, Mode, Outcome, Subject, locate};
use lethe_worker::stores::discover::Discovery;
use lethe_worker::stores::{StoreError, http};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::stores::{TestResult, load};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

/// Rows per table a preview shows when values are asked for.
pub const PREVIEW_ROWS: usize = 50;

/// Tests the connection of store `id`: the store must answer and accept the credentials. The
/// result (also a failed test) is recorded on the store.
pub async fn test(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<TestResult> {
    principal.require(Permission::ManageStores)?;
    let store = load(state, principal.organization_id, id).await?;
    state.stores.forget(id).await;
    let outcome = run_test(state, &store).await;
    let at = OffsetDateTime::now_utc();
    let result = match outcome {
        Ok(message) => TestResult { ok: true, code: None, message, at },
        Err(e) => TestResult { ok: false, code: Some(e.code().to_owned()), message: e.to_string(), at },
    };
    let mut active = store.into_active_model();
    active.last_test_at = Set(Some(at));
    active.last_test_ok = Set(Some(result.ok));
    active.last_test_code = Set(result.code.clone());
    active.last_test_message = Set(Some(result.message.clone()));
    active.update(&state.db).await?;
    tracing::info!(store_id = %id, ok = result.ok, code = ?result.code, "store tested");
    Ok(result)
}

async fn run_test(state: &AppState, store: &store::Model) -> Result<String, StoreError> {
    match store.kind {
        StoreKind::Manual => Ok("manual stores are worked by operators: nothing to connect to".to_owned()),
        StoreKind::Http => match store.connection(&state.keyring) {
            Ok(Some(store::Connection::Http { base_url, signing_secret })) => {
                http::test(state.stores.policy(), &base_url, &signing_secret)
                    .await
                    .map(|()| "the service answered the signed ping".to_owned())
            }
            _ => Err(StoreError::Config("no usable connection is configured".into())),
        },
        _ => state.stores.connector(store, &state.keyring).await?.test().await,
    }
}

/// Discovers store `id`: introspects it and proposes a data map, kept as the store's proposed
/// map (nothing is used until an operator saves a map). Manual and HTTP stores are refused
/// (`409 store_not_discoverable`).
pub async fn discover(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<Discovery> {
    principal.require(Permission::ManageStores)?;
    let store = load(state, principal.organization_id, id).await?;
    if !store.kind.is_automated() {
        return Err(ApiError::conflict("store_not_discoverable", "manual and HTTP stores cannot be introspected"));
    }
    let connector = state.stores.connector(&store, &state.keyring).await?;
    let discovery = connector.discover().await?;
    let now = OffsetDateTime::now_utc();
    let mut active = store.into_active_model();
    active.proposed_map = Set(Some(serde_json::to_value(&discovery.map).expect("maps serialise")));
    active.discovery_report = Set(Some(serde_json::to_value(&discovery).expect("reports serialise")));
    active.discovered_at = Set(Some(now));
    active.update(&state.db).await?;
    tracing::info!(store_id = %id, tables = discovery.map.tables.len(), keys = discovery.map.keys.len(), "store discovered");
    Ok(discovery)
}

/// One identity to preview.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    /// Kind.
    pub kind: IdentityKind,
    /// Value (normalised like a request's: e-mail lower-cased, phone to E.164).
    pub value: String,
}

/// A preview: whom to look for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "identities": [{ "kind": "email", "value": "ann@example.com" }], "include_values": false }))]
pub struct PreviewInput {
    /// One to ten identities of one person.
    pub identities: Vec<IdentityInput>,
    /// Return the located rows' values too (admins and operators only; at most 50 rows per table).
    #[serde(default)]
    pub include_values: bool,
}

/// One store's preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorePreview {
    /// The store.
    pub store: String,
    /// `located`, `failed` or `waiting` (manual and HTTP stores).
    pub status: String,
    /// Rows per table or key pattern.
    pub counts: BTreeMap<String, u64>,
    /// On failure, the code.
    pub error_code: Option<String>,
    /// On failure, what happened.
    pub error_message: Option<String>,
    /// With `include_values`: rows per table (primary key, then the columns as text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<BTreeMap<String, Vec<serde_json::Value>>>,
}

/// What a preview found. Locating crosses stores (a CRM row keyed by the shop's customer id),
/// so every store of the organization is searched; `store` is the one asked about.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// The store asked about.
    pub store: StorePreview,
    /// Every other store.
    pub others: Vec<StorePreview>,
    /// Queries (and Redis round trips) issued.
    pub queries: usize,
    /// Hops walked through the reference graph.
    pub hops: usize,
}

/// The person a preview looks for: one to ten identities, each parsed and normalised.
fn subject(identities: &[IdentityInput]) -> ApiResult<Subject> {
    let mut errors = Vec::new();
    if identities.is_empty() || identities.len() > 10 {
        errors.push(FieldError { field: "identities".into(), message: "one to ten identities".into() });
    }
    let mut subject = Subject::default();
    for (i, identity) in identities.iter().enumerate() {
        match Identity::parse(identity.kind, &identity.value) {
            Ok(parsed) => subject.identities.push((parsed.kind(), parsed.normalised().to_owned())),
            Err(e) => errors.push(FieldError { field: format!("identities[{i}].value"), message: e.to_string() }),
        }
    }
    if errors.is_empty() { Ok(subject) } else { Err(ApiError::validation(errors)) }
}

/// One store's outcome as a preview shows it, with its rows when values were asked for.
fn store_preview(
    name: String,
    outcome: Outcome,
    values: Option<BTreeMap<String, Vec<serde_json::Value>>>,
) -> StorePreview {
    let empty = |name, status: &str| StorePreview {
        store: name,
        status: status.into(),
        counts: BTreeMap::new(),
        error_code: None,
        error_message: None,
        rows: None,
    };
    match outcome {
        Outcome::Located(counts) => StorePreview { counts, rows: values, ..empty(name, "located") },
        Outcome::Failed(e) => StorePreview {
            error_code: Some(e.code().into()),
            error_message: Some(e.to_string()),
            ..empty(name, "failed")
        },
        Outcome::Waiting => empty(name, "waiting"),
    }
}

/// Dry-run locating in every store of the organization for given identities: counts per
/// table, values only for roles that may see personal data. Nothing is stored.
pub async fn preview(state: &AppState, principal: &Principal, id: Uuid, body: PreviewInput) -> ApiResult<Preview> {
    principal.require(Permission::PreviewStores)?;
    if body.include_values {
        principal.require(Permission::ReadIdentities)?;
    }
    let this = load(state, principal.organization_id, id).await?;
    let subject = subject(&body.identities)?;
    let stores = store::Model::all_in_org(&state.db, principal.organization_id).await?;
    let inputs = lethe_worker::tasks::inputs(&stores, &state.stores, &state.keyring).await;
    let mut rows: BTreeMap<String, BTreeMap<String, Vec<serde_json::Value>>> = BTreeMap::new();
    let mode = if body.include_values { Mode::Rows } else { Mode::Keys };
    let report = locate(&inputs, &subject, mode, &mut |found: Located<'_>| {
        if let Some(row) = found.row {
            let table = rows.entry(found.store.to_owned()).or_default().entry(found.table.to_owned()).or_default();
            if table.len() < PREVIEW_ROWS {
                table.push(serde_json::json!({ "key": found.key, "columns": row }));
            }
        }
    })
    .await;
    tracing::info!(store_id = %id, queries = report.queries, "preview ran");
    let mut previews: Vec<StorePreview> = report
        .stores
        .into_iter()
        .map(|(name, outcome)| {
            let values = body.include_values.then(|| rows.remove(&name).unwrap_or_default());
            store_preview(name, outcome, values)
        })
        .collect();
    let position = previews.iter().position(|p| p.store == this.name);
    let store = match position {
        Some(i) => previews.remove(i),
        None => StorePreview {
            store: this.name,
            status: "failed".into(),
            counts: BTreeMap::new(),
            error_code: Some("store_no_data_map".into()),
            error_message: Some(StoreError::NoDataMap.to_string()),
            rows: None,
        },
    };
    Ok(Preview { store, others: previews, queries: report.queries, hops: report.hops })
}
