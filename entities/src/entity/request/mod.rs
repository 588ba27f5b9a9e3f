//! Data-subject requests, their lifecycle operations and listing.

mod list;
mod transition;

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::domain::crypto::{CryptoError, Keyring, bound_context};
use crate::domain::enums::{Regime, RequestKind, RequestState};

pub use list::{ListFilter, Page};
pub use transition::{Actor, LifecycleError};

/// A data-subject request. Personal data lives only in `subject_identities` (encrypted),
/// `message_ciphertext` and the operators' reasons (encrypted); the rest of the row is safe to
/// show to any operator of the tenant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "requests")]
pub struct Model {
    /// Primary key (UUID v7: sortable by creation).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// What is asked for.
    pub kind: RequestKind,
    /// The law that sets the deadlines.
    pub regime: Regime,
    /// Current lifecycle state.
    pub state: RequestState,
    /// While on hold: the state to resume into.
    pub held_from: Option<RequestState>,
    /// Blind index of the requester's e-mail, for lookups and duplicate detection.
    pub email_index: String,
    /// Keyed digest of the status token handed to the requester.
    pub status_token_digest: String,
    /// When the request was received: the legal clock starts here.
    pub received_at: TimeDateTimeWithTimeZone,
    /// When the answer is due (after any extension).
    pub due_at: TimeDateTimeWithTimeZone,
    /// The due date before any extension.
    pub original_due_at: TimeDateTimeWithTimeZone,
    /// When the acknowledgement is due (CCPA).
    pub acknowledgement_due_at: Option<TimeDateTimeWithTimeZone>,
    /// When the deadline was extended (at most once).
    pub extended_at: Option<TimeDateTimeWithTimeZone>,
    /// Why the deadline was extended, encrypted ([`Model::extension_reason`]).
    pub extension_reason_ciphertext: Option<Vec<u8>>,
    /// When the requester proved control of the e-mail address.
    pub verified_at: Option<TimeDateTimeWithTimeZone>,
    /// Why the request was denied (`ground: detail`), encrypted ([`Model::denial_reason`]).
    pub denial_reason_ciphertext: Option<Vec<u8>>,
    /// When the request reached a terminal state.
    pub closed_at: Option<TimeDateTimeWithTimeZone>,
    /// The requester's optional message, encrypted like identities.
    pub message_ciphertext: Option<Vec<u8>>,
    /// The language the requester chose (`en`, `de`, `sv`): their e-mails are written in it.
    pub locale: String,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of a request.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a new request is made of when it is submitted.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// Its id.
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// Access, erasure, ...
    pub kind: RequestKind,
    /// The law it is answered under.
    pub regime: Regime,
    /// Blind index of the requester's e-mail address.
    pub email_index: String,
    /// Digest of the status token handed to the requester.
    pub status_token_digest: String,
    /// When it was received.
    pub received_at: TimeDateTimeWithTimeZone,
    /// When it must be answered.
    pub due_at: TimeDateTimeWithTimeZone,
    /// When it must be acknowledged, where the regime says so.
    pub acknowledgement_due_at: Option<TimeDateTimeWithTimeZone>,
    /// The requester's message, encrypted.
    pub message_ciphertext: Option<Vec<u8>>,
    /// The requester's language.
    pub locale: String,
}

impl ActiveModel {
    /// A new request in the lifecycle's first state, waiting for its requester's identity to be
    /// verified; every later state is reached through [`Model::apply_in`].
    pub fn submitted(new: Submitted) -> Self {
        Self {
            id: Set(new.id),
            organization_id: Set(new.organization_id),
            kind: Set(new.kind),
            regime: Set(new.regime),
            state: Set(RequestState::IdentityUnverified),
            held_from: Set(None),
            email_index: Set(new.email_index),
            status_token_digest: Set(new.status_token_digest),
            received_at: Set(new.received_at),
            due_at: Set(new.due_at),
            original_due_at: Set(new.due_at),
            acknowledgement_due_at: Set(new.acknowledgement_due_at),
            extended_at: Set(None),
            extension_reason_ciphertext: Set(None),
            verified_at: Set(None),
            denial_reason_ciphertext: Set(None),
            closed_at: Set(None),
            message_ciphertext: Set(new.message_ciphertext),
            locale: Set(new.locale),
            updated_at: Set(new.received_at),
        }
    }
}

impl Model {
    /// Finds a request of `organization` by id.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::OrganizationId.eq(organization)).filter(Column::Id.eq(id)).one(db).await
    }

    /// Whether the deadline has passed without the request being closed.
    pub fn is_overdue(&self, now: TimeDateTimeWithTimeZone) -> bool {
        !self.state.is_terminal() && self.due_at < now
    }

    /// The associated data the optional message is encrypted under.
    pub fn message_context(organization: Uuid, request: Uuid) -> Vec<u8> {
        let mut ctx = b"request-message\0".to_vec();
        ctx.extend_from_slice(organization.as_bytes());
        ctx.extend_from_slice(request.as_bytes());
        ctx
    }

    /// The associated data the denial reason is encrypted under.
    pub fn denial_reason_context(organization: Uuid, request: Uuid) -> Vec<u8> {
        bound_context("request-denial-reason", &[organization, request])
    }

    /// The associated data the extension reason is encrypted under.
    pub fn extension_reason_context(organization: Uuid, request: Uuid) -> Vec<u8> {
        bound_context("request-extension-reason", &[organization, request])
    }

    /// Why the request was denied (`ground: detail`), decrypted.
    pub fn denial_reason(&self, keyring: &Keyring) -> Result<Option<String>, CryptoError> {
        let context = Self::denial_reason_context(self.organization_id, self.id);
        self.denial_reason_ciphertext.as_deref().map(|blob| keyring.open_text(blob, &context)).transpose()
    }

    /// Why the deadline was extended, decrypted.
    pub fn extension_reason(&self, keyring: &Keyring) -> Result<Option<String>, CryptoError> {
        let context = Self::extension_reason_context(self.organization_id, self.id);
        self.extension_reason_ciphertext.as_deref().map(|blob| keyring.open_text(blob, &context)).transpose()
    }
}
