//! Registering, listing, changing and deleting stores: the HTTP side of
//! [`crate::services::stores`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::StoreView;
use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{Authenticated, StoreNotFound};
use crate::services;
pub use crate::services::stores::{ConnectionInput, NewStore, StoreChange};
use crate::state::AppState;

/// List the organization's stores.
#[utoipa::path(
    get, path = "/v1/stores", tag = "stores",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stores, by name", body = [StoreView]),
        Authenticated,
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<StoreView>>> {
    Ok(Json(services::stores::list(&state, &principal).await?))
}

/// Register a store. Its connection secret is encrypted at rest and never returned.
#[utoipa::path(
    post, path = "/v1/stores", tag = "stores",
    request_body = NewStore,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = StoreView),
        Authenticated,
        (status = 409, description = "`store_name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `invalid_body` or `store_target_refused` (the installation's target policy does not allow the store's location)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<NewStore>,
) -> ApiResult<(StatusCode, Json<StoreView>)> {
    let created = services::stores::create(&state, &principal, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One store.
#[utoipa::path(
    get, path = "/v1/stores/{id}", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store", body = StoreView),
        Authenticated,
        StoreNotFound,
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<StoreView>> {
    Ok(Json(services::stores::get(&state, &principal, id).await?))
}

/// Change a store's description, connection or instructions.
#[utoipa::path(
    put, path = "/v1/stores/{id}", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    request_body = StoreChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = StoreView),
        Authenticated,
        StoreNotFound,
        (status = 422, description = "`validation_failed`, `invalid_body` or `store_target_refused` (the installation's target policy does not allow the store's location)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<StoreChange>,
) -> ApiResult<Json<StoreView>> {
    Ok(Json(services::stores::update(&state, &principal, id, body).await?))
}

/// Delete a store. Refused while a request in progress still has work for it.
#[utoipa::path(
    delete, path = "/v1/stores/{id}", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Authenticated,
        StoreNotFound,
        (status = 409, description = "`store_in_use`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    services::stores::delete(&state, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
