//! Intents: how a destruction in a customer's store (another database, so no shared
//! transaction) still gets exactly one ledger entry with the exact count.
//!
//! 1. [`open`] records the planned entry as a `pending` intent in Lethe's database (committed).
//! 2. The store's transaction does the work and, in the same transaction, writes a *receipt*
//!    keyed by the intent id with the row count (the receipt lives in the store: see the
//!    worker's `ledger::receipts`).
//! 3. [`settle_applied`] appends the entry with the receipt's count and marks the intent
//!    `applied`, in one transaction.
//!
//! After a crash between 1 and 3, recovery asks the store: a receipt means the work committed
//! (settle with its count); no receipt means it did not, and recovery writes a `void` receipt
//! in its place, which fences off a late commit of the original transaction (its receipt insert
//! would collide), then [`settle_void`]s the intent. Settling is idempotent: a second settle of
//! the same intent changes nothing and appends nothing.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TryIntoModel,
};
use uuid::Uuid;

use super::LedgerError;
use super::append::{NewEntry, append};
use super::entry::{EntryKind, now_micros};
use crate::entity::ledger_entry::{join_refs, split_refs};
use crate::entity::ledger_intent::{self, Model as Intent};

/// Intent states.
pub mod state {
    /// Written, not yet settled.
    pub const PENDING: &str = "pending";
    /// The store's transaction committed; the entry is in the ledger.
    pub const APPLIED: &str = "applied";
    /// The store's transaction did not commit; nothing was destroyed, no entry.
    pub const VOID: &str = "void";
}

/// Records the planned entry (its `row_count` is ignored: the settled count comes from the
/// store) before the store's transaction starts. `entry.store` is required. `db` may be a
/// transaction (the intent then counts once it commits).
pub async fn open(
    db: &impl sea_orm::ConnectionTrait,
    organization: Uuid,
    entry: &NewEntry,
) -> Result<Intent, LedgerError> {
    entry.validate()?;
    let store = entry.store.clone().ok_or(LedgerError::Invalid("an intent needs a store"))?;
    let model = ledger_intent::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization),
        kind: Set(entry.kind.as_str().to_owned()),
        request_id: Set(entry.request_id),
        policy_id: Set(entry.policy_id),
        store: Set(store),
        table_name: Set(entry.table.clone()),
        action: Set(entry.action.clone()),
        subject_refs: Set(join_refs(&entry.subject_refs)),
        state: Set(state::PENDING.into()),
        row_count: Set(None),
        seq: Set(None),
        created_at_us: Set(now_micros()),
        settled_at_us: Set(None),
    };
    Ok(ledger_intent::Entity::insert(model).exec_with_returning(db).await?)
}

/// Records several planned entries of one organization as pending intents in one statement (a
/// store's erasure has one per table and action), in order.
pub async fn open_many(
    db: &DatabaseConnection,
    organization: Uuid,
    entries: &[NewEntry],
) -> Result<Vec<Intent>, LedgerError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_micros();
    let mut models = Vec::with_capacity(entries.len());
    for entry in entries {
        entry.validate()?;
        let store = entry.store.clone().ok_or(LedgerError::Invalid("an intent needs a store"))?;
        models.push(ledger_intent::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization),
            kind: Set(entry.kind.as_str().to_owned()),
            request_id: Set(entry.request_id),
            policy_id: Set(entry.policy_id),
            store: Set(store),
            table_name: Set(entry.table.clone()),
            action: Set(entry.action.clone()),
            subject_refs: Set(join_refs(&entry.subject_refs)),
            state: Set(state::PENDING.into()),
            row_count: Set(None),
            seq: Set(None),
            created_at_us: Set(now),
            settled_at_us: Set(None),
        });
    }
    // Every column is set here, so the rows as stored are the models as built: no read back.
    let opened = models.iter().cloned().map(TryIntoModel::try_into_model).collect::<Result<Vec<Intent>, _>>()?;
    ledger_intent::Entity::insert_many(models).exec(db).await?;
    Ok(opened)
}

/// Settles several intents whose store transaction committed, each with its row count, in one
/// transaction with one append (entries in the given order). Returns each intent's entry.
/// Intents already applied keep their entry; if another settler changes one of them at the
/// same moment, this falls back to settling them one by one.
pub async fn settle_applied_many(db: &DatabaseConnection, settled: &[(Uuid, u64)]) -> Result<Vec<u64>, LedgerError> {
    if settled.is_empty() {
        return Ok(Vec::new());
    }
    let txn = crate::entity::begin_write(db).await?;
    let ids: Vec<Uuid> = settled.iter().map(|(id, _)| *id).collect();
    let intents = ledger_intent::Entity::find().filter(ledger_intent::Column::Id.is_in(ids)).all(&txn).await?;
    let mut pending = Vec::new();
    for (id, rows) in settled {
        let intent = intents.iter().find(|i| i.id == *id).ok_or(LedgerError::IntentNotFound)?;
        if intent.state != state::APPLIED {
            pending.push((intent, *rows));
        }
    }
    let Some((first_intent, _)) = pending.first() else {
        drop(txn);
        return settled
            .iter()
            .map(|(id, _)| {
                let intent = intents.iter().find(|i| i.id == *id).ok_or(LedgerError::IntentNotFound)?;
                Ok(intent.seq.ok_or(LedgerError::Corrupt("applied intent without entry"))? as u64)
            })
            .collect();
    };
    let organization = first_intent.organization_id;
    let entries = entries_of(&pending)?;
    if pending.iter().any(|(i, _)| i.organization_id != organization) {
        return Err(LedgerError::Invalid("intents settled together belong to one organization"));
    }
    let appended = append(&txn, organization, &entries).await?;
    let changed = mark_applied(&txn, &pending, appended.first_seq).await?;
    if changed != pending.len() as u64 {
        // Someone else settled one of them: drop this append and settle one by one.
        drop(txn);
        let mut seqs = Vec::with_capacity(settled.len());
        for (id, rows) in settled {
            seqs.push(settle_applied(db, *id, *rows).await?);
        }
        return Ok(seqs);
    }
    txn.commit().await?;
    let mut seqs = Vec::with_capacity(settled.len());
    for (id, _) in settled {
        match pending.iter().position(|(i, _)| i.id == *id) {
            Some(offset) => seqs.push(appended.first_seq + offset as u64),
            None => {
                let intent = intents.iter().find(|i| i.id == *id).ok_or(LedgerError::IntentNotFound)?;
                seqs.push(intent.seq.ok_or(LedgerError::Corrupt("applied intent without entry"))? as u64);
            }
        }
    }
    Ok(seqs)
}

/// The ledger entries of intents whose store transactions committed, with their counts.
fn entries_of(pending: &[(&ledger_intent::Model, u64)]) -> Result<Vec<NewEntry>, LedgerError> {
    pending
        .iter()
        .map(|(intent, rows)| {
            Ok(NewEntry {
                kind: EntryKind::parse(&intent.kind).ok_or(LedgerError::Corrupt("intent kind"))?,
                request_id: intent.request_id,
                policy_id: intent.policy_id,
                store: Some(intent.store.clone()),
                table: intent.table_name.clone(),
                action: intent.action.clone(),
                row_count: *rows,
                subject_refs: split_refs(&intent.subject_refs),
            })
        })
        .collect()
}

/// Marks `pending` applied with their counts and entries (from `first_seq` on), in one
/// statement: each row by `CASE id`, and only if it is still in the state read before. Returns
/// the rows changed.
async fn mark_applied(
    txn: &DatabaseTransaction,
    pending: &[(&ledger_intent::Model, u64)],
    first_seq: u64,
) -> Result<u64, LedgerError> {
    // Every intent in one statement (the head is locked until the commit): its count and entry
    // by `CASE id`, and only if it is still in the state read above.
    let mut row_count = Expr::case(Expr::col(ledger_intent::Column::Id).eq(pending[0].0.id), pending[0].1 as i64);
    let mut seq = Expr::case(Expr::col(ledger_intent::Column::Id).eq(pending[0].0.id), first_seq as i64);
    for (offset, (intent, rows)) in pending.iter().enumerate().skip(1) {
        row_count = row_count.case(Expr::col(ledger_intent::Column::Id).eq(intent.id), *rows as i64);
        seq = seq.case(Expr::col(ledger_intent::Column::Id).eq(intent.id), (first_seq + offset as u64) as i64);
    }
    let unchanged = pending.iter().fold(Condition::any(), |any, (intent, _)| {
        any.add(
            Condition::all()
                .add(ledger_intent::Column::Id.eq(intent.id))
                .add(ledger_intent::Column::State.eq(intent.state.clone())),
        )
    });
    let result = ledger_intent::Entity::update_many()
        .col_expr(ledger_intent::Column::State, state::APPLIED.into())
        .col_expr(ledger_intent::Column::RowCount, row_count.into())
        .col_expr(ledger_intent::Column::Seq, seq.into())
        .col_expr(ledger_intent::Column::SettledAtUs, now_micros().into())
        .filter(unchanged)
        .exec(txn)
        .await?;
    Ok(result.rows_affected)
}

/// Settles an intent whose store transaction committed having touched `row_count` rows: appends
/// the entry and marks the intent applied, atomically. Returns the entry's sequence number.
/// Settling an already-applied intent returns its entry and appends nothing.
pub async fn settle_applied(db: &DatabaseConnection, intent_id: Uuid, row_count: u64) -> Result<u64, LedgerError> {
    let txn = crate::entity::begin_write(db).await?;
    match settle_applied_in(&txn, intent_id, row_count).await? {
        Some(seq) => {
            txn.commit().await?;
            Ok(seq)
        }
        None => {
            // Settled concurrently: drop our append with the transaction.
            drop(txn);
            let settled =
                ledger_intent::Entity::find_by_id(intent_id).one(db).await?.ok_or(LedgerError::IntentNotFound)?;
            settled.seq.map(|s| s as u64).ok_or(LedgerError::Corrupt("concurrently voided intent"))
        }
    }
}

/// [`settle_applied`] inside the caller's write transaction (begun with
/// [`crate::entity::begin_write`]), which the caller commits, so that the settlement can share
/// one commit with other writes. Returns the entry's sequence number, or `None` when the intent
/// was settled concurrently: the caller must then roll the transaction back (it holds a second
/// append) and read the intent again.
pub async fn settle_applied_in(
    txn: &DatabaseTransaction,
    intent_id: Uuid,
    row_count: u64,
) -> Result<Option<u64>, LedgerError> {
    let intent = ledger_intent::Entity::find_by_id(intent_id).one(txn).await?.ok_or(LedgerError::IntentNotFound)?;
    if let (state::APPLIED, Some(seq)) = (intent.state.as_str(), intent.seq) {
        return Ok(Some(seq as u64));
    }
    // A `void` intent cannot reach here through the receipt fence; if it ever did, the store's
    // commit is the truth and the destruction must be recorded.
    let entry = NewEntry {
        kind: EntryKind::parse(&intent.kind).ok_or(LedgerError::Corrupt("intent kind"))?,
        request_id: intent.request_id,
        policy_id: intent.policy_id,
        store: Some(intent.store.clone()),
        table: intent.table_name.clone(),
        action: intent.action.clone(),
        row_count,
        subject_refs: split_refs(&intent.subject_refs),
    };
    let appended = append(txn, intent.organization_id, std::slice::from_ref(&entry)).await?;
    let result = ledger_intent::Entity::update_many()
        .col_expr(ledger_intent::Column::State, state::APPLIED.into())
        .col_expr(ledger_intent::Column::RowCount, (row_count as i64).into())
        .col_expr(ledger_intent::Column::Seq, (appended.first_seq as i64).into())
        .col_expr(ledger_intent::Column::SettledAtUs, now_micros().into())
        .filter(ledger_intent::Column::Id.eq(intent_id))
        .filter(ledger_intent::Column::State.eq(intent.state))
        .exec(txn)
        .await?;
    Ok((result.rows_affected == 1).then_some(appended.first_seq))
}

/// Settles an intent whose store transaction is known never to commit (its receipt slot holds
/// a `void` receipt). No entry is appended. Idempotent.
pub async fn settle_void(db: &DatabaseConnection, intent_id: Uuid) -> Result<(), LedgerError> {
    ledger_intent::Entity::update_many()
        .col_expr(ledger_intent::Column::State, state::VOID.into())
        .col_expr(ledger_intent::Column::SettledAtUs, now_micros().into())
        .filter(ledger_intent::Column::Id.eq(intent_id))
        .filter(ledger_intent::Column::State.eq(state::PENDING))
        .exec(db)
        .await?;
    Ok(())
}

/// Pending intents created before `created_before_us`, oldest first, at most `limit`.
pub async fn pending(db: &DatabaseConnection, created_before_us: i64, limit: u64) -> Result<Vec<Intent>, LedgerError> {
    Ok(ledger_intent::Entity::find()
        .filter(ledger_intent::Column::State.eq(state::PENDING))
        .filter(ledger_intent::Column::CreatedAtUs.lt(created_before_us))
        .order_by_asc(ledger_intent::Column::CreatedAtUs)
        .limit(limit)
        .all(db)
        .await?)
}

/// Reads one intent.
pub async fn find(db: &DatabaseConnection, intent_id: Uuid) -> Result<Option<Intent>, LedgerError> {
    Ok(ledger_intent::Entity::find_by_id(intent_id).one(db).await?)
}
