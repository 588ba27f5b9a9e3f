//! The webhook outbox: one row per announced event, inserted in the transaction of the change
//! it announces ([`crate::webhook::announce`]). A worker fans each out to the endpoints that
//! want it, sets its payload, and marks it dispatched. Rows are never changed after that.

use sea_orm::entity::prelude::*;

/// One announced event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// Primary key (UUID v7: ordered by time); the deliveries' `webhook-id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The event type's name.
    pub event_type: String,
    /// The request it concerns.
    pub request_id: Option<Uuid>,
    /// Facts as announced: ids, states, kinds.
    pub data: Json,
    /// The payload as delivered, set when the event is fanned out.
    pub payload: Option<Json>,
    /// Whether it was fanned out to the endpoints.
    pub dispatched: bool,
    /// When it happened.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of an event.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
