//! The lookup index from a subject reference to the ledger entries that carry it (append-only).

use sea_orm::entity::prelude::*;

/// One (subject reference, entry) pair.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_subject_refs")]
pub struct Model {
    /// Tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// The keyed pseudonym of an identity.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject_ref: Vec<u8>,
    /// The entry.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
