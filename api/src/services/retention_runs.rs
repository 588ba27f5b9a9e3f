//! Running retention policies: the dry-run preview of a policy's next run, running it now,
//! the run history, and stopping and resuming a run. Admins and operators preview and run;
//! every role reads the history.
//!
//! A stop takes effect between two batches: the batch in flight (if any) commits and is counted,
//! then the run halts in `stopped` with its cursor. A resume queues it again: it continues from
//! the cursor with the cutoff it started with, so rows are counted once across the stop. The
//! schedule is not paused by a stopped run (disable the policy for that).

use lethe_entities::entity::retention_run::{self, RunState, RunStep, RunTrigger};
use lethe_entities::entity::store;
use lethe_worker::queue::FollowUp;
use sea_orm::ActiveModelTrait;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::policies::load;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, store_not_found};
use crate::state::AppState;

/// What the next run of a policy would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    /// Rows dated before this are past the age.
    #[serde(with = "time::serde::rfc3339")]
    pub cutoff: OffsetDateTime,
    /// Rows the run would delete or anonymise now.
    pub rows: u64,
    /// The oldest affected row's age, as the store shows it.
    pub oldest: Option<String>,
    /// The newest affected row's age.
    pub newest: Option<String>,
    /// The table's primary-key columns.
    pub primary_key: Vec<String>,
    /// Primary keys of the first affected rows (up to 20), for admins and operators; absent
    /// for other callers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_keys: Option<Vec<Vec<String>>>,
    /// The legal hold covering the whole table, store or organization, if any: then nothing
    /// goes (`rows` is 0). Held subjects' rows are already left out of `rows`.
    pub held_by: Option<Uuid>,
}

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

/// Dry run of policy `id`: how many rows its next run would remove (legal holds respected),
/// their oldest and newest ages, and a sample of their primary keys (for roles that may see
/// identities). Changes nothing.
pub async fn preview(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<PreviewView> {
    principal.require(Permission::RunRetention)?;
    let policy = load(state, principal.organization_id, id).await?;
    if policy.builtin.is_some() {
        let found = lethe_worker::retention::preview::builtin(&state.db, &policy, OffsetDateTime::now_utc()).await?;
        return Ok(PreviewView {
            cutoff: found.cutoff,
            rows: found.rows,
            oldest: None,
            newest: None,
            primary_key: vec!["id".to_owned()],
            sample_keys: None,
            held_by: None,
        });
    }
    let store = store::Model::find_in_org(&state.db, principal.organization_id, policy.store_id)
        .await?
        .ok_or_else(store_not_found)?;
    let connector = state.stores.connector(&store, &state.keyring).await?;
    let found = lethe_worker::retention::preview::preview(
        &state.db,
        &state.keyring,
        &state.stores,
        &store,
        &policy,
        &connector,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let primary_key = match connector.schema().await? {
        Some(schema) => schema.tables.get(&policy.target).map(|t| t.primary_key.clone()).unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(PreviewView {
        cutoff: found.cutoff,
        rows: found.rows,
        oldest: found.oldest,
        newest: found.newest,
        primary_key,
        sample_keys: principal.can(Permission::ReadIdentities).then_some(found.sample),
        held_by: found.held_by,
    })
}

/// Queues a run of policy `id` now. Refused (`409 run_in_progress`) while a run of it is
/// queued or running.
pub async fn run_now(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<RunView> {
    principal.require(Permission::RunRetention)?;
    let policy = load(state, principal.organization_id, id).await?;
    if retention_run::Model::busy(&state.db, policy.id).await? {
        return Err(ApiError::conflict("run_in_progress", "a run of this policy is queued or running"));
    }
    let now = OffsetDateTime::now_utc();
    let run = retention_run::ActiveModel::queued(policy.organization_id, policy.id, RunTrigger::Manual, None, now)
        .insert(&state.db)
        .await?;
    state.queue.schedule(&FollowUp::retention(&run)).await?;
    tracing::info!(policy_id = %policy.id, run_id = %run.id, by = ?principal.actor().id, "retention run queued");
    Ok(RunView::from(&run))
}

/// Run history, newest first: of policy `policy` only when given; `limit` runs, 1 to 500
/// (default 50).
pub async fn list(
    state: &AppState,
    principal: &Principal,
    policy: Option<Uuid>,
    limit: Option<u64>,
) -> ApiResult<Vec<RunView>> {
    principal.require(Permission::ReadRetention)?;
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "1 to 500"));
    }
    let runs = retention_run::Model::recent(&state.db, principal.organization_id, policy, limit).await?;
    Ok(runs.iter().map(RunView::from).collect())
}

/// The one answer for an unknown run id or another organization's run.
fn run_not_found() -> ApiError {
    ApiError::not_found("run_not_found", "no retention run with this id")
}

/// Loads a run of the caller's organization, or `404 run_not_found`.
async fn load_run(state: &AppState, organization: Uuid, id: Uuid) -> ApiResult<retention_run::Model> {
    retention_run::Model::find_in_org(&state.db, organization, id).await?.ok_or_else(run_not_found)
}

/// Stops run `id` between two batches if it is queued or running; stopping a stopped run
/// changes nothing, a finished one is refused (`409 run_finished`).
pub async fn stop(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<RunView> {
    principal.require(Permission::RunRetention)?;
    let run = load_run(state, principal.organization_id, id).await?;
    if run.state == RunState::Stopped {
        return Ok(RunView::from(&run));
    }
    let stopped = run.apply(&state.db, RunStep::Stop).await?;
    let run = load_run(state, principal.organization_id, id).await?;
    if stopped.is_none() && run.state != RunState::Stopped {
        return Err(ApiError::conflict("run_finished", "the run is over: it can no longer be stopped"));
    }
    tracing::info!(run_id = %run.id, by = ?principal.actor().id, "retention run stopped");
    Ok(RunView::from(&run))
}

/// Resumes stopped run `id` from where it stopped (queued again). Refused while another run of
/// the same policy is queued or running.
pub async fn resume(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<RunView> {
    principal.require(Permission::RunRetention)?;
    let run = load_run(state, principal.organization_id, id).await?;
    if run.state != RunState::Stopped {
        return Err(ApiError::conflict("run_not_stopped", "only a stopped run can be resumed"));
    }
    if retention_run::Model::busy(&state.db, run.policy_id).await? {
        return Err(ApiError::conflict("run_in_progress", "another run of this policy is queued or running"));
    }
    let resumed = run.apply(&state.db, RunStep::Resume).await?;
    let run = load_run(state, principal.organization_id, id).await?;
    if resumed.is_none() {
        return Err(ApiError::conflict("run_not_stopped", "only a stopped run can be resumed"));
    }
    state.queue.schedule(&FollowUp::retention(&run)).await?;
    tracing::info!(run_id = %run.id, by = ?principal.actor().id, "retention run resumed");
    Ok(RunView::from(&run))
}
