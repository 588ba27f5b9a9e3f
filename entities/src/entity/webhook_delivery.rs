//! One event's delivery to one endpoint: pending until an attempt succeeds (2xx) or the retry
//! schedule is spent. A worker holds a lease on it while it sends.

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet delivered; attempted at `next_attempt_at`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The endpoint answered 2xx.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Every attempt of the schedule failed.
    #[sea_orm(string_value = "failed")]
    Failed,
}

/// One delivery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// The event's request (one request's deliveries to one endpoint go in order).
    pub request_id: Option<Uuid>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// When it is attempted next (while pending).
    pub next_attempt_at: TimeDateTimeWithTimeZone,
    /// Until when a worker holds it (while it sends).
    pub lease_until: Option<TimeDateTimeWithTimeZone>,
    /// The last attempt's HTTP status.
    pub last_http_status: Option<i32>,
    /// The last attempt's error code, when it got no answer.
    pub last_error_code: Option<String>,
    /// Created (when the event was fanned out).
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it succeeded or failed for good.
    pub finished_at: Option<TimeDateTimeWithTimeZone>,
}

/// Relations of a delivery.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The endpoint it goes to.
    #[sea_orm(
        belongs_to = "super::webhook_endpoint::Entity",
        from = "Column::EndpointId",
        to = "super::webhook_endpoint::Column::Id"
    )]
    Endpoint,
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The endpoint's latest `limit` deliveries, newest first.
    pub async fn latest(
        db: &impl ConnectionTrait,
        organization: Uuid,
        endpoint: Uuid,
        limit: u64,
    ) -> Result<Vec<Self>, DbErr> {
        use sea_orm::QuerySelect;
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::EndpointId.eq(endpoint))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(db)
            .await
    }
}
