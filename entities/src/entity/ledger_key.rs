//! The checkpoint-signing key, its private half encrypted under the master key.

use sea_orm::entity::prelude::*;

/// One key slot.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_keys")]
pub struct Model {
    /// What the key is for (`checkpoint-signing`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: String,
    /// Key id (see [`crate::ledger::checkpoint::key_id`]).
    pub key_id: String,
    /// Ed25519 public key, 32 bytes.
    pub public_key: Vec<u8>,
    /// The 32-byte private key, AES-256-GCM under the keyring.
    pub private_key_ciphertext: Vec<u8>,
    /// Microseconds since the Unix epoch.
    pub created_at_us: i64,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
