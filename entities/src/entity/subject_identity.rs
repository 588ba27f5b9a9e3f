//! A data subject's identities, encrypted at rest with a blind index for lookups.

use sea_orm::entity::prelude::*;

use crate::domain::crypto::{CryptoError, Keyring};
use crate::domain::enums::IdentityKind;
use crate::domain::identity::Identity;

/// One identity of the subject of one request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subject_identities")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The request this identity was given with.
    pub request_id: Uuid,
    /// Which kind of identity.
    pub kind: IdentityKind,
    /// AES-256-GCM ciphertext of the normalised value, bound to (organization, request, kind).
    pub ciphertext: Vec<u8>,
    /// HMAC blind index of the normalised value (see [`Keyring::blind_index`]).
    pub blind_index: String,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of an identity.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data an identity's ciphertext is bound to.
fn context(organization: Uuid, request: Uuid, kind: IdentityKind) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(48);
    ctx.extend_from_slice(b"subject-identity\0");
    ctx.extend_from_slice(organization.as_bytes());
    ctx.extend_from_slice(request.as_bytes());
    ctx.extend_from_slice(kind.as_str().as_bytes());
    ctx
}

impl ActiveModel {
    /// Encrypts `identity` for storage with its blind index.
    pub fn seal(
        keyring: &Keyring,
        organization: Uuid,
        request: Uuid,
        identity: &Identity,
        now: TimeDateTimeWithTimeZone,
    ) -> Self {
        let kind = identity.kind();
        Self {
            id: sea_orm::ActiveValue::Set(Uuid::now_v7()),
            organization_id: sea_orm::ActiveValue::Set(organization),
            request_id: sea_orm::ActiveValue::Set(request),
            kind: sea_orm::ActiveValue::Set(kind),
            ciphertext: sea_orm::ActiveValue::Set(
                keyring.encrypt(identity.normalised().as_bytes(), &context(organization, request, kind)),
            ),
            blind_index: sea_orm::ActiveValue::Set(keyring.blind_index(organization, kind, identity.normalised())),
            created_at: sea_orm::ActiveValue::Set(now),
        }
    }
}

impl Model {
    /// Decrypts the identity's normalised value.
    pub fn open(&self, keyring: &Keyring) -> Result<String, CryptoError> {
        keyring.open_text(&self.ciphertext, &context(self.organization_id, self.request_id, self.kind))
    }

    /// The identities of one request.
    pub async fn of_request(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<Vec<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .all(db)
            .await
    }

    /// The ids of `organization`'s requests with an identity of this blind index: a search by
    /// identity that never decrypts anything.
    pub async fn requests_with_index(
        db: &impl ConnectionTrait,
        organization: Uuid,
        blind_index: &str,
    ) -> Result<Vec<Uuid>, DbErr> {
        use sea_orm::QuerySelect;
        Entity::find()
            .select_only()
            .column(Column::RequestId)
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::BlindIndex.eq(blind_index))
            .distinct()
            .into_tuple()
            .all(db)
            .await
    }
}
