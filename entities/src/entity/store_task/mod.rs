//! One store's part of one request: created when fulfilment starts, worked by locating (and,
//! later, export and erasure), visible on the request. Its status moves only through the state
//! machine in [`transition`].

pub mod transition;

use std::collections::BTreeMap;

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use time::OffsetDateTime;

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

pub use transition::{Step, TaskError, TaskEvent, TaskTransitionError};

impl ActiveModel {
    /// A new task of `request` for `store` (id, name, kind), `pending`: the only status a task
    /// is created in.
    pub fn pending(organization: Uuid, request: Uuid, store: (Uuid, &str, StoreKind), now: OffsetDateTime) -> Self {
        Self {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization),
            request_id: Set(request),
            store_id: Set(store.0),
            store_name: Set(store.1.to_owned()),
            store_kind: Set(store.2),
            status: Set(TaskStatus::Pending),
            counts: Set(None),
            total_rows: Set(0),
            error_code: Set(None),
            error_message: Set(None),
            attempts: Set(0),
            next_attempt_at: Set(None),
            accepted_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}

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
