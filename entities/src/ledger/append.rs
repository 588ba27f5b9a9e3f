//! Appending entries. Call [`append`] inside the transaction that does the destruction (in
//! Lethe's own database), so that both commit or neither does. For work in a customer's store,
//! see [`super::intent`], which calls it when it settles.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QuerySelect};
use uuid::Uuid;

use super::LedgerError;
use super::entry::{Entry, EntryKind, MAX_NAME_LEN, MAX_SUBJECT_REFS, SubjectRef, now_micros};
use super::merkle::{Frontier, TILE_HEIGHT, leaf_hash};
use crate::entity::ledger_entry::join_refs;
use crate::entity::{ledger_entry, ledger_head, ledger_subject_ref, ledger_tile};

/// Rows per INSERT statement (SQLite allows at most 32766 bind parameters).
const INSERT_CHUNK: usize = 1_000;

/// An entry to append; the ledger assigns its sequence number, time and chain link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// What happened.
    pub kind: EntryKind,
    /// The request that caused it.
    pub request_id: Option<Uuid>,
    /// The retention policy that caused it.
    pub policy_id: Option<Uuid>,
    /// The store's name.
    pub store: Option<String>,
    /// The table, collection or key pattern.
    pub table: Option<String>,
    /// The action applied.
    pub action: Option<String>,
    /// Rows touched.
    pub row_count: u64,
    /// The subjects concerned.
    pub subject_refs: Vec<SubjectRef>,
}

impl NewEntry {
    /// An entry of `kind` with nothing else set.
    pub fn new(kind: EntryKind) -> Self {
        Self {
            kind,
            request_id: None,
            policy_id: None,
            store: None,
            table: None,
            action: None,
            row_count: 0,
            subject_refs: Vec::new(),
        }
    }

    /// Checks names are names: 1 to 128 characters, no control characters.
    pub fn validate(&self) -> Result<(), LedgerError> {
        for (field, value) in [("store", &self.store), ("table", &self.table), ("action", &self.action)] {
            if let Some(v) = value
                && (v.is_empty() || v.chars().count() > MAX_NAME_LEN || v.chars().any(char::is_control))
            {
                return Err(LedgerError::Invalid(match field {
                    "store" => "store must be 1-128 characters without control characters",
                    "table" => "table must be 1-128 characters without control characters",
                    _ => "action must be 1-128 characters without control characters",
                }));
            }
        }
        if self.subject_refs.len() > MAX_SUBJECT_REFS {
            return Err(LedgerError::Invalid("at most 16 subject references per entry"));
        }
        if i64::try_from(self.row_count).is_err() {
            return Err(LedgerError::Invalid("row_count is out of range"));
        }
        Ok(())
    }
}

/// Where appended entries landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Sequence number of the first entry appended.
    pub first_seq: u64,
    /// Tree size after the append.
    pub tree_size: u64,
}

/// Appends `entries` to the organization's ledger inside `txn` (which the caller commits).
///
/// The organization's head row is locked (`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the
/// transaction must have been begun with [`crate::entity::begin_write`]), so concurrent appends
/// serialise and the chain never forks. Entries are inserted in multi-row statements.
pub async fn append(
    txn: &DatabaseTransaction,
    organization: Uuid,
    entries: &[NewEntry],
) -> Result<Appended, LedgerError> {
    for e in entries {
        e.validate()?;
    }
    let now = now_micros();
    let head = lock_head(txn, organization, now).await?;
    let mut frontier = Frontier::from_bytes(&head.frontier).ok_or(LedgerError::Corrupt("head frontier"))?;
    let mut prev: [u8; 32] = head.last_hash.as_slice().try_into().map_err(|_| LedgerError::Corrupt("head hash"))?;
    if frontier.size() != head.tree_size as u64 {
        return Err(LedgerError::Corrupt("head size"));
    }
    let first_seq = frontier.size();
    if entries.is_empty() {
        return Ok(Appended { first_seq, tree_size: first_seq });
    }

    let mut batch = Batch::default();
    for e in entries {
        prev = batch.chain(&mut frontier, organization, now, e, prev);
    }
    batch.insert(txn).await?;
    let tree_size = frontier.size();
    ledger_head::Entity::update(ledger_head::ActiveModel {
        organization_id: Set(organization),
        tree_size: Set(tree_size as i64),
        last_hash: Set(prev.to_vec()),
        frontier: Set(frontier.to_bytes()),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    Ok(Appended { first_seq, tree_size })
}

/// Creates the organization's head if needed and locks it for the rest of `txn`.
pub(crate) async fn lock_head(
    txn: &DatabaseTransaction,
    organization: Uuid,
    now: i64,
) -> Result<ledger_head::Model, LedgerError> {
    ledger_head::Entity::insert(ledger_head::ActiveModel {
        organization_id: Set(organization),
        tree_size: Set(0),
        last_hash: Set(vec![0; 32]),
        frontier: Set(Frontier::new().to_bytes()),
        checkpointed_size: Set(0),
        checkpointed_at_us: Set(now),
    })
    .on_conflict(OnConflict::column(ledger_head::Column::OrganizationId).do_nothing().to_owned())
    .exec_without_returning(txn)
    .await?;
    let mut query = ledger_head::Entity::find_by_id(organization);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        query = query.lock_exclusive();
    }
    query.one(txn).await?.ok_or(LedgerError::Corrupt("head vanished"))
}

/// The rows one append writes: entries, subject references and completed tiles.
#[derive(Default)]
struct Batch {
    rows: Vec<ledger_entry::ActiveModel>,
    refs: Vec<ledger_subject_ref::ActiveModel>,
    tiles: Vec<ledger_tile::ActiveModel>,
    /// The encoding of the entry being chained (reused).
    scratch: Vec<u8>,
}

impl Batch {
    /// Chains `e` after `prev` (recorded at `now`): its entry row, its subject references, and
    /// any tile the frontier completes. Returns its leaf hash, the next entry's `prev`.
    fn chain(
        &mut self,
        frontier: &mut Frontier,
        organization: Uuid,
        now: i64,
        e: &NewEntry,
        prev: [u8; 32],
    ) -> [u8; 32] {
        let entry = Entry {
            seq: frontier.size(),
            recorded_at_us: now,
            organization_id: organization,
            kind: e.kind.as_str().to_owned(),
            request_id: e.request_id,
            policy_id: e.policy_id,
            store: e.store.clone(),
            table: e.table.clone(),
            action: e.action.clone(),
            row_count: e.row_count,
            subject_refs: e.subject_refs.clone(),
            prev_hash: prev,
        };
        self.scratch.clear();
        entry.encode_into(&mut self.scratch);
        let leaf = leaf_hash(&self.scratch);
        frontier.push_with(leaf, |height, idx, root| {
            if height == TILE_HEIGHT {
                self.tiles.push(ledger_tile::ActiveModel {
                    organization_id: Set(organization),
                    idx: Set(idx as i64),
                    hash: Set(root.to_vec()),
                });
            }
        });
        for r in &e.subject_refs {
            self.refs.push(ledger_subject_ref::ActiveModel {
                organization_id: Set(organization),
                subject_ref: Set(r.to_vec()),
                seq: Set(entry.seq as i64),
            });
        }
        self.rows.push(ledger_entry::ActiveModel {
            organization_id: Set(organization),
            seq: Set(entry.seq as i64),
            recorded_at_us: Set(now),
            kind: Set(entry.kind),
            request_id: Set(entry.request_id),
            policy_id: Set(entry.policy_id),
            store: Set(entry.store),
            table_name: Set(entry.table),
            action: Set(entry.action),
            row_count: Set(entry.row_count as i64),
            subject_refs: Set(join_refs(&entry.subject_refs)),
            prev_hash: Set(prev.to_vec()),
            leaf_hash: Set(leaf.to_vec()),
        });
        leaf
    }

    /// Inserts the rows in multi-row statements.
    async fn insert(mut self, txn: &DatabaseTransaction) -> Result<(), LedgerError> {
        while !self.rows.is_empty() {
            let rest = self.rows.split_off(self.rows.len().min(INSERT_CHUNK));
            ledger_entry::Entity::insert_many(std::mem::replace(&mut self.rows, rest))
                .exec_without_returning(txn)
                .await?;
        }
        while !self.refs.is_empty() {
            let rest = self.refs.split_off(self.refs.len().min(INSERT_CHUNK * 4));
            ledger_subject_ref::Entity::insert_many(std::mem::replace(&mut self.refs, rest))
                .on_conflict(
                    OnConflict::columns([
                        ledger_subject_ref::Column::OrganizationId,
                        ledger_subject_ref::Column::SubjectRef,
                        ledger_subject_ref::Column::Seq,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
        }
        if !self.tiles.is_empty() {
            ledger_tile::Entity::insert_many(self.tiles).exec_without_returning(txn).await?;
        }
        Ok(())
    }
}
