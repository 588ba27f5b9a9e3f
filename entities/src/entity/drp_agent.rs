//! Authorized agents of the Data Rights Protocol 1.0, registered by an organization's admins:
//! the agent's id in the DRP directory, the organization's business id as the agent knows it
//! (the pair is unique in the installation: it finds the registration of a pair-wise key setup,
//! which has no token yet), the Ed25519 key the agent signs with, a contact (encrypted), and the
//! keyed digest of the bearer token the key setup issued.

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use crate::domain::crypto::{CryptoError, Keyring, bound_context};

/// One registered agent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "drp_agents")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The agent's id in the DRP directory (`agent-id` in its messages).
    pub agent_id: String,
    /// The organization's id as the agent knows it (`business-id` in its messages).
    pub business_id: String,
    /// The agent's name.
    pub name: String,
    /// The agent's Ed25519 public key (32 bytes).
    pub verify_key: Vec<u8>,
    /// Who to reach at the agent, encrypted ([`Model::contact`]).
    pub contact_ciphertext: Option<Vec<u8>>,
    /// Keyed digest of the bearer token issued by the latest pair-wise key setup.
    pub token_digest: Option<String>,
    /// When that token was issued.
    pub token_issued_at: Option<TimeDateTimeWithTimeZone>,
    /// The `issued-at` of the key setup that issued it: a new setup must be issued later, so a
    /// setup message replayed within its validity window issues nothing.
    pub setup_issued_at: Option<TimeDateTimeWithTimeZone>,
    /// A disabled agent's messages are refused.
    pub enabled: bool,
    /// When it was registered.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of an agent.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data an agent's contact is encrypted under.
pub fn contact_context(organization: Uuid, agent: Uuid) -> Vec<u8> {
    bound_context("drp-agent-contact", &[organization, agent])
}

/// The digest scope of agents' bearer tokens.
pub const TOKEN_SCOPE: &str = "drp-agent-token";

impl Model {
    /// The contact, decrypted.
    pub fn contact(&self, keyring: &Keyring) -> Result<Option<String>, CryptoError> {
        self.contact_ciphertext
            .as_ref()
            .map(|c| keyring.open_text(c, &contact_context(self.organization_id, self.id)))
            .transpose()
    }

    /// The key as the 32 bytes Ed25519 takes, if it is that long.
    pub fn key_bytes(&self) -> Option<[u8; 32]> {
        self.verify_key.as_slice().try_into().ok()
    }

    /// The agent `id` of `organization`.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find_by_id(id).filter(Column::OrganizationId.eq(organization)).one(db).await
    }

    /// The organization's agents, oldest first.
    pub async fn list(db: &impl ConnectionTrait, organization: Uuid) -> Result<Vec<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(db)
            .await
    }

    /// Every registration of the DRP agent `agent_id`, in any organization.
    pub async fn by_agent_id(db: &impl ConnectionTrait, agent_id: &str) -> Result<Vec<Self>, DbErr> {
        Entity::find().filter(Column::AgentId.eq(agent_id)).all(db).await
    }

    /// The registration whose bearer token has `digest`.
    pub async fn by_token(db: &impl ConnectionTrait, digest: &str) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::TokenDigest.eq(digest)).one(db).await
    }
}
