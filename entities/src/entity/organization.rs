//! Organizations: the tenants. Every other row belongs to exactly one.

use sea_orm::entity::prelude::*;

use crate::domain::deadline::OrgDeadlineDefaults;

/// An organization and its request-handling settings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL-safe unique name, used by the portal and by public submissions.
    #[sea_orm(unique)]
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Approve verified requests without an operator.
    pub auto_approve: bool,
    /// Deadline in days for the `other` regime.
    pub default_deadline_days: i32,
    /// Extension in days for the `other` regime (0 = none).
    pub default_extension_days: i32,
    /// When the organization was created.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of an organization.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The fallback deadlines for the `other` regime.
    pub fn deadline_defaults(&self) -> OrgDeadlineDefaults {
        OrgDeadlineDefaults {
            days: u16::try_from(self.default_deadline_days).unwrap_or(30),
            extension_days: u16::try_from(self.default_extension_days).unwrap_or(0),
        }
    }

    /// Finds an organization by slug.
    pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::Slug.eq(slug)).one(db).await
    }
}
