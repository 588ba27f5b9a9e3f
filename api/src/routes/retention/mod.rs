//! Retention: policies (`policies`: list, create, read, replace, delete), their preview and
//! on-demand runs (`actions`), and run history (`runs`). Admins change policies, admins and
//! operators preview and run them, every role reads. Policies are checked at save time against
//! the store's live schema.

pub mod actions;
pub mod policies;
pub mod runs;

use lethe_entities::entity::retention_policy;
use lethe_entities::retention::PolicySpec;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
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
