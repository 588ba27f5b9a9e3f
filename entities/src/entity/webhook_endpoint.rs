//! An organization's webhook endpoints: where events are sent, which events, and the secrets
//! they are signed with. The URL (which may carry a token) and the secrets are stored only as
//! AES-256-GCM ciphertext, bound to the organization and the endpoint.

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use crate::domain::crypto::{CryptoError, Keyring, bound_context};
use crate::webhook::EventType;

/// Why an endpoint is disabled.
pub mod disabled {
    /// Its deliveries failed for longer than the retry schedule; its admins were e-mailed.
    pub const FAILING: &str = "failing";
    /// An admin disabled it.
    pub const BY_ADMIN: &str = "admin";
}

/// One endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The URL, encrypted ([`Model::url`]).
    pub url_ciphertext: Vec<u8>,
    /// What the admin calls it.
    pub description: Option<String>,
    /// The event types it wants (their names).
    pub event_types: Json,
    /// The signing secret (`whsec_...`), encrypted ([`Model::secrets`]).
    pub secret_ciphertext: Vec<u8>,
    /// The secret before the last rotation, still signed with until it expires.
    pub previous_secret_ciphertext: Option<Vec<u8>>,
    /// When the previous secret stops being used.
    pub previous_secret_expires_at: Option<TimeDateTimeWithTimeZone>,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Why it is disabled ([`disabled`]).
    pub disabled_reason: Option<String>,
    /// When it was disabled.
    pub disabled_at: Option<TimeDateTimeWithTimeZone>,
    /// Created.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last changed.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of an endpoint.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data an endpoint's URL is encrypted under.
pub fn url_context(organization: Uuid, endpoint: Uuid) -> Vec<u8> {
    bound_context("webhook-url", &[organization, endpoint])
}

/// The associated data an endpoint's secrets are encrypted under.
pub fn secret_context(organization: Uuid, endpoint: Uuid) -> Vec<u8> {
    bound_context("webhook-secret", &[organization, endpoint])
}

impl Model {
    /// The URL, decrypted.
    pub fn url(&self, keyring: &Keyring) -> Result<String, CryptoError> {
        keyring.open_text(&self.url_ciphertext, &url_context(self.organization_id, self.id))
    }

    /// The secrets to sign with at `now`: the current one, then the previous one while its
    /// overlap lasts.
    pub fn secrets(&self, keyring: &Keyring, now: TimeDateTimeWithTimeZone) -> Result<Vec<String>, CryptoError> {
        let context = secret_context(self.organization_id, self.id);
        let mut secrets = vec![keyring.open_text(&self.secret_ciphertext, &context)?];
        if let (Some(previous), Some(until)) = (&self.previous_secret_ciphertext, self.previous_secret_expires_at)
            && now < until
        {
            secrets.push(keyring.open_text(previous, &context)?);
        }
        Ok(secrets)
    }

    /// The event types it wants.
    pub fn event_type_list(&self) -> Vec<EventType> {
        self.event_types
            .as_array()
            .map(|names| names.iter().filter_map(|n| n.as_str().and_then(EventType::parse_subscribable)).collect())
            .unwrap_or_default()
    }

    /// Whether it wants events of `event_type` (a test ping is always wanted).
    pub fn wants(&self, event_type: &str) -> bool {
        event_type == EventType::Test.as_str()
            || self.event_types.as_array().is_some_and(|names| names.iter().any(|n| n.as_str() == Some(event_type)))
    }

    /// The endpoint `id` of `organization`.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find_by_id(id).filter(Column::OrganizationId.eq(organization)).one(db).await
    }

    /// The organization's endpoints, oldest first.
    pub async fn list(db: &impl ConnectionTrait, organization: Uuid) -> Result<Vec<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(db)
            .await
    }
}
