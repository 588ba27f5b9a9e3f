//! The request timeline: every state change and operator action, with who, when and why.
//!
//! Reasons and notes are what people type (an operator's note on a completed task, why a
//! request was denied, how a recipient was told) and may name people, so they are stored only
//! as AES-256-GCM ciphertext under the keyring, bound to the organization, the request and the
//! event ([`SealedReason`], [`Model::reason`]).

use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

use crate::domain::crypto::{CryptoError, Keyring, bound_context};
use crate::domain::enums::{ActorKind, EventKind, RequestState};

/// One event. Events are never updated or deleted. Actors are ids; the reason is encrypted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_events")]
pub struct Model {
    /// Primary key (UUID v7: ordered by time).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The request.
    pub request_id: Uuid,
    /// When it happened.
    pub at: TimeDateTimeWithTimeZone,
    /// Who did it.
    pub actor_kind: ActorKind,
    /// The operator or API key, when one acted.
    pub actor_id: Option<Uuid>,
    /// What happened.
    pub kind: EventKind,
    /// State before, for transitions.
    pub from_state: Option<RequestState>,
    /// State after, for transitions.
    pub to_state: Option<RequestState>,
    /// Why (required for denials, extensions and cancellations by operators), encrypted
    /// ([`reason_context`]).
    pub reason_ciphertext: Option<Vec<u8>>,
    /// Structured facts (e.g. the previous and new due dates, attempts left).
    pub detail: Option<Json>,
    /// The operator's or API key's client address, for the audit log (never a subject's).
    pub ip_address: Option<String>,
}

/// Relations of an event.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data an event's reason is encrypted under.
pub fn reason_context(organization: Uuid, request: Uuid, event: Uuid) -> Vec<u8> {
    bound_context("request-event-reason", &[organization, request, event])
}

/// A reason or note sealed for one new event: the event's id, chosen now so that the
/// ciphertext is bound to it, and the ciphertext. [`ActiveModel::record`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedReason {
    pub(crate) event: Uuid,
    pub(crate) ciphertext: Vec<u8>,
}

impl SealedReason {
    /// Encrypts `text` for a new event of `request`.
    pub fn seal(keyring: &Keyring, organization: Uuid, request: Uuid, text: &str) -> Self {
        let event = Uuid::now_v7();
        Self { event, ciphertext: keyring.seal_text(text, &reason_context(organization, request, event)) }
    }

    /// [`SealedReason::seal`] of the text, when there is one.
    pub fn seal_some(keyring: &Keyring, organization: Uuid, request: Uuid, text: Option<&str>) -> Option<Self> {
        text.map(|t| Self::seal(keyring, organization, request, t))
    }
}

impl Model {
    /// The reason, decrypted.
    pub fn reason(&self, keyring: &Keyring) -> Result<Option<String>, CryptoError> {
        let Some(blob) = &self.reason_ciphertext else { return Ok(None) };
        keyring.open_text(blob, &reason_context(self.organization_id, self.request_id, self.id)).map(Some)
    }

    /// The timeline of one request, oldest first.
    pub async fn timeline(db: &impl ConnectionTrait, organization: Uuid, request: Uuid) -> Result<Vec<Self>, DbErr> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::RequestId.eq(request))
            .order_by_asc(Column::Id)
            .all(db)
            .await
    }

    /// The audit log's share of `organization`'s timelines: events by operators and API keys
    /// with ids below `before` (all when `None`), newest first.
    pub async fn by_people(
        db: &impl ConnectionTrait,
        organization: Uuid,
        before: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<Self>, DbErr> {
        use sea_orm::QuerySelect;
        let mut query = Entity::find()
            .filter(Column::OrganizationId.eq(organization))
            .filter(Column::ActorKind.is_in([ActorKind::Operator, ActorKind::ApiKey]));
        if let Some(before) = before {
            query = query.filter(Column::Id.lt(before));
        }
        query.order_by_desc(Column::Id).limit(limit).all(db).await
    }
}
