//! Store actions: connection test, discovery, and preview (a dry-run locate): the HTTP side of
//! [`crate::services::store_probes`].

use axum::Json;
use axum::extract::State;
use lethe_worker::stores::discover::Discovery;
use uuid::Uuid;

use super::TestResult;
use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{Body, PathParams};
use crate::openapi::responses::{Authenticated, Invalid, RateLimited, StoreNotFound};
use crate::services;
pub use crate::services::store_probes::{IdentityInput, PREVIEW_ROWS, Preview, PreviewInput, StorePreview};
use crate::state::AppState;

/// Test the connection: the store must answer and accept the credentials. The result is
/// recorded on the store.
#[utoipa::path(
    post, path = "/v1/stores/{id}/test", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The result (also when the store failed the test: see `ok` and `code`)", body = TestResult),
        Authenticated,
        StoreNotFound,
    )
)]
pub async fn test(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<TestResult>> {
    Ok(Json(services::store_probes::test(&state, &principal, id).await?))
}

/// Discover the store: introspect it and propose a data map (kept as the store's proposed map;
/// nothing is used until an operator saves a map).
#[utoipa::path(
    post, path = "/v1/stores/{id}/discover", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The proposal, with the evidence for each suggestion and the missing indexes", body = Discovery),
        Authenticated,
        StoreNotFound,
        (status = 409, description = "`store_not_discoverable`: manual and HTTP stores", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`store_target_refused` (the installation's target policy does not allow the store's location)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`store_unreachable`, `store_auth_failed`, ...", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn discover(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Discovery>> {
    Ok(Json(services::store_probes::discover(&state, &principal, id).await?))
}

/// Dry-run locating for given identities: counts per table, values only for roles that may see
/// personal data. Nothing is stored.
#[utoipa::path(
    post, path = "/v1/stores/{id}/preview", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    request_body = PreviewInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts per store and table", body = Preview),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (also: values asked for by a role that may not see them)", body = Problem, content_type = "application/problem+json"),
        StoreNotFound,
        Invalid,
        RateLimited,
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<PreviewInput>,
) -> ApiResult<Json<Preview>> {
    Ok(Json(services::store_probes::preview(&state, &principal, id, body).await?))
}
