//! Idempotency keys of trusted intake (`Idempotency-Key` on `POST /v1/requests/attested`): the
//! first answer to a key, kept [`KEEP`] so a retried call gets it again. The key and the body are
//! stored only as keyed digests; the answer (it holds the status token) only encrypted.

use std::time::Duration;

use sea_orm::entity::prelude::*;

use crate::domain::crypto::bound_context;

/// How long a key's answer is kept.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);

/// One key's first answer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The API key (or operator) that sent it.
    pub caller_id: Uuid,
    /// Keyed digest of the `Idempotency-Key`.
    pub key_digest: String,
    /// Keyed digest of the body it came with.
    pub body_digest: String,
    /// The request the first call created.
    pub request_id: Uuid,
    /// The first answer (JSON), encrypted ([`response_context`]).
    pub response_ciphertext: Vec<u8>,
    /// When the first call was answered.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of a key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data an answer is encrypted under.
pub fn response_context(organization: Uuid, id: Uuid) -> Vec<u8> {
    bound_context("idempotent-answer", &[organization, id])
}

impl Model {
    /// `caller`'s key with digest `key_digest` in `organization`, if one was kept.
    pub async fn find(
        db: &impl ConnectionTrait,
        organization: Uuid,
        caller: Uuid,
        key_digest: &str,
    ) -> Result<Option<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::CallerId.eq(caller))
            .filter(Column::KeyDigest.eq(key_digest))
            .one(db)
            .await
    }

    /// Forgets every key older than [`KEEP`] at `now`; returns how many.
    pub async fn forget_expired(db: &impl ConnectionTrait, now: TimeDateTimeWithTimeZone) -> Result<u64, DbErr> {
        let before = now - KEEP;
        Ok(Entity::delete_many().filter(Column::CreatedAt.lt(before)).exec(db).await?.rows_affected)
    }
}
