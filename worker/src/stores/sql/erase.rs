//! Executing an erasure plan in a SQL store: one transaction for the whole store, statements in
//! batches of primary keys, and one ledger entry per step through the intent/receipt protocol.
//!
//! 1. One intent per step is committed in Lethe's database (table, action, subject references).
//! 2. The store's transaction runs every step and writes each intent's receipt with the step's
//!    row count, then commits: the destruction and its receipts commit together or not at all.
//! 3. Each intent is settled from its receipt: the entry is appended with the store's own count.
//!
//! A failure inside the transaction rolls everything back and voids the intents (their receipt
//! slots are fenced, so the transaction can never commit later); a failure at commit leaves the
//! intents pending for recovery (see [`crate::erase::recover`]), which asks the store.

use std::collections::BTreeMap;

use lethe_entities::Keyring;
use lethe_entities::datamap::{ColumnAction, DataMap};
use lethe_entities::ledger::entry::EntryKind;
use lethe_entities::ledger::{NewEntry, intent};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, TransactionTrait};
use uuid::Uuid;

use super::fetch::{as_text, bind, table_ref};
use super::plan::{ColumnChange, Step, StepKind};
use super::{SqlStore, classify};
use crate::ledger::external::settle;
use crate::ledger::receipts;
use crate::stores::StoreError;
use crate::stores::erasure::{Applied, Context, EraseError};
use crate::stores::schema::{Schema, TableSchema};

/// Rows per statement.
pub const BATCH: usize = 200;

/// Erases the `located` rows (primary keys per table) the data map covers: plans the steps
/// against the live schema, then runs them with their ledger entries.
pub async fn erase_located(
    cx: &Context<'_>,
    store: &SqlStore,
    map: &DataMap,
    located: &BTreeMap<String, Vec<Vec<String>>>,
) -> Result<Vec<Applied>, EraseError> {
    let schema = store.schema().await.map_err(|e| EraseError::Store(e, "reading the schema".into()))?;
    let steps = super::plan::plan(map, &schema, located)
        .map_err(|reason| EraseError::Store(StoreError::Schema(reason), "planning the erasure".into()))?;
    erase(cx, store, &schema, &steps).await
}

/// Runs `steps` in `store`, with their ledger entries.
pub async fn erase(
    cx: &Context<'_>,
    store: &SqlStore,
    schema: &Schema,
    steps: &[Step],
) -> Result<Vec<Applied>, EraseError> {
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let db = store.connection();
    store.ensure_receipts().await.map_err(|e| EraseError::Store(classify(e), "preparing the receipts table".into()))?;
    let planned: Vec<NewEntry> = steps
        .iter()
        .map(|step| NewEntry {
            request_id: Some(cx.request),
            store: Some(cx.store.to_owned()),
            table: Some(step.table.clone()),
            action: Some(step.kind.action().to_owned()),
            subject_refs: cx.subject_refs.to_vec(),
            ..NewEntry::new(EntryKind::Erasure)
        })
        .collect();
    let intents: Vec<Uuid> =
        intent::open_many(cx.lethe, cx.organization, &planned).await?.into_iter().map(|i| i.id).collect();
    let txn = db.begin().await.map_err(|e| EraseError::Store(classify(e), "starting the transaction".into()))?;
    let mut counts = Vec::with_capacity(steps.len());
    for step in steps {
        let live = schema.tables.get(&step.table).cloned().unwrap_or_default();
        match run_step(cx, &txn, &live, step).await {
            Ok(rows) => counts.push(rows),
            Err(e) => {
                drop(txn);
                let what = format!("{} `{}`", step.kind.action(), step.table);
                void_all(cx, store, &intents).await?;
                let error = match super::refusal::explain(store, &e, step).await {
                    Some(refused) => refused,
                    None => classify(e),
                };
                return Err(EraseError::Store(error, what));
            }
        }
    }
    let receipts: Vec<(Uuid, u64)> = intents.iter().copied().zip(counts.iter().copied()).collect();
    if let Err(e) = receipts::record_many(&txn, &receipts).await {
        // A receipt slot taken: recovery voided these intents; nothing may commit.
        drop(txn);
        void_all(cx, store, &intents).await?;
        return Err(EraseError::Store(classify(e), "writing the receipts".into()));
    }
    if let Err(e) = txn.commit().await {
        // Unknown outcome: recovery will ask the store for the receipts.
        return Err(EraseError::Unknown(classify(e)));
    }
    let seqs = cx.settlements.settle(cx.lethe, cx.organization, receipts).await?;
    // Tidying the settled receipts is off the erasure's path: if it fails or never runs, the
    // intents are settled and their receipts are not looked at again.
    let store_db = db.clone();
    tokio::spawn(async move {
        if let Err(e) = receipts::forget_applied_many(&store_db, &intents).await {
            tracing::warn!(error = %e, "could not remove settled receipts");
        }
    });
    Ok(steps
        .iter()
        .zip(counts)
        .zip(seqs)
        .map(|((step, rows), seq)| Applied {
            table: step.table.clone(),
            action: step.kind.action(),
            rows,
            seq: Some(seq),
        })
        .collect())
}

/// Fences and voids every intent after a rolled-back transaction.
async fn void_all(cx: &Context<'_>, store: &SqlStore, intents: &[Uuid]) -> Result<(), EraseError> {
    for intent_id in intents {
        let receipt =
            receipts::fence(store.connection(), *intent_id).await.map_err(|e| EraseError::Unknown(classify(e)))?;
        settle(cx.lethe, store.connection(), *intent_id, receipt).await?;
    }
    Ok(())
}

/// The condition selecting `rows` by primary key.
pub(crate) fn by_key(live: &TableSchema, primary_key: &[String], rows: &[Vec<String>]) -> Condition {
    if let [column] = primary_key {
        return Condition::all()
            .add(Expr::col(Alias::new(column)).is_in(rows.iter().map(|r| bind(live, column, &r[0]))));
    }
    rows.iter().fold(Condition::any(), |any, row| {
        any.add(primary_key.iter().zip(row).fold(Condition::all(), |all, (column, value)| {
            all.add(Expr::col(Alias::new(column)).eq(bind(live, column, value)))
        }))
    })
}

/// Runs one step in batches; returns the rows touched.
async fn run_step(cx: &Context<'_>, txn: &DatabaseTransaction, live: &TableSchema, step: &Step) -> Result<u64, DbErr> {
    let mut total = 0;
    for rows in step.rows.chunks(BATCH) {
        let cond = by_key(live, &step.primary_key, rows);
        total += match &step.kind {
            StepKind::Delete => {
                let stmt = Query::delete().from_table(table_ref(&step.table)).cond_where(cond).to_owned();
                txn.execute(&stmt).await?.rows_affected()
            }
            StepKind::BreakCycle(column) => {
                let stmt = Query::update()
                    .table(table_ref(&step.table))
                    .value(Alias::new(column), Expr::null())
                    .cond_where(cond)
                    .to_owned();
                txn.execute(&stmt).await?.rows_affected()
            }
            StepKind::Update(changes) | StepKind::Pseudonymise { changes, .. } => {
                update(cx.keyring, cx.organization, txn, live, step, cond, changes).await?
            }
        };
    }
    Ok(total)
}

/// Applies column changes to one batch: `null` and `redact` in one statement, `hash` with one
/// statement per distinct value (the pseudonym depends on the value, keyed per `organization`).
/// Returns the rows touched. Retention's anonymisation uses it too.
pub(crate) async fn update(
    keyring: &Keyring,
    organization: Uuid,
    txn: &DatabaseTransaction,
    live: &TableSchema,
    step: &Step,
    cond: Condition,
    changes: &[ColumnChange],
) -> Result<u64, DbErr> {
    let plain: Vec<&ColumnChange> = changes.iter().filter(|c| c.action != ColumnAction::Hash).collect();
    let hashed: Vec<&ColumnChange> = changes.iter().filter(|c| c.action == ColumnAction::Hash).collect();
    let mut touched = None;
    if !plain.is_empty() {
        let mut stmt = Query::update();
        stmt.table(table_ref(&step.table));
        for change in &plain {
            let value = match change.action {
                ColumnAction::Redact => bind(live, &change.column, &change.redact_with),
                _ => Expr::null(),
            };
            stmt.value(Alias::new(&change.column), value);
        }
        stmt.cond_where(cond.clone());
        touched = Some(txn.execute(&stmt).await?.rows_affected());
    }
    for change in hashed {
        // Current values of the batch, grouped: one UPDATE per distinct value.
        let mut select = Query::select();
        for (i, column) in step.primary_key.iter().enumerate() {
            select.expr_as(as_text(kind_of(txn), column), Alias::new(format!("k{i}")));
        }
        select.expr_as(as_text(kind_of(txn), &change.column), Alias::new("v"));
        select.from(table_ref(&step.table)).cond_where(cond.clone());
        let mut by_value: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for row in txn.query_all(&select).await? {
            let Some(value) = row.try_get::<Option<String>>("", "v")? else { continue };
            let mut key = Vec::with_capacity(step.primary_key.len());
            for i in 0..step.primary_key.len() {
                key.push(row.try_get::<Option<String>>("", &format!("k{i}"))?.unwrap_or_default());
            }
            by_value.entry(value).or_default().push(key);
        }
        let mut hashed_rows = 0;
        for (value, keys) in by_value {
            let pseudonym = keyring.pseudonym(organization, &value);
            let stmt = Query::update()
                .table(table_ref(&step.table))
                .value(Alias::new(&change.column), bind(live, &change.column, &pseudonym))
                .cond_where(by_key(live, &step.primary_key, &keys))
                .to_owned();
            hashed_rows += txn.execute(&stmt).await?.rows_affected();
        }
        touched.get_or_insert(hashed_rows);
    }
    Ok(touched.unwrap_or(0))
}

fn kind_of(txn: &DatabaseTransaction) -> lethe_entities::StoreKind {
    match txn.get_database_backend() {
        sea_orm::DatabaseBackend::MySql => lethe_entities::StoreKind::Mysql,
        sea_orm::DatabaseBackend::Postgres => lethe_entities::StoreKind::Postgres,
        _ => lethe_entities::StoreKind::Sqlite,
    }
}
