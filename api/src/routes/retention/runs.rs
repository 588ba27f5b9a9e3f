//! Run history of retention policies, and stopping and resuming a run: the HTTP side of
//! [`crate::services::retention_runs`], which says how a stop and a resume work.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{PathParams, QueryParams};
use crate::openapi::responses::{Authenticated, InvalidQuery, ValidationFailed};
use crate::services;
pub use crate::services::retention_runs::RunView;
use crate::state::AppState;

/// Query of `GET /v1/retention/runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// Only runs of this policy.
    pub policy_id: Option<Uuid>,
    /// How many, newest first: 1 to 500 (default 50).
    pub limit: Option<u64>,
}

/// Run history, newest first.
#[utoipa::path(
    get, path = "/v1/retention/runs", tag = "retention",
    params(RunsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Runs, newest first", body = [RunView]),
        InvalidQuery,
        Authenticated,
        ValidationFailed,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<RunsQuery>,
) -> ApiResult<Json<Vec<RunView>>> {
    Ok(Json(services::retention_runs::list(&state, &principal, query.policy_id, query.limit).await?))
}

/// Stop a queued or running run between two batches. Stopping a stopped run changes nothing.
#[utoipa::path(
    post, path = "/v1/retention/runs/{id}/stop", tag = "retention",
    params(("id" = Uuid, Path, description = "Run id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stopped (the batch in flight, if any, still commits)", body = RunView),
        Authenticated,
        (status = 404, description = "`run_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`run_finished`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stop(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<RunView>> {
    Ok(Json(services::retention_runs::stop(&state, &principal, id).await?))
}

/// Resume a stopped run from where it stopped. Refused while another run of the same policy is
/// queued or running.
#[utoipa::path(
    post, path = "/v1/retention/runs/{id}/resume", tag = "retention",
    params(("id" = Uuid, Path, description = "Run id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued again", body = RunView),
        Authenticated,
        (status = 404, description = "`run_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`run_not_stopped` or `run_in_progress`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    let run = services::retention_runs::resume(&state, &principal, id).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
