//! Receipts: one row per intent in the customer's store, written in the same transaction as the
//! destruction. A receipt is the store's own testimony of whether the destruction committed and
//! how many rows it touched; recovery reads it instead of guessing.
//!
//! The table (`lethe_ledger_receipts`) is created on first use. Its primary key is the intent
//! id, which makes the receipt slot exclusive: whichever of the destruction's receipt and
//! recovery's `void` receipt is inserted first wins, and the other fails or does nothing.

use sea_orm::sea_query::{Alias, ColumnDef, Expr, ExprTrait, OnConflict, Query, Table};
use sea_orm::{ConnectionTrait, DbErr, RuntimeErr};
use uuid::Uuid;

/// The receipts table in the customer's store.
pub const TABLE: &str = "lethe_ledger_receipts";

const APPLIED: &str = "applied";
const VOID: &str = "void";

/// What the store says about an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// The destruction committed, touching this many rows.
    Applied {
        /// Rows touched.
        row_count: u64,
    },
    /// It did not, and now never will (the slot is taken).
    Void,
}

/// Creates the receipts table if it does not exist.
pub async fn ensure_table(store: &impl ConnectionTrait) -> Result<(), DbErr> {
    let stmt = Table::create()
        .table(Alias::new(TABLE))
        .if_not_exists()
        .col(ColumnDef::new(Alias::new("intent_id")).string_len(36).not_null().primary_key())
        .col(ColumnDef::new(Alias::new("outcome")).string_len(8).not_null())
        .col(ColumnDef::new(Alias::new("row_count")).big_integer().not_null())
        .col(ColumnDef::new(Alias::new("recorded_at_us")).big_integer().not_null())
        .to_owned();
    match store.execute(&stmt).await {
        Ok(_) => Ok(()),
        // The table exists now, so the same statement passes.
        Err(e) if lost_create_race(&e) => store.execute(&stmt).await.map(|_| ()),
        Err(e) => Err(e),
    }
}

/// PostgreSQL: of two sessions creating the table at the same moment, the one that loses sees
/// the winner's catalog rows instead of "already exists, skipping": a unique violation in
/// `pg_type` (23505), or the table's row type or the table already existing (42710, 42P07).
fn lost_create_race(e: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner))) = e else {
        return false;
    };
    let code = inner.as_database_error().and_then(|d| d.code().map(|c| c.into_owned()));
    matches!(code.as_deref(), Some("23505" | "42710" | "42P07"))
}

/// Writes the applied receipt inside the destruction's transaction. Fails (and so must roll the
/// transaction back) if recovery has already voided the intent.
pub async fn record(txn: &impl ConnectionTrait, intent: Uuid, row_count: u64) -> Result<(), DbErr> {
    let stmt = Query::insert()
        .into_table(Alias::new(TABLE))
        .columns([
            Alias::new("intent_id"),
            Alias::new("outcome"),
            Alias::new("row_count"),
            Alias::new("recorded_at_us"),
        ])
        .values_panic([
            intent.to_string().into(),
            APPLIED.into(),
            (row_count as i64).into(),
            lethe_entities::ledger::entry::now_micros().into(),
        ])
        .to_owned();
    txn.execute(&stmt).await.map(|_| ())
}

/// Writes several applied receipts in one statement inside the destruction's transaction.
pub async fn record_many(txn: &impl ConnectionTrait, receipts: &[(Uuid, u64)]) -> Result<(), DbErr> {
    if receipts.is_empty() {
        return Ok(());
    }
    let mut stmt = Query::insert();
    stmt.into_table(Alias::new(TABLE)).columns([
        Alias::new("intent_id"),
        Alias::new("outcome"),
        Alias::new("row_count"),
        Alias::new("recorded_at_us"),
    ]);
    let now = lethe_entities::ledger::entry::now_micros();
    for (intent, row_count) in receipts {
        stmt.values_panic([intent.to_string().into(), APPLIED.into(), (*row_count as i64).into(), now.into()]);
    }
    txn.execute(&stmt).await.map(|_| ())
}

/// Removes several applied receipts once their entries are in the ledger.
pub async fn forget_applied_many(store: &impl ConnectionTrait, intents: &[Uuid]) -> Result<(), DbErr> {
    let delete = Query::delete()
        .from_table(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("intent_id")).is_in(intents.iter().map(|i| i.to_string())))
        .and_where(Expr::col(Alias::new("outcome")).eq(APPLIED))
        .to_owned();
    store.execute(&delete).await.map(|_| ())
}

/// Settles the question for recovery: inserts a `void` receipt unless one exists, then reads
/// whichever receipt holds the slot.
pub async fn fence(store: &impl ConnectionTrait, intent: Uuid) -> Result<Receipt, DbErr> {
    let insert = Query::insert()
        .into_table(Alias::new(TABLE))
        .columns([
            Alias::new("intent_id"),
            Alias::new("outcome"),
            Alias::new("row_count"),
            Alias::new("recorded_at_us"),
        ])
        .values_panic([
            intent.to_string().into(),
            VOID.into(),
            0i64.into(),
            lethe_entities::ledger::entry::now_micros().into(),
        ])
        // `do_nothing_on`: MySQL has no `DO NOTHING` (plain `do_nothing` renders invalid SQL
        // there); it becomes `ON DUPLICATE KEY UPDATE intent_id = intent_id`.
        .on_conflict(OnConflict::column(Alias::new("intent_id")).do_nothing_on([Alias::new("intent_id")]).to_owned())
        .to_owned();
    store.execute(&insert).await?;
    read(store, intent).await?.ok_or_else(|| DbErr::RecordNotFound(format!("receipt of intent {intent}")))
}

/// Reads the receipt of an intent, if any.
pub async fn read(store: &impl ConnectionTrait, intent: Uuid) -> Result<Option<Receipt>, DbErr> {
    let select = Query::select()
        .columns([Alias::new("outcome"), Alias::new("row_count")])
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("intent_id")).eq(intent.to_string()))
        .to_owned();
    let Some(row) = store.query_one(&select).await? else { return Ok(None) };
    let outcome: String = row.try_get("", "outcome")?;
    let row_count: i64 = row.try_get("", "row_count")?;
    Ok(Some(if outcome == APPLIED { Receipt::Applied { row_count: row_count as u64 } } else { Receipt::Void }))
}

/// Removes an applied receipt once its entry is in the ledger. Void receipts are kept: they are
/// what stops a stalled transaction from committing later.
pub async fn forget_applied(store: &impl ConnectionTrait, intent: Uuid) -> Result<(), DbErr> {
    let delete = Query::delete()
        .from_table(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("intent_id")).eq(intent.to_string()))
        .and_where(Expr::col(Alias::new("outcome")).eq(APPLIED))
        .to_owned();
    store.execute(&delete).await.map(|_| ())
}
