//! Each organization's ledger cursor: size, last leaf hash and Merkle frontier. The only mutable
//! ledger table; appends lock it, which serialises them per organization.

use sea_orm::entity::prelude::*;

/// One organization's head.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_heads")]
pub struct Model {
    /// Tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// Entries appended.
    pub tree_size: i64,
    /// Leaf hash of the last entry (zeros when empty).
    pub last_hash: Vec<u8>,
    /// Serialised [`crate::ledger::merkle::Frontier`].
    pub frontier: Vec<u8>,
    /// Tree size of the latest checkpoint.
    pub checkpointed_size: i64,
    /// When the latest checkpoint was signed (or the head created), microseconds.
    pub checkpointed_at_us: i64,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
