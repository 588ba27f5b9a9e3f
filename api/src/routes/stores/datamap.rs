//! Saving a store's data map (JSON or YAML), and importing a fideslang dataset: the HTTP side
//! of [`crate::services::datamaps`].

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{Authenticated, StoreNotFound};
use crate::services;
pub use crate::services::datamaps::{DataMapInput, FidesImport, FidesImported, SavedMap};
use crate::state::AppState;

/// Save a store's data map.
#[utoipa::path(
    put, path = "/v1/stores/{id}/datamap", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    request_body = DataMapInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = SavedMap),
        Authenticated,
        StoreNotFound,
        (status = 422, description = "`invalid_data_map` (each error with its field and, for YAML, its line), `invalid_body` or `store_target_refused` (the installation's target policy does not allow the store's location)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`store_unreachable`, `store_auth_failed`, ...: the live schema could not be read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn save(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<DataMapInput>,
) -> ApiResult<Json<SavedMap>> {
    Ok(Json(services::datamaps::save(&state, &principal, id, body).await?))
}

/// Import a fideslang dataset YAML as the store's data map.
#[utoipa::path(
    post, path = "/v1/stores/{id}/datamap/fides", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    request_body = FidesImport,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Converted (and saved when `save`)", body = FidesImported),
        Authenticated,
        StoreNotFound,
        (status = 422, description = "`invalid_data_map`, `invalid_body` or `store_target_refused` (the installation's target policy does not allow the store's location)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`store_unreachable`, ...: the live schema could not be read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn import_fides(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<FidesImport>,
) -> ApiResult<Json<FidesImported>> {
    Ok(Json(services::datamaps::import_fides(&state, &principal, id, body).await?))
}
