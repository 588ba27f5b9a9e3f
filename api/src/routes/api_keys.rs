//! API keys for integrations (admin only): created and regenerated with the secret shown once,
//! revocable. The HTTP side of [`crate::services::api_keys`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{Authenticated, Invalid};
use crate::services;
pub use crate::services::api_keys::{ApiKeySecret, ApiKeyView, NewApiKey};
use crate::state::AppState;

/// List API keys.
#[utoipa::path(
    get, path = "/v1/api-keys", tag = "api-keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's keys, without secrets", body = Vec<ApiKeyView>),
        Authenticated,
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<ApiKeyView>>> {
    Ok(Json(services::api_keys::list(&state, &principal).await?))
}

/// Create an API key.
///
/// The answer holds the secret; it is never shown again.
#[utoipa::path(
    post, path = "/v1/api-keys", tag = "api-keys",
    request_body = NewApiKey,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ApiKeySecret),
        Authenticated,
        Invalid,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<NewApiKey>,
) -> ApiResult<(StatusCode, Json<ApiKeySecret>)> {
    let created = services::api_keys::create(&state, &principal, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke an API key.
///
/// The key stops working immediately and for good. Revoking twice is harmless.
#[utoipa::path(
    delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = Uuid, Path, description = "API key id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        Authenticated,
        (status = 404, description = "`api_key_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    services::api_keys::revoke(&state, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Regenerate an API key's secret.
///
/// The old secret stops working at once; the new one is shown once. Scopes and id stay.
#[utoipa::path(
    post, path = "/v1/api-keys/{id}/regenerate", tag = "api-keys",
    params(("id" = Uuid, Path, description = "API key id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "New secret", body = ApiKeySecret),
        Authenticated,
        (status = 404, description = "`api_key_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`api_key_revoked`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn regenerate(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<ApiKeySecret>> {
    Ok(Json(services::api_keys::regenerate(&state, &principal, id).await?))
}
