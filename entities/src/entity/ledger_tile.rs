//! Tiles: the Merkle root of each complete run of 256 entries (append-only), so proofs read a
//! few hundred hashes instead of every leaf.

use sea_orm::entity::prelude::*;

/// The root of entries `idx * 256 .. (idx + 1) * 256`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_tiles")]
pub struct Model {
    /// Tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// Tile index.
    #[sea_orm(primary_key, auto_increment = false)]
    pub idx: i64,
    /// Merkle root of the tile's 256 leaves.
    pub hash: Vec<u8>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
