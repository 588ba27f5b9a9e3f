//! API keys for integrations: scoped, shown once, stored as a keyed digest, revocable.

use sea_orm::entity::prelude::*;

/// An API key. The secret is `lethe_<prefix>_<secret>`; only the prefix and a digest are stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organization the key acts for.
    pub organization_id: Uuid,
    /// A label chosen by the admin.
    pub name: String,
    /// Public, unique part of the key, used to find it.
    #[sea_orm(unique)]
    pub prefix: String,
    /// Keyed digest of the secret part.
    pub secret_digest: String,
    /// Granted scopes, space-separated (e.g. `requests:read requests:write`).
    pub scopes: String,
    /// The operator who created it.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last time the secret was (re)generated.
    pub rotated_at: TimeDateTimeWithTimeZone,
    /// Last successful use.
    pub last_used_at: Option<TimeDateTimeWithTimeZone>,
    /// Set when revoked; a revoked key never works again.
    pub revoked_at: Option<TimeDateTimeWithTimeZone>,
}

/// Relations of an API key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The scopes as a list.
    pub fn scope_list(&self) -> Vec<&str> {
        self.scopes.split_whitespace().collect()
    }

    /// Finds a key of `organization` by id.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::OrganizationId.eq(organization)).filter(Column::Id.eq(id)).one(db).await
    }
}
