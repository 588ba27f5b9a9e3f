//! Run history of retention policies, and stopping and resuming a run.
//!
//! A stop takes effect between two batches: the batch in flight (if any) commits and is counted,
//! then the run halts in `stopped` with its cursor. A resume queues it again: it continues from
//! the cursor with the cutoff it started with, so rows are counted once across the stop. The
//! schedule is not paused by a stopped run (disable the policy for that).

use axum::Json;
use axum::extract::State;
use lethe_entities::entity::retention_run::{self, RunState, RunStep, RunTrigger};
use lethe_worker::queue::FollowUp;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{PathParams, QueryParams};
use crate::state::AppState;

/// One run as the API shows it: counts and codes, never values.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    /// Id.
    pub id: Uuid,
    /// The policy.
    pub policy_id: Uuid,
    /// `manual` or `schedule`.
    pub trigger: RunTrigger,
    /// The schedule's tick, for scheduled runs.
    #[serde(with = "time::serde::rfc3339::option")]
    pub scheduled_for: Option<OffsetDateTime>,
    /// `queued`, `running`, `stopped`, `done`, `failed`, `canceled` or `held`.
    pub state: RunState,
    /// Rows dated before this were past the age.
    #[serde(with = "time::serde::rfc3339::option")]
    pub cutoff: Option<OffsetDateTime>,
    /// Rows deleted or anonymised (the store's own counts, as in the ledger).
    pub rows: i64,
    /// Batches committed (each one store transaction and one ledger entry).
    pub batches: i32,
    /// Rows per batch on average.
    pub rows_per_batch: f64,
    /// Rows of the largest batch.
    pub largest_batch: i64,
    /// Why it failed: a stable code.
    pub error_code: Option<String>,
    /// Why, in words.
    pub error_message: Option<String>,
    /// Started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// Finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// Created (queued).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&retention_run::Model> for RunView {
    fn from(r: &retention_run::Model) -> Self {
        Self {
            id: r.id,
            policy_id: r.policy_id,
            trigger: r.trigger,
            scheduled_for: r.scheduled_for,
            state: r.state,
            cutoff: r.cutoff,
            rows: r.rows,
            batches: r.batches,
            rows_per_batch: if r.batches > 0 { r.rows as f64 / f64::from(r.batches) } else { 0.0 },
            largest_batch: r.largest_batch,
            error_code: r.error_code.clone(),
            error_message: r.error_message.clone(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            created_at: r.created_at,
        }
    }
}

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
        (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<RunsQuery>,
) -> ApiResult<Json<Vec<RunView>>> {
    principal.require(Permission::ReadRetention)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "1 to 500"));
    }
    let runs = retention_run::Model::recent(&state.db, principal.organization_id, query.policy_id, limit).await?;
    Ok(Json(runs.iter().map(RunView::from).collect()))
}

/// The one answer for an unknown run id or another organization's run.
fn run_not_found() -> ApiError {
    ApiError::not_found("run_not_found", "no retention run with this id")
}

/// Loads a run of the caller's organization, or `404 run_not_found`.
async fn load(state: &AppState, organization: Uuid, id: Uuid) -> ApiResult<retention_run::Model> {
    retention_run::Model::find_in_org(&state.db, organization, id).await?.ok_or_else(run_not_found)
}

/// Stop a queued or running run between two batches. Stopping a stopped run changes nothing.
#[utoipa::path(
    post, path = "/v1/retention/runs/{id}/stop", tag = "retention",
    params(("id" = Uuid, Path, description = "Run id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stopped (the batch in flight, if any, still commits)", body = RunView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`run_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`run_finished`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stop(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<RunView>> {
    principal.require(Permission::RunRetention)?;
    let run = load(&state, principal.organization_id, id).await?;
    if run.state == RunState::Stopped {
        return Ok(Json(RunView::from(&run)));
    }
    let stopped = run.apply(&state.db, RunStep::Stop).await?;
    let run = load(&state, principal.organization_id, id).await?;
    if stopped.is_none() && run.state != RunState::Stopped {
        return Err(ApiError::conflict("run_finished", "the run is over: it can no longer be stopped"));
    }
    tracing::info!(run_id = %run.id, by = ?principal.actor().id, "retention run stopped");
    Ok(Json(RunView::from(&run)))
}

/// Resume a stopped run from where it stopped. Refused while another run of the same policy is
/// queued or running.
#[utoipa::path(
    post, path = "/v1/retention/runs/{id}/resume", tag = "retention",
    params(("id" = Uuid, Path, description = "Run id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued again", body = RunView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`run_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`run_not_stopped` or `run_in_progress`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<(axum::http::StatusCode, Json<RunView>)> {
    principal.require(Permission::RunRetention)?;
    let run = load(&state, principal.organization_id, id).await?;
    if run.state != RunState::Stopped {
        return Err(ApiError::conflict("run_not_stopped", "only a stopped run can be resumed"));
    }
    if retention_run::Model::busy(&state.db, run.policy_id).await? {
        return Err(ApiError::conflict("run_in_progress", "another run of this policy is queued or running"));
    }
    let resumed = run.apply(&state.db, RunStep::Resume).await?;
    let run = load(&state, principal.organization_id, id).await?;
    if resumed.is_none() {
        return Err(ApiError::conflict("run_not_stopped", "only a stopped run can be resumed"));
    }
    state.queue.schedule(&FollowUp::retention(&run)).await?;
    tracing::info!(run_id = %run.id, by = ?principal.actor().id, "retention run resumed");
    Ok((axum::http::StatusCode::ACCEPTED, Json(RunView::from(&run))))
}
