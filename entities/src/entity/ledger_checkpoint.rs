//! Signed tree heads (append-only).

use sea_orm::entity::prelude::*;

use crate::ledger::checkpoint::Checkpoint;

/// One stored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_checkpoints")]
pub struct Model {
    /// Tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// Entries covered.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tree_size: i64,
    /// Microseconds since the Unix epoch.
    pub signed_at_us: i64,
    /// Merkle root.
    pub root_hash: Vec<u8>,
    /// Signing key id.
    pub key_id: String,
    /// Ed25519 signature.
    pub signature: Vec<u8>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The checkpoint this row stores.
    pub fn to_checkpoint(&self) -> Checkpoint {
        Checkpoint {
            organization_id: self.organization_id,
            tree_size: self.tree_size as u64,
            signed_at_us: self.signed_at_us,
            root_hash: self.root_hash.as_slice().try_into().unwrap_or([0; 32]),
            key_id: self.key_id.clone(),
            signature: self.signature.as_slice().try_into().unwrap_or([0; 64]),
        }
    }
}
