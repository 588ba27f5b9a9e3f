//! Previewing a retention policy (a dry run) and running it now.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lethe_entities::entity::retention_run::{self, RunTrigger};
use lethe_entities::entity::store;
use lethe_worker::queue::FollowUp;
use sea_orm::ActiveModelTrait;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::load;
use super::runs::RunView;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, Problem, store_not_found};
use crate::extract::PathParams;
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

/// Dry run: how many rows the next run would remove (legal holds respected), their oldest and
/// newest ages, and a sample of their primary keys. Changes nothing.
#[utoipa::path(
    post, path = "/v1/retention/policies/{id}/preview", tag = "retention",
    params(("id" = Uuid, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What the next run would do", body = PreviewView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`policy_not_found` or `store_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_data_map` (the table changed since the policy was saved)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The store failed: `store_unreachable`, `store_auth_failed`, ...", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<PreviewView>> {
    principal.require(Permission::RunRetention)?;
    let policy = load(&state, principal.organization_id, id).await?;
    if policy.builtin.is_some() {
        let found = lethe_worker::retention::preview::builtin(&state.db, &policy, OffsetDateTime::now_utc()).await?;
        return Ok(Json(PreviewView {
            cutoff: found.cutoff,
            rows: found.rows,
            oldest: None,
            newest: None,
            primary_key: vec!["id".to_owned()],
            sample_keys: None,
            held_by: None,
        }));
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
    Ok(Json(PreviewView {
        cutoff: found.cutoff,
        rows: found.rows,
        oldest: found.oldest,
        newest: found.newest,
        primary_key,
        sample_keys: principal.can(Permission::ReadIdentities).then_some(found.sample),
        held_by: found.held_by,
    }))
}

/// Run a policy now. Refused while a run of it is queued or running.
#[utoipa::path(
    post, path = "/v1/retention/policies/{id}/run", tag = "retention",
    params(("id" = Uuid, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = RunView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`policy_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`run_in_progress`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn run_now(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    principal.require(Permission::RunRetention)?;
    let policy = load(&state, principal.organization_id, id).await?;
    if retention_run::Model::busy(&state.db, policy.id).await? {
        return Err(ApiError::conflict("run_in_progress", "a run of this policy is queued or running"));
    }
    let now = OffsetDateTime::now_utc();
    let run = retention_run::ActiveModel::queued(policy.organization_id, policy.id, RunTrigger::Manual, None, now)
        .insert(&state.db)
        .await?;
    state.queue.schedule(&FollowUp::retention(&run)).await?;
    tracing::info!(policy_id = %policy.id, run_id = %run.id, by = ?principal.actor().id, "retention run queued");
    Ok((StatusCode::ACCEPTED, Json(RunView::from(&run))))
}
