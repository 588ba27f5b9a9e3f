//! Access exports: the encrypted package of one access request and its download link.
//!
//! One row per request (unique), moving `building` -> `ready` -> `purged`. The package file is
//! encrypted under a random per-export key; the key is stored here only wrapped under the
//! master key (bound to the organization and the export) and is set to NULL when the export is
//! purged, so the file is unreadable from then on even if a copy survives (crypto-shredding).
//! The download link's token is never stored, only its keyed digest. The state moves only
//! through [`transition`].

pub mod transition;

pub use transition::ExportStep;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::domain::crypto::{CryptoError, Keyring};

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    /// Created; the package is not (yet) complete.
    #[sea_orm(string_value = "building")]
    Building,
    /// The package is on disk and can be downloaded until it expires.
    #[sea_orm(string_value = "ready")]
    Ready,
    /// Expired: the key is destroyed and the file deleted.
    #[sea_orm(string_value = "purged")]
    Purged,
}

/// One access export.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exports")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The access request (one export per request).
    pub request_id: Uuid,
    /// Where it stands.
    pub state: ExportState,
    /// The encrypted package's file name in the exports directory (when ready).
    pub file_name: Option<String>,
    /// The per-export key, AES-256-GCM-encrypted under the master key and bound to the
    /// organization and export; NULL before the package is ready and after it is purged.
    pub key_ciphertext: Option<Vec<u8>>,
    /// Keyed digest of the current download token (the token itself is never stored).
    pub token_digest: Option<String>,
    /// Rows in the package.
    pub row_count: i64,
    /// Rows per store and table: `{"shop": {"orders": 3}}`. Counts, never values.
    pub counts: Option<Json>,
    /// Size of the encrypted file in bytes.
    pub file_bytes: i64,
    /// Downloads started so far.
    pub downloads: i32,
    /// Downloads allowed.
    pub max_downloads: i32,
    /// When the link stops working and the package is purged.
    pub expires_at: Option<TimeDateTimeWithTimeZone>,
    /// When the package was complete.
    pub ready_at: Option<TimeDateTimeWithTimeZone>,
    /// When the link was e-mailed.
    pub mailed_at: Option<TimeDateTimeWithTimeZone>,
    /// When the key was destroyed.
    pub purged_at: Option<TimeDateTimeWithTimeZone>,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of an export.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl ActiveModel {
    /// The export of `request`, `building`: the only state an export is created in.
    pub fn building(organization: Uuid, request: Uuid, max_downloads: i32, now: TimeDateTimeWithTimeZone) -> Self {
        use sea_orm::ActiveValue::Set;
        Self {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization),
            request_id: Set(request),
            state: Set(ExportState::Building),
            file_name: Set(None),
            key_ciphertext: Set(None),
            token_digest: Set(None),
            row_count: Set(0),
            counts: Set(None),
            file_bytes: Set(0),
            downloads: Set(0),
            max_downloads: Set(max_downloads),
            expires_at: Set(None),
            ready_at: Set(None),
            mailed_at: Set(None),
            purged_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}

/// The associated data an export key's ciphertext is bound to.
fn key_context(organization: Uuid, export: Uuid) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(48);
    ctx.extend_from_slice(b"export-key\0");
    ctx.extend_from_slice(organization.as_bytes());
    ctx.extend_from_slice(export.as_bytes());
    ctx
}

/// Wraps the per-export key of export `export` of `organization` under the master key.
pub fn seal_key(keyring: &Keyring, organization: Uuid, export: Uuid, key: &[u8]) -> Vec<u8> {
    keyring.encrypt(key, &key_context(organization, export))
}

impl Model {
    /// The per-export key (`None` when there is none: not ready yet, or purged).
    pub fn open_key(&self, keyring: &Keyring) -> Result<Option<Zeroizing<Vec<u8>>>, CryptoError> {
        let Some(blob) = &self.key_ciphertext else { return Ok(None) };
        keyring.decrypt(blob, &key_context(self.organization_id, self.id)).map(Some)
    }

    /// The export of one request.
    pub async fn of_request(
        db: &impl ConnectionTrait,
        organization: Uuid,
        request: Uuid,
    ) -> Result<Option<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .one(db)
            .await
    }

    /// The export whose current download token has `digest`.
    pub async fn by_token_digest(db: &impl ConnectionTrait, digest: &str) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::TokenDigest.eq(digest)).one(db).await
    }

    /// Rows per store and table.
    pub fn count_map(&self) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> {
        self.counts.clone().and_then(|c| serde_json::from_value(c).ok()).unwrap_or_default()
    }
}
