//! Rows of the deletion ledger (append-only: the database refuses UPDATE and DELETE).

use sea_orm::entity::prelude::*;

use crate::ledger::entry::{Entry, EntryRecord, SubjectRef, to_hex};

/// One stored entry. See [`crate::ledger::entry`] for what each field means and how it is hashed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    /// Tenant (each organization has its own ledger).
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// Position, from 0.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// Microseconds since the Unix epoch.
    pub recorded_at_us: i64,
    /// Entry kind.
    pub kind: String,
    /// Causing request.
    pub request_id: Option<Uuid>,
    /// Causing retention policy.
    pub policy_id: Option<Uuid>,
    /// Store name.
    pub store: Option<String>,
    /// Table, collection or key pattern.
    pub table_name: Option<String>,
    /// Action applied.
    pub action: Option<String>,
    /// Rows touched.
    pub row_count: i64,
    /// Subject references, 32 bytes each, concatenated.
    pub subject_refs: Vec<u8>,
    /// Leaf hash of the previous entry.
    pub prev_hash: Vec<u8>,
    /// This entry's leaf hash.
    pub leaf_hash: Vec<u8>,
}

/// Relations of an entry.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The JSON form, carrying the leaf hash as stored (so an altered row is pinpointed by the
    /// verifier rather than silently rehashed).
    pub fn to_record(&self) -> EntryRecord {
        let mut record = self.to_entry().to_record();
        record.leaf_hash = to_hex(&self.leaf_hash);
        record
    }

    /// The hashed entry this row stores.
    pub fn to_entry(&self) -> Entry {
        Entry {
            seq: self.seq as u64,
            recorded_at_us: self.recorded_at_us,
            organization_id: self.organization_id,
            kind: self.kind.clone(),
            request_id: self.request_id,
            policy_id: self.policy_id,
            store: self.store.clone(),
            table: self.table_name.clone(),
            action: self.action.clone(),
            row_count: self.row_count as u64,
            subject_refs: split_refs(&self.subject_refs),
            prev_hash: self.prev_hash.as_slice().try_into().unwrap_or([0; 32]),
        }
    }
}

/// Splits concatenated 32-byte subject references.
pub fn split_refs(bytes: &[u8]) -> Vec<SubjectRef> {
    bytes.chunks_exact(32).map(|c| c.try_into().expect("32-byte chunk")).collect()
}

/// Concatenates subject references.
pub fn join_refs(refs: &[SubjectRef]) -> Vec<u8> {
    refs.concat()
}
