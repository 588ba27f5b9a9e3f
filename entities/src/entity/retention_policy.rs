//! Retention policies: one table (or Redis key pattern) of one store, purged or anonymised
//! once rows are older than the policy's maximum age, on its schedule.

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use crate::retention::{Filter, PolicyAction, PolicySpec};

/// One retention policy.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_policies")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// Unique name in the organization.
    pub name: String,
    /// The store.
    pub store_id: Uuid,
    /// The table (SQL) or key pattern (Redis).
    pub target: String,
    /// The column (or Redis hash field) dating each row; NULL for a Redis key's idle time.
    pub age_column: Option<String>,
    /// ISO 8601 duration.
    pub max_age: String,
    /// JSON array of [`Filter`]s.
    pub filter: Json,
    /// JSON [`PolicyAction`].
    pub action: Json,
    /// Cron expression; NULL: on demand only.
    pub schedule: Option<String>,
    /// IANA time zone the schedule is read in.
    pub time_zone: String,
    /// Rows per batch.
    pub batch_size: i32,
    /// Rows per second at most; NULL: no throttle.
    pub throttle_rows_per_sec: Option<i32>,
    /// The legal basis, in words.
    pub legal_basis: String,
    /// Whether the schedule is active.
    pub enabled: bool,
    /// For Lethe's own retention: which built-in policy this is (its store id is nil: Lethe's
    /// own database).
    pub builtin: Option<String>,
    /// The next scheduled tick (NULL without a schedule or when disabled).
    pub next_run_at: Option<TimeDateTimeWithTimeZone>,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of a policy.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The filter conditions (a stored filter always parsed when it was saved).
    pub fn filters(&self) -> Vec<Filter> {
        serde_json::from_value(self.filter.clone()).unwrap_or_default()
    }

    /// The action (a stored action that no longer parses counts as none: nothing is done).
    pub fn policy_action(&self) -> Option<PolicyAction> {
        serde_json::from_value(self.action.clone()).ok()
    }

    /// The policy as the admin wrote it, for a store of `is_sql` kind.
    pub fn spec(&self, is_sql: bool) -> PolicySpec {
        PolicySpec {
            name: self.name.clone(),
            store_id: self.store_id,
            table: is_sql.then(|| self.target.clone()),
            key_pattern: (!is_sql).then(|| self.target.clone()),
            age_column: self.age_column.clone(),
            max_age: self.max_age.clone(),
            filter: self.filters(),
            action: self.policy_action().unwrap_or(PolicyAction::DeleteRow),
            schedule: self.schedule.clone(),
            time_zone: self.time_zone.clone(),
            batch_size: self.batch_size,
            throttle_rows_per_sec: self.throttle_rows_per_sec,
            legal_basis: self.legal_basis.clone(),
            enabled: self.enabled,
        }
    }

    /// One policy of the organization.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find_by_id(id).filter(Column::OrganizationId.eq(organization)).one(db).await
    }

    /// Every policy of the organization, by name.
    pub async fn all_in_org(db: &impl ConnectionTrait, organization: Uuid) -> Result<Vec<Self>, DbErr> {
        Entity::find().filter(Column::OrganizationId.eq(organization)).order_by_asc(Column::Name).all(db).await
    }

    /// Enabled policies (of every organization) whose next tick is at or before `now`.
    pub async fn due(db: &impl ConnectionTrait, now: TimeDateTimeWithTimeZone) -> Result<Vec<Self>, DbErr> {
        Entity::find()
            .filter(Column::Enabled.eq(true))
            .filter(Column::NextRunAt.lte(now))
            .order_by_asc(Column::NextRunAt)
            .all(db)
            .await
    }
}
