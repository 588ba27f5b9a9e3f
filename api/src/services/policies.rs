//! Retention policies: listing, creating, reading, replacing and deleting them. A policy is
//! checked at save time against its store's live schema; Lethe's built-in policies can only
//! have their age, schedule, time zone, pace, legal basis and `enabled` changed, and are never
//! deleted. Admins change policies, every role reads them.

use lethe_entities::entity::{retention_policy, store};
use lethe_entities::retention::{PolicySpec, Schedule};
use lethe_worker::retention::builtin;
use lethe_worker::retention::check::against_schema;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

/// A policy as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// Id.
    pub id: Uuid,
    /// The policy as written.
    #[serde(flatten)]
    pub spec: PolicySpec,
    /// For Lethe's own retention: which built-in policy this is (its `store_id` is the nil id:
    /// Lethe's own database). Built-in policies cannot be deleted and only their age, schedule,
    /// time zone, pace, legal basis and `enabled` can change.
    pub builtin: Option<String>,
    /// The next scheduled run (absent without a schedule or when disabled).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_run_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl PolicyView {
    /// The view of `policy`, whose store is a SQL store when `is_sql`.
    pub fn of(policy: &retention_policy::Model, is_sql: bool) -> Self {
        Self {
            id: policy.id,
            spec: policy.spec(is_sql || policy.builtin.is_some()),
            builtin: policy.builtin.clone(),
            next_run_at: policy.next_run_at,
            created_at: policy.created_at,
            updated_at: policy.updated_at,
        }
    }
}

/// The one answer for an unknown policy id or another organization's policy.
pub fn policy_not_found() -> ApiError {
    ApiError::not_found("policy_not_found", "no retention policy with this id")
}

/// Loads a policy of the caller's organization, or `404 policy_not_found`.
pub async fn load(state: &AppState, organization: Uuid, id: Uuid) -> ApiResult<retention_policy::Model> {
    retention_policy::Model::find_in_org(&state.db, organization, id).await?.ok_or_else(policy_not_found)
}

/// Checks `spec` (structure, then the store's live schema); returns its store.
async fn checked(state: &AppState, organization: Uuid, spec: &PolicySpec) -> ApiResult<store::Model> {
    let Some(store) = store::Model::find_in_org(&state.db, organization, spec.store_id).await? else {
        return Err(ApiError::invalid_field("store_id", "no store with this id in your organization"));
    };
    let mut errors = spec.check(store.kind);
    if errors.is_empty()
        && let Some(schema) = state.stores.connector(&store, &state.keyring).await?.fresh_schema().await?
    {
        errors = against_schema(spec, &schema);
    }
    if errors.is_empty() {
        Ok(store)
    } else {
        Err(ApiError::validation(
            errors.into_iter().map(|e| FieldError { field: e.field, message: e.message }).collect(),
        ))
    }
}

/// The next tick of an enabled, scheduled policy after `now`.
fn next_run(spec: &PolicySpec, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let expression = spec.schedule.as_deref().filter(|_| spec.enabled)?;
    Schedule::parse(expression, &spec.time_zone).ok()?.next_after(now)
}

/// Sets what a change may set of any policy, built-in ones included (its age, schedule, time
/// zone, pace, legal basis and `enabled`), with its next run and the time of the change `now`.
fn set_adjustable(active: &mut retention_policy::ActiveModel, spec: &PolicySpec, now: OffsetDateTime) {
    active.max_age = Set(spec.max_age.clone());
    active.schedule = Set(spec.schedule.clone());
    active.time_zone = Set(spec.time_zone.clone());
    active.batch_size = Set(spec.batch_size);
    active.throttle_rows_per_sec = Set(spec.throttle_rows_per_sec);
    active.legal_basis = Set(spec.legal_basis.clone());
    active.enabled = Set(spec.enabled);
    active.next_run_at = Set(next_run(spec, now));
    active.updated_at = Set(now);
}

fn name_taken(e: sea_orm::DbErr) -> ApiError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ApiError::conflict("policy_name_taken", "another retention policy of this organization has this name")
        }
        _ => e.into(),
    }
}

/// The organization's retention policies, by name (Lethe's built-in ones included: they are
/// created on first use).
pub async fn list(state: &AppState, principal: &Principal) -> ApiResult<Vec<PolicyView>> {
    principal.require(Permission::ReadRetention)?;
    builtin::ensure(&state.db, principal.organization_id, OffsetDateTime::now_utc()).await?;
    let policies = retention_policy::Model::all_in_org(&state.db, principal.organization_id).await?;
    let stores = store::Model::all_in_org(&state.db, principal.organization_id).await?;
    let is_sql = |id: Uuid| stores.iter().find(|s| s.id == id).is_none_or(|s| s.kind.is_sql());
    Ok(policies.iter().map(|p| PolicyView::of(p, is_sql(p.store_id))).collect())
}

/// Creates a retention policy, checked against the store's live schema: a table or column the
/// store does not have is refused, naming what it has.
pub async fn create(state: &AppState, principal: &Principal, spec: PolicySpec) -> ApiResult<PolicyView> {
    principal.require(Permission::ManageRetention)?;
    let store = checked(state, principal.organization_id, &spec).await?;
    let now = OffsetDateTime::now_utc();
    let created = retention_policy::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(principal.organization_id),
        name: Set(spec.name.clone()),
        store_id: Set(store.id),
        target: Set(spec.target().to_owned()),
        age_column: Set(spec.age_column.clone()),
        max_age: Set(spec.max_age.clone()),
        filter: Set(serde_json::to_value(&spec.filter).expect("filters serialise")),
        action: Set(serde_json::to_value(&spec.action).expect("actions serialise")),
        schedule: Set(spec.schedule.clone()),
        time_zone: Set(spec.time_zone.clone()),
        batch_size: Set(spec.batch_size),
        throttle_rows_per_sec: Set(spec.throttle_rows_per_sec),
        legal_basis: Set(spec.legal_basis.clone()),
        enabled: Set(spec.enabled),
        builtin: Set(None),
        next_run_at: Set(next_run(&spec, now)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&state.db)
    .await
    .map_err(name_taken)?;
    tracing::info!(policy_id = %created.id, store_id = %store.id, by = ?principal.actor().id, "retention policy created");
    Ok(PolicyView::of(&created, store.kind.is_sql()))
}

/// Retention policy `id` of the caller's organization.
pub async fn get(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<PolicyView> {
    principal.require(Permission::ReadRetention)?;
    let policy = load(state, principal.organization_id, id).await?;
    let store = store::Model::find_in_org(&state.db, principal.organization_id, policy.store_id).await?;
    Ok(PolicyView::of(&policy, store.is_none_or(|s| s.kind.is_sql())))
}

/// Replaces retention policy `id` with `spec` (the whole policy, checked like a new one; of a
/// built-in policy only what may change).
pub async fn update(state: &AppState, principal: &Principal, id: Uuid, spec: PolicySpec) -> ApiResult<PolicyView> {
    principal.require(Permission::ManageRetention)?;
    let policy = load(state, principal.organization_id, id).await?;
    if policy.builtin.is_some() {
        return update_builtin(state, principal, policy, spec).await;
    }
    let store = checked(state, principal.organization_id, &spec).await?;
    let now = OffsetDateTime::now_utc();
    let mut active = policy.into_active_model();
    active.name = Set(spec.name.clone());
    active.store_id = Set(store.id);
    active.target = Set(spec.target().to_owned());
    active.age_column = Set(spec.age_column.clone());
    active.filter = Set(serde_json::to_value(&spec.filter).expect("filters serialise"));
    active.action = Set(serde_json::to_value(&spec.action).expect("actions serialise"));
    set_adjustable(&mut active, &spec, now);
    let updated = active.update(&state.db).await.map_err(name_taken)?;
    tracing::info!(policy_id = %id, by = ?principal.actor().id, "retention policy replaced");
    Ok(PolicyView::of(&updated, store.kind.is_sql()))
}

/// Changes what may change of a built-in policy: its age, schedule, time zone, pace, legal basis
/// and `enabled`. What it works on is fixed.
async fn update_builtin(
    state: &AppState,
    principal: &Principal,
    policy: retention_policy::Model,
    spec: PolicySpec,
) -> ApiResult<PolicyView> {
    let current = policy.spec(true);
    let mut errors: Vec<FieldError> = Vec::new();
    let fixed = |errors: &mut Vec<FieldError>, field: &str, same: bool| {
        if !same {
            errors.push(FieldError { field: field.to_owned(), message: "fixed for built-in policies".to_owned() });
        }
    };
    fixed(&mut errors, "name", spec.name == current.name);
    fixed(&mut errors, "store_id", spec.store_id == current.store_id);
    fixed(&mut errors, "table", spec.table == current.table && spec.key_pattern.is_none());
    fixed(&mut errors, "age_column", spec.age_column == current.age_column);
    fixed(&mut errors, "filter", spec.filter == current.filter);
    fixed(&mut errors, "action", spec.action == current.action);
    let adjustable = ["max_age", "schedule", "time_zone", "batch_size", "throttle_rows_per_sec", "legal_basis"];
    errors.extend(
        spec.check(lethe_entities::StoreKind::Postgres)
            .into_iter()
            .filter(|e| adjustable.contains(&e.field.as_str()))
            .map(|e| FieldError { field: e.field, message: e.message }),
    );
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = OffsetDateTime::now_utc();
    let id = policy.id;
    let mut active = policy.into_active_model();
    set_adjustable(&mut active, &spec, now);
    let updated = active.update(&state.db).await?;
    tracing::info!(policy_id = %id, by = ?principal.actor().id, "built-in retention policy changed");
    Ok(PolicyView::of(&updated, true))
}

/// Deletes retention policy `id`. Its run history stays; a queued or running run is canceled.
/// Built-in policies are refused (`409 builtin_policy`).
pub async fn delete(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<()> {
    principal.require(Permission::ManageRetention)?;
    let policy = load(state, principal.organization_id, id).await?;
    if policy.builtin.is_some() {
        return Err(ApiError::conflict(
            "builtin_policy",
            "built-in policies cannot be deleted; set `enabled` to false to stop their schedule",
        ));
    }
    retention_policy::Entity::delete_by_id(policy.id).exec(&state.db).await?;
    tracing::info!(policy_id = %id, by = ?principal.actor().id, "retention policy deleted");
    Ok(())
}
