//! Requests filed by authorized agents through the Data Rights Protocol: one row per Lethe
//! request (same id, which is the DRP `request_id`), with the agent that filed it, its own id
//! for it, the exercise as asked, a digest of the signed message (unique: a replay is refused),
//! and the status callback (encrypted) with where its delivery stands. The verification link an
//! agent passes on carries the request's status link token, which is derived, not stored
//! (`lethe_worker::portal_link`). Callbacks are level-triggered:
//! the worker sends the request's current status whenever it differs from the last one the agent
//! acknowledged, so a callback is never lost and the latest one is what arrives.

use sea_orm::entity::prelude::*;

use crate::domain::crypto::{CryptoError, Keyring, bound_context};

/// One request filed by an agent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "drp_requests")]
pub struct Model {
    /// The Lethe request's id, and the DRP `request_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The agent registration that filed it ([`super::drp_agent`]).
    pub agent_id: Uuid,
    /// The agent's own id for the request (`agent-request-id`).
    pub agent_request_id: Option<String>,
    /// The exercise as the agent named it (`deletion`, `access`, `sale:opt-out`, ...).
    pub exercise: String,
    /// SHA-256 of the signed message, hex: the same message twice is a replay.
    pub message_digest: String,
    /// The agent's `status_callback` URL, encrypted ([`Model::callback`]).
    pub callback_ciphertext: Option<Vec<u8>>,
    /// Whether callbacks may still be due (cleared once a final status was delivered).
    pub callback_open: bool,
    /// The status the current attempts are for (`status` or `status/reason`).
    pub callback_status: Option<String>,
    /// The last status the agent acknowledged with a 2xx.
    pub callback_sent: Option<String>,
    /// Failed attempts for `callback_status`.
    pub callback_attempts: i32,
    /// When the next attempt is due.
    pub callback_next_at: Option<TimeDateTimeWithTimeZone>,
    /// Why the last attempt failed (a stable code).
    pub callback_error: Option<String>,
    /// When it was filed.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of a DRP request.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data a DRP request's status callback is encrypted under.
pub fn callback_context(organization: Uuid, request: Uuid) -> Vec<u8> {
    bound_context("drp-callback", &[organization, request])
}

impl Model {
    /// The status callback URL, decrypted.
    pub fn callback(&self, keyring: &Keyring) -> Result<Option<String>, CryptoError> {
        self.callback_ciphertext
            .as_ref()
            .map(|c| keyring.open_text(c, &callback_context(self.organization_id, self.id)))
            .transpose()
    }
}
