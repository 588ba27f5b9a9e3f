//! The delivery log: every attempt to deliver a webhook, with the answer's status, latency and
//! first bytes (or why there was no answer).

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

/// One attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The delivery.
    pub delivery_id: Uuid,
    /// When it was sent.
    pub at: TimeDateTimeWithTimeZone,
    /// The answer's HTTP status, if one came.
    pub http_status: Option<i32>,
    /// From sending to the answer (or the failure), in milliseconds.
    pub latency_ms: i32,
    /// Why there was no usable answer (`timeout`, `connect`, `target_refused`, ...).
    pub error_code: Option<String>,
    /// The answer's first bytes.
    pub response_excerpt: Option<String>,
}

/// Relations of an attempt.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The attempts of `deliveries`, oldest first.
    pub async fn of_deliveries(
        db: &impl ConnectionTrait,
        organization: Uuid,
        deliveries: &[Uuid],
    ) -> Result<Vec<Self>, DbErr> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::DeliveryId.is_in(deliveries.iter().copied()))
            .order_by_asc(Column::At)
            .order_by_asc(Column::Id)
            .all(db)
            .await
    }
}
