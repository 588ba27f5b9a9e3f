//! Run history of retention policies.

use axum::Json;
use axum::extract::State;
use lethe_entities::entity::retention_run::{self, RunState, RunTrigger};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::QueryParams;
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
    /// `queued`, `running`, `done`, `failed` or `canceled`.
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
