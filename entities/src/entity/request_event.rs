//! The request timeline: every state change and operator action, with who, when and why.

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use crate::domain::enums::{ActorKind, EventKind, RequestState};

/// One event. Events are never updated or deleted. They hold no personal data: actors are ids,
/// and reasons are written by operators for the record.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_events")]
pub struct Model {
    /// Primary key (UUID v7: ordered by time).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The request.
    pub request_id: Uuid,
    /// When it happened.
    pub at: TimeDateTimeWithTimeZone,
    /// Who did it.
    pub actor_kind: ActorKind,
    /// The operator or API key, when one acted.
    pub actor_id: Option<Uuid>,
    /// What happened.
    pub kind: EventKind,
    /// State before, for transitions.
    pub from_state: Option<RequestState>,
    /// State after, for transitions.
    pub to_state: Option<RequestState>,
    /// Why (required for denials, extensions and cancellations by operators).
    pub reason: Option<String>,
    /// Structured facts (e.g. the previous and new due dates, attempts left).
    pub detail: Option<Json>,
    /// The operator's or API key's client address, for the audit log (never a subject's).
    pub ip_address: Option<String>,
}

/// Relations of an event.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The timeline of one request, oldest first.
    pub async fn timeline(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<Vec<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .order_by_asc(Column::Id)
            .all(db)
            .await
    }

    /// The audit log's share of `organization`'s timelines: events by operators and API keys
    /// with ids below `before` (all when `None`), newest first.
    pub async fn by_people(
        db: &impl ConnectionTrait,
        organization: Uuid,
        before: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<Self>, DbErr> {
        use sea_orm::QuerySelect;
        let mut query = Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::ActorKind.is_in([ActorKind::Operator, ActorKind::ApiKey]));
        if let Some(before) = before {
            query = query.filter(Column::Id.lt(before));
        }
        query.order_by_desc(Column::Id).limit(limit).all(db).await
    }
}
