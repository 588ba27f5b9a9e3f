//! Operators: the privacy team's accounts.

use sea_orm::entity::prelude::*;

use crate::domain::enums::Role;

/// An operator. The password is stored only as an argon2id PHC string.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operators")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organization the operator works for.
    pub organization_id: Uuid,
    /// Sign-in address, lower-cased; unique within the organization (the same address may
    /// hold an account in several organizations).
    pub email: String,
    /// argon2id hash in PHC format.
    pub password_hash: String,
    /// What the operator may do.
    pub role: Role,
    /// A disabled operator cannot sign in, and their tokens stop working.
    pub disabled: bool,
    /// Bumped on password change or disabling; access tokens carry it, so older ones stop working.
    pub token_version: i32,
    /// Consecutive failed sign-ins.
    pub failed_logins: i32,
    /// Sign-in refused until then, after repeated failures.
    pub locked_until: Option<TimeDateTimeWithTimeZone>,
    /// The TOTP secret, encrypted under the keyring ([`Model::mfa_context`]), once enrolled.
    pub mfa_secret: Option<Vec<u8>>,
    /// A TOTP secret being enrolled (shown, not yet confirmed with a first code), encrypted.
    pub mfa_pending_secret: Option<Vec<u8>>,
    /// When the second factor was confirmed.
    pub mfa_enabled_at: Option<TimeDateTimeWithTimeZone>,
    /// The last TOTP time step accepted: a code is never accepted twice.
    pub mfa_last_step: Option<i64>,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of an operator.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Finds an operator of `organization` by id.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::OrganizationId.eq(organization)).filter(Column::Id.eq(id)).one(db).await
    }

    /// Whether a second factor is enrolled.
    pub fn has_mfa(&self) -> bool {
        self.mfa_secret.is_some() && self.mfa_enabled_at.is_some()
    }

    /// The associated data TOTP secrets are encrypted under: bound to the organization and
    /// the operator, so a secret copied to another row does not decrypt.
    pub fn mfa_context(&self) -> Vec<u8> {
        let mut ctx = b"operator-totp\0".to_vec();
        ctx.extend_from_slice(self.organization_id.as_bytes());
        ctx.extend_from_slice(self.id.as_bytes());
        ctx
    }

    /// Finds the operator of `organization` with this sign-in address (already normalised).
    pub async fn find_by_email(
        db: &impl ConnectionTrait,
        organization: Uuid,
        email: &str,
    ) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::OrganizationId.eq(organization)).filter(Column::Email.eq(email)).one(db).await
    }

    /// The accounts a sign-in with this address (already normalised) may mean: the one of the
    /// organization with slug `organization` when one is named, else every organization's,
    /// at most two (one query either way; two say the address alone is ambiguous).
    pub async fn sign_in_candidates(
        db: &impl ConnectionTrait,
        email: &str,
        organization: Option<&str>,
    ) -> Result<Vec<Self>, DbErr> {
        use sea_orm::QuerySelect;
        use sea_orm::sea_query::Query;
        let mut query = Entity::find().filter(Column::Email.eq(email));
        if let Some(slug) = organization {
            let named = Query::select()
                .column(super::organization::Column::Id)
                .from(super::organization::Entity)
                .and_where(super::organization::Column::Slug.eq(slug))
                .to_owned();
            query = query.filter(Column::OrganizationId.in_subquery(named));
        }
        query.limit(2).all(db).await
    }
}
