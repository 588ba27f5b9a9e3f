//! Creating, listing, reading, replacing and deleting retention policies: the HTTP side of
//! [`crate::services::policies`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lethe_entities::retention::PolicySpec;
use uuid::Uuid;

use super::PolicyView;
use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{Authenticated, PolicyNotFound, StoreFailed};
use crate::services;
use crate::state::AppState;

/// List the organization's retention policies.
#[utoipa::path(
    get, path = "/v1/retention/policies", tag = "retention",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The policies, by name", body = [PolicyView]),
        Authenticated,
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<PolicyView>>> {
    Ok(Json(services::policies::list(&state, &principal).await?))
}

/// Create a retention policy. It is checked against the store's live schema: a table or
/// column the store does not have is refused, naming what it has.
#[utoipa::path(
    post, path = "/v1/retention/policies", tag = "retention",
    request_body = PolicySpec,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = PolicyView),
        Authenticated,
        (status = 409, description = "`policy_name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (with `errors[]` per field), `invalid_body` or `store_target_refused` (the installation's target policy does not allow the store's location)", body = Problem, content_type = "application/problem+json"),
        StoreFailed,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(spec): Body<PolicySpec>,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    let created = services::policies::create(&state, &principal, spec).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One retention policy.
#[utoipa::path(
    get, path = "/v1/retention/policies/{id}", tag = "retention",
    params(("id" = Uuid, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The policy", body = PolicyView),
        Authenticated,
        PolicyNotFound,
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(services::policies::get(&state, &principal, id).await?))
}

/// Replace a retention policy (the whole policy, checked like a new one).
#[utoipa::path(
    put, path = "/v1/retention/policies/{id}", tag = "retention",
    params(("id" = Uuid, Path, description = "Policy id")),
    request_body = PolicySpec,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Replaced", body = PolicyView),
        Authenticated,
        PolicyNotFound,
        (status = 409, description = "`policy_name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (with `errors[]` per field), `invalid_body` or `store_target_refused` (the installation's target policy does not allow the store's location)", body = Problem, content_type = "application/problem+json"),
        StoreFailed,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(spec): Body<PolicySpec>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(services::policies::update(&state, &principal, id, spec).await?))
}

/// Delete a retention policy. Its run history stays; a queued or running run is canceled.
#[utoipa::path(
    delete, path = "/v1/retention/policies/{id}", tag = "retention",
    params(("id" = Uuid, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        Authenticated,
        PolicyNotFound,
        (status = 409, description = "`builtin_policy`: built-in policies are disabled, not deleted", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    services::policies::delete(&state, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
