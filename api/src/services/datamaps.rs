//! Saving a store's data map (JSON or YAML), and importing a fideslang dataset.
//!
//! A map is checked twice before it is saved: structurally (every error with its field path,
//! and its line for YAML), then against the live store (a table or column the store does not
//! have is an error listing what it has). Nothing is saved unless both pass.

use std::collections::{BTreeMap, BTreeSet};

use lethe_entities::datamap::graph::Graph;
use lethe_entities::datamap::validate::{Context, validate};
use lethe_entities::datamap::{DataMap, MapError, fides, parse};
use lethe_entities::entity::store;
use lethe_worker::stores::constraints::check_constraints;
use lethe_worker::stores::constraints::fit::fit_actions;
use lethe_worker::stores::schema::check_map;
use lethe_worker::stores::schema::unindexed_lookups;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::stores::{StoreView, load};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, invalid_data_map};
use crate::state::AppState;

/// A data map to save: either `map` (JSON) or `yaml` (text), not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataMapInput {
    /// The data map as JSON.
    #[schema(value_type = Option<DataMap>)]
    pub map: Option<serde_json::Value>,
    /// The data map as YAML text (errors then carry line numbers).
    pub yaml: Option<String>,
}

/// A saved data map.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedMap {
    /// The store with its new map.
    pub store: StoreView,
    /// Things to review that do not block saving: unindexed lookups, unreachable tables.
    pub warnings: Vec<String>,
}

/// A fideslang dataset to import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FidesImport {
    /// The dataset YAML (`dataset: [ ... ]` with one dataset, or a bare dataset).
    pub yaml: String,
    /// Other datasets' `fides_key`s mapped to Lethe store names, for cross-dataset references.
    #[serde(default)]
    pub datasets: BTreeMap<String, String>,
    /// Save the converted map (after the same checks as `PUT .../datamap`); otherwise it is kept
    /// as the store's proposed map for review.
    #[serde(default)]
    pub save: bool,
}

/// The result of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct FidesImported {
    /// The dataset's `fides_key`.
    pub fides_key: String,
    /// The store (with the map saved, or proposed).
    pub store: StoreView,
    /// What the operator should review (conversion remarks, then save warnings).
    pub warnings: Vec<String>,
}

/// Saves store `id`'s data map, sent as JSON (`map`) or YAML text (`yaml`), after the
/// structural and live-schema checks (`422 invalid_data_map`, each error with its field and,
/// for YAML, its line). Returns the store with its new map and what to review.
pub async fn save(state: &AppState, principal: &Principal, id: Uuid, body: DataMapInput) -> ApiResult<SavedMap> {
    principal.require(Permission::ManageStores)?;
    let store = load(state, principal.organization_id, id).await?;
    let (map, node) = match (body.map, body.yaml) {
        (Some(json), None) => (parse::from_json(json).map_err(invalid_data_map)?, None),
        (None, Some(yaml)) => {
            let (map, node) = parse::from_yaml(&yaml).map_err(invalid_data_map)?;
            (map, Some(node))
        }
        _ => return Err(ApiError::invalid_field("map", "send exactly one of `map` (JSON) and `yaml` (text)")),
    };
    let (store, warnings) = check_and_save(state, principal, store, map, node.as_ref()).await?;
    Ok(SavedMap { store: StoreView::of(&store, &state.keyring), warnings })
}

/// Imports a fideslang dataset YAML into SQL store `id`: saved as its data map (after the same
/// checks as [`save`]) when `save`, kept as its proposed map otherwise.
pub async fn import_fides(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    body: FidesImport,
) -> ApiResult<FidesImported> {
    principal.require(Permission::ManageStores)?;
    let store = load(state, principal.organization_id, id).await?;
    if !store.kind.is_sql() {
        return Err(ApiError::invalid_field("yaml", "fideslang datasets are imported into SQL stores"));
    }
    let mut imported = fides::import(&body.yaml, &body.datasets).map_err(invalid_data_map)?;
    let mut warnings = imported.warnings;
    warnings.extend(fit_to_store(state, principal, &store, &mut imported.map, body.save).await?);
    let store = if body.save {
        let (store, more) = check_and_save(state, principal, store, imported.map, None).await?;
        warnings.extend(more);
        store
    } else {
        let mut active = store.into_active_model();
        active.proposed_map = Set(Some(serde_json::to_value(&imported.map).expect("maps serialise")));
        active.updated_at = Set(OffsetDateTime::now_utc());
        active.update(&state.db).await?
    };
    Ok(FidesImported { fides_key: imported.fides_key, store: StoreView::of(&store, &state.keyring), warnings })
}

/// Replaces the imported map's actions the store's live columns cannot take (Fides gives every
/// field `null`, which a NOT NULL column refuses) and says what was chosen instead. When the
/// store cannot be read, a map that is only proposed (`must_read` false) is kept as imported
/// with a warning; one to be saved fails as the save would.
async fn fit_to_store(
    state: &AppState,
    principal: &Principal,
    store: &store::Model,
    map: &mut DataMap,
    must_read: bool,
) -> ApiResult<Vec<String>> {
    let schema = match state.stores.connector(store, &state.keyring).await {
        Ok(connector) => connector.fresh_schema().await,
        Err(e) => Err(e),
    };
    let schema = match schema {
        Ok(Some(schema)) => schema,
        Ok(None) => return Ok(Vec::new()),
        Err(e) if !must_read => {
            return Ok(vec![format!(
                "the store could not be read ({}), so the actions were not fitted to its columns; review them",
                e.code()
            )]);
        }
        Err(e) => return Err(e.into()),
    };
    let stores = store::Model::all_in_org(&state.db, principal.organization_id).await?;
    let unreachable = unreachable_tables(&stores, store, map);
    Ok(fit_actions(map, &schema, &unreachable))
}

/// The tables of `map` (for `store`) that locating never reaches, with the organization's other
/// stores' saved maps: no identity column or followed reference leads to them.
fn unreachable_tables(stores: &[store::Model], store: &store::Model, map: &DataMap) -> BTreeSet<String> {
    let others_maps: Vec<(String, lethe_entities::StoreKind, DataMap)> = stores
        .iter()
        .filter(|s| s.id != store.id)
        .filter_map(|s| Some((s.name.clone(), s.kind, s.saved_map()?)))
        .collect();
    let graph = Graph::build(others_maps.iter().map(|(n, k, m)| (n.as_str(), *k, m)).chain(std::iter::once((
        store.name.as_str(),
        store.kind,
        map,
    ))));
    graph.unreachable().into_iter().filter(|n| n.store == store.name).map(|n| n.table).collect()
}

/// Validates `map` for `store` (structure, then the live schema) and saves it. Returns the
/// saved store and warnings.
async fn check_and_save(
    state: &AppState,
    principal: &Principal,
    store: store::Model,
    map: DataMap,
    node: Option<&marked_yaml::Node>,
) -> ApiResult<(store::Model, Vec<String>)> {
    let stores = store::Model::all_in_org(&state.db, principal.organization_id).await?;
    let others: Vec<String> = stores.iter().filter(|s| s.id != store.id).map(|s| s.name.clone()).collect();
    let mut errors = validate(&map, Context { kind: store.kind, other_stores: &others });
    let fail = |mut errors: Vec<MapError>| {
        if let Some(node) = node {
            parse::locate_errors(node, &mut errors);
        }
        invalid_data_map(errors)
    };
    if !errors.is_empty() {
        return Err(fail(errors));
    }
    let unreachable = unreachable_tables(&stores, &store, &map);
    let mut warnings: Vec<String> = Vec::new();
    let connector = state.stores.connector(&store, &state.keyring).await?;
    if let Some(schema) = connector.fresh_schema().await? {
        errors = check_map(&map, &schema);
        if errors.is_empty() {
            let checked = check_constraints(&map, &schema, &unreachable);
            errors = checked.errors;
            warnings.extend(checked.warnings);
        }
        if !errors.is_empty() {
            return Err(fail(errors));
        }
        warnings
            .extend(unindexed_lookups(&map, &schema).into_iter().map(|m| format!("no index serves lookups on {m}")));
    }
    warnings.extend(unreachable.iter().map(|table| {
        format!("`{table}` is not reachable from any identity column or reference: locating never finds its rows")
    }));
    let version = store.data_map_version + 1;
    let mut active = store.into_active_model();
    active.data_map = Set(Some(serde_json::to_value(&map).expect("maps serialise")));
    active.data_map_version = Set(version);
    active.data_map_saved_at = Set(Some(OffsetDateTime::now_utc()));
    active.updated_at = Set(OffsetDateTime::now_utc());
    let saved = active.update(&state.db).await?;
    tracing::info!(store_id = %saved.id, version, by = ?principal.actor().id, "data map saved");
    Ok((saved, warnings))
}
