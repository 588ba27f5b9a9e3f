//! Legal holds: data that must not be destroyed while a matter (litigation, an investigation)
//! is open. A hold covers one subject (their identity, stored encrypted with its blind index),
//! one table of a store, a whole store, or the whole organization. Holds are additive: data is
//! free again only when no active hold covers it. A hold is active until it is released or
//! its expiry passes.

use sea_orm::entity::prelude::*;
use sea_orm::{Condition, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::crypto::{CryptoError, Keyring, bound_context};
use crate::domain::enums::IdentityKind;

/// What a hold covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum HoldScope {
    /// One data subject (by identity).
    #[sea_orm(string_value = "subject")]
    Subject,
    /// One table of a store.
    #[sea_orm(string_value = "table")]
    Table,
    /// A whole store.
    #[sea_orm(string_value = "store")]
    Store,
    /// Everything of the organization.
    #[sea_orm(string_value = "organization")]
    Organization,
}

impl HoldScope {
    /// The scope's stable name (the ledger entry's action).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Table => "table",
            Self::Store => "store",
            Self::Organization => "organization",
        }
    }
}

/// One legal hold.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "legal_holds")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// What it covers.
    pub scope: HoldScope,
    /// Subject holds: the identity's kind.
    pub identity_kind: Option<IdentityKind>,
    /// Subject holds: the normalised identity, AES-256-GCM-encrypted, bound to the hold.
    pub identity_ciphertext: Option<Vec<u8>>,
    /// Subject holds: the identity's blind index (matches requests' identities).
    pub blind_index: Option<String>,
    /// Store and table holds: the store.
    pub store_id: Option<Uuid>,
    /// Table holds: the table.
    pub table_name: Option<String>,
    /// Why, in words (shown to operators on a held request), encrypted ([`HoldText::Reason`]).
    pub reason_ciphertext: Vec<u8>,
    /// Who is responsible for the hold.
    pub owner: String,
    /// The matter (case) reference, encrypted ([`HoldText::Matter`]).
    pub matter_ciphertext: Option<Vec<u8>>,
    /// When it lapses on its own, if ever.
    pub expires_at: Option<TimeDateTimeWithTimeZone>,
    /// The operator who placed it.
    pub placed_by: Option<Uuid>,
    /// When.
    pub placed_at: TimeDateTimeWithTimeZone,
    /// When it was released.
    pub released_at: Option<TimeDateTimeWithTimeZone>,
    /// Who released it.
    pub released_by: Option<Uuid>,
    /// Why, encrypted ([`HoldText::ReleaseReason`]).
    pub release_reason_ciphertext: Option<Vec<u8>>,
    /// Expiry warnings queued for the owner: 0 none, 1 the 7-day one, 2 the 1-day one.
    pub expiry_warnings: i16,
    /// Expiry warnings actually sent (as `expiry_warnings`).
    pub expiry_warnings_sent: i16,
}

/// The first expiry warning goes to the owner this long before the hold expires.
pub const WARN_FIRST: time::Duration = time::Duration::days(7);
/// The last expiry warning goes this long before.
pub const WARN_LAST: time::Duration = time::Duration::days(1);

/// Relations of a hold.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data a held identity's ciphertext is bound to.
fn context(organization: Uuid, hold: Uuid, kind: IdentityKind) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(56);
    ctx.extend_from_slice(b"legal-hold-identity\0");
    ctx.extend_from_slice(organization.as_bytes());
    ctx.extend_from_slice(hold.as_bytes());
    ctx.extend_from_slice(kind.as_str().as_bytes());
    ctx
}

/// A hold's free texts: people type them and they may name people (a matter is often a case
/// name), so each is stored encrypted, bound to the hold and to which text it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldText {
    /// Why the hold was placed.
    Reason,
    /// The matter (case) reference.
    Matter,
    /// Why it was released.
    ReleaseReason,
}

impl HoldText {
    /// The associated data this text of hold `hold` is encrypted under.
    pub fn context(self, organization: Uuid, hold: Uuid) -> Vec<u8> {
        let label = match self {
            Self::Reason => "legal-hold-reason",
            Self::Matter => "legal-hold-matter",
            Self::ReleaseReason => "legal-hold-release-reason",
        };
        bound_context(label, &[organization, hold])
    }

    /// Encrypts `text` as this text of hold `hold`.
    pub fn seal(self, keyring: &Keyring, organization: Uuid, hold: Uuid, text: &str) -> Vec<u8> {
        keyring.seal_text(text, &self.context(organization, hold))
    }

    fn open(self, keyring: &Keyring, hold: &Model, blob: &[u8]) -> Result<String, CryptoError> {
        keyring.open_text(blob, &self.context(hold.organization_id, hold.id))
    }
}

/// Encrypts the normalised identity of subject hold `hold`.
pub fn seal_identity(
    keyring: &Keyring,
    organization: Uuid,
    hold: Uuid,
    kind: IdentityKind,
    normalised: &str,
) -> Vec<u8> {
    keyring.encrypt(normalised.as_bytes(), &context(organization, hold, kind))
}

impl Model {
    /// The webhook announcement of an event of this hold (`hold.placed`, `hold.released`,
    /// `hold.expiring`): its id, scope, store and expiry, never the subject's identity or the
    /// matter.
    pub fn announcement(&self, event_type: crate::webhook::EventType) -> crate::webhook::Announcement {
        let data = serde_json::json!({
            "hold_id": self.id,
            "scope": self.scope,
            "store_id": self.store_id,
            "expires_at": self.expires_at.map(|at| at.unix_timestamp()),
        });
        crate::webhook::Announcement::new(self.organization_id, event_type, None, data)
    }

    /// Whether the hold is in force at `now`.
    pub fn is_active(&self, now: TimeDateTimeWithTimeZone) -> bool {
        self.released_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }

    /// Whether the hold covers all of `table` in `store` (the organization, the store or the
    /// table is held).
    pub fn covers_table(&self, store: Uuid, table: &str) -> bool {
        match self.scope {
            HoldScope::Organization => true,
            HoldScope::Store => self.store_id == Some(store),
            HoldScope::Table => self.store_id == Some(store) && self.table_name.as_deref() == Some(table),
            HoldScope::Subject => false,
        }
    }

    /// A subject hold's identity: kind and normalised value.
    pub fn identity(&self, keyring: &Keyring) -> Result<Option<(IdentityKind, String)>, CryptoError> {
        let (Some(kind), Some(blob)) = (self.identity_kind, &self.identity_ciphertext) else { return Ok(None) };
        Ok(Some((kind, keyring.open_text(blob, &context(self.organization_id, self.id, kind))?)))
    }

    /// Why the hold was placed, decrypted.
    pub fn reason(&self, keyring: &Keyring) -> Result<String, CryptoError> {
        HoldText::Reason.open(keyring, self, &self.reason_ciphertext)
    }

    /// The matter reference, decrypted.
    pub fn matter(&self, keyring: &Keyring) -> Result<Option<String>, CryptoError> {
        self.matter_ciphertext.as_deref().map(|blob| HoldText::Matter.open(keyring, self, blob)).transpose()
    }

    /// Why the hold was released, decrypted.
    pub fn release_reason(&self, keyring: &Keyring) -> Result<Option<String>, CryptoError> {
        let blob = self.release_reason_ciphertext.as_deref();
        blob.map(|blob| HoldText::ReleaseReason.open(keyring, self, blob)).transpose()
    }

    /// The expiry warning due at `now`, if one is: `1` (the 7-day warning) from 7 days before
    /// `expires_at`, `2` (the 1-day warning) from 1 day before; only for an active hold and a
    /// warning not sent yet. A hold placed 3 days before its expiry gets the 7-day warning at
    /// once and the 1-day one when its time comes; one placed 12 hours before gets only the
    /// 1-day one.
    pub fn warning_due(&self, now: TimeDateTimeWithTimeZone) -> Option<i16> {
        let expires = self.expires_at.filter(|_| self.is_active(now))?;
        let left = expires - now;
        let due = if left <= WARN_LAST {
            2
        } else if left <= WARN_FIRST {
            1
        } else {
            0
        };
        (due > self.expiry_warnings).then_some(due)
    }

    /// Active holds of every organization that expire by `now` + 7 days and still owe their
    /// owner a warning (see [`Model::warning_due`]).
    pub async fn owing_warnings(db: &impl ConnectionTrait, now: TimeDateTimeWithTimeZone) -> Result<Vec<Self>, DbErr> {
        let holds = Entity::find()
            .filter(Column::ReleasedAt.is_null())
            .filter(Column::ExpiresAt.gt(now))
            .filter(Column::ExpiresAt.lte(now + WARN_FIRST))
            .filter(Column::ExpiryWarnings.lt(2))
            .order_by_asc(Column::ExpiresAt)
            .all(db)
            .await?;
        Ok(holds.into_iter().filter(|h| h.warning_due(now).is_some()).collect())
    }

    /// One hold of the organization.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find_by_id(id).filter(Column::OrganizationId.eq(organization)).one(db).await
    }

    /// The organization's holds, newest first (only those in force at `now` when `active`).
    pub async fn list(
        db: &impl ConnectionTrait,
        organization: Uuid,
        active: Option<TimeDateTimeWithTimeZone>,
    ) -> Result<Vec<Self>, DbErr> {
        let mut query = Entity::find().filter(Column::OrganizationId.eq(organization));
        if let Some(now) = active {
            query = query
                .filter(Column::ReleasedAt.is_null())
                .filter(Condition::any().add(Column::ExpiresAt.is_null()).add(Column::ExpiresAt.gt(now)));
        }
        query.order_by_desc(Column::PlacedAt).order_by_desc(Column::Id).all(db).await
    }
}
