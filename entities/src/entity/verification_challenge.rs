//! Identity-verification challenges: a 6-digit code e-mailed to the requester.

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

/// One code sent for one request. Only a keyed digest of the code is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "verification_challenges")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The request being verified.
    pub request_id: Uuid,
    /// Keyed digest of the code, scoped to the request.
    pub code_digest: String,
    /// The code stops working then.
    pub expires_at: TimeDateTimeWithTimeZone,
    /// Wrong attempts so far.
    pub attempts: i32,
    /// Wrong attempts allowed before a new code is needed.
    pub max_attempts: i32,
    /// Set when the right code was entered, or when a newer code replaced this one.
    pub consumed_at: Option<TimeDateTimeWithTimeZone>,
    /// Creation time (also the time the mail job generated the code).
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of a challenge.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Whether the challenge can still be answered at `now`.
    pub fn is_open(&self, now: TimeDateTimeWithTimeZone) -> bool {
        self.consumed_at.is_none() && self.expires_at > now && self.attempts < self.max_attempts
    }

    /// Wrong attempts left.
    pub fn attempts_left(&self) -> i32 {
        (self.max_attempts - self.attempts).max(0)
    }

    /// The newest challenge of a request.
    pub async fn latest(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .one(db)
            .await
    }
}
