//! Intents: a planned ledger entry for work done in a customer's store, written before the
//! store's transaction and settled after it (see [`crate::ledger::intent`]).

use sea_orm::entity::prelude::*;

/// One intent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_intents")]
pub struct Model {
    /// Intent id; also the receipt key in the customer's store.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// Entry kind to append.
    pub kind: String,
    /// Causing request.
    pub request_id: Option<Uuid>,
    /// Causing retention policy.
    pub policy_id: Option<Uuid>,
    /// Store name.
    pub store: String,
    /// Table, collection or key pattern.
    pub table_name: Option<String>,
    /// Action.
    pub action: Option<String>,
    /// Subject references, concatenated.
    pub subject_refs: Vec<u8>,
    /// `pending`, `applied` or `void`.
    pub state: String,
    /// Rows the store's committed transaction touched (when applied).
    pub row_count: Option<i64>,
    /// The ledger entry written (when applied).
    pub seq: Option<i64>,
    /// Microseconds since the Unix epoch.
    pub created_at_us: i64,
    /// When it was settled.
    pub settled_at_us: Option<i64>,
}

/// Relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
