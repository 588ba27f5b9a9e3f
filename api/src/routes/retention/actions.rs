//! Previewing a retention policy (a dry run) and running it now: the HTTP side of
//! [`crate::services::retention_runs`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::runs::RunView;
use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::PathParams;
use crate::openapi::responses::{Authenticated, PolicyNotFound, StoreFailed};
use crate::services;
pub use crate::services::retention_runs::PreviewView;
use crate::state::AppState;

/// Dry run: how many rows the next run would remove (legal holds respected), their oldest and
/// newest ages, and a sample of their primary keys. Changes nothing.
#[utoipa::path(
    post, path = "/v1/retention/policies/{id}/preview", tag = "retention",
    params(("id" = Uuid, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What the next run would do", body = PreviewView),
        Authenticated,
        (status = 404, description = "`policy_not_found` or `store_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_data_map` (the table changed since the policy was saved) or `store_target_refused` (the installation's target policy does not allow the store's location)", body = Problem, content_type = "application/problem+json"),
        StoreFailed,
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<PreviewView>> {
    Ok(Json(services::retention_runs::preview(&state, &principal, id).await?))
}

/// Run a policy now. Refused while a run of it is queued or running.
#[utoipa::path(
    post, path = "/v1/retention/policies/{id}/run", tag = "retention",
    params(("id" = Uuid, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = RunView),
        Authenticated,
        PolicyNotFound,
        (status = 409, description = "`run_in_progress`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn run_now(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    let run = services::retention_runs::run_now(&state, &principal, id).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
