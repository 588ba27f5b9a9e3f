//! One store's part of one request: created when fulfilment starts, worked by locating (and,
//! later, export and erasure), visible on the request.

use std::collections::BTreeMap;

use sea_orm::entity::prelude::*;

use crate::domain::enums::{StoreKind, TaskStatus};

/// A request's task for one store.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "store_tasks")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The request.
    pub request_id: Uuid,
    /// The store.
    pub store_id: Uuid,
    /// The store's name when the task was created.
    pub store_name: String,
    /// The store's kind.
    pub store_kind: StoreKind,
    /// Where the task stands.
    pub status: TaskStatus,
    /// Located rows per table (or key pattern): `{"orders": 3}`. Counts, never values.
    pub counts: Option<Json>,
    /// Sum of `counts`.
    pub total_rows: i64,
    /// Why the task failed: a stable code.
    pub error_code: Option<String>,
    /// Why, in words (Lethe's own; never data values or credentials).
    pub error_message: Option<String>,
    /// How many times the task's work was attempted: locate runs for automated stores, calls
    /// to the service for HTTP stores.
    pub attempts: i32,
    /// HTTP stores: when the next call to the service is due (retries back off).
    pub next_attempt_at: Option<TimeDateTimeWithTimeZone>,
    /// HTTP stores: when the service accepted the work, to finish it by callback.
    pub accepted_at: Option<TimeDateTimeWithTimeZone>,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of a task.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The tasks of one request, by store name.
    pub async fn of_request(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<Vec<Self>, DbErr> {
        use sea_orm::QueryOrder;
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .order_by_asc(Column::StoreName)
            .all(db)
            .await
    }

    /// The counts as a map (empty when none were recorded).
    pub fn count_map(&self) -> BTreeMap<String, u64> {
        self.counts.clone().and_then(|c| serde_json::from_value(c).ok()).unwrap_or_default()
    }
}
