//! One module per table. Finders take the organization id: tenant scoping is not optional.

pub mod api_key;
pub mod drp_agent;
pub mod drp_request;
pub mod export;
pub mod idempotency_key;
pub mod ledger_checkpoint;
pub mod ledger_entry;
pub mod ledger_head;
pub mod ledger_intent;
pub mod ledger_key;
pub mod ledger_subject_ref;
pub mod ledger_tile;
pub mod legal_hold;
pub mod operator;
pub mod operator_event;
pub mod operator_recovery_code;
pub mod organization;
pub mod recipient_task;
pub mod request;
pub mod request_event;
pub mod retention_policy;
pub mod retention_run;
pub mod store;
pub mod store_task;
pub mod subject_identity;
pub mod task_return;
pub mod verification_challenge;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod webhook_event;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

/// Begins a transaction that will write.
///
/// On SQLite it is `BEGIN IMMEDIATE`: a deferred transaction that reads first cannot upgrade
/// to a writer once another connection has committed (`SQLITE_BUSY_SNAPSHOT`, returned at once
/// and not retried by the busy timeout), whereas an immediate one waits for the write lock up
/// front. On PostgreSQL it is an ordinary transaction.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// How a write transaction's commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The commit returns once it is on disk (PostgreSQL's default). For everything a caller
    /// is told is stored (API answers) and everything that must be durable before an effect
    /// outside Lethe's database: a ledger intent before a customer's store is touched, ledger
    /// entries (whose receipts the store then forgets).
    Durable,
    /// The commit returns before it is on disk (PostgreSQL `synchronous_commit = off` for this
    /// transaction; SQLite already runs with `synchronous = NORMAL`). Only for a job's own
    /// bookkeeping (task status, timeline, the request's transitions), which a crash of the
    /// database server may lose without harm: WAL order makes every later durable commit (the
    /// next intent, the queue's acknowledgement of the job) flush it too, and a job whose
    /// acknowledgement was lost runs again and redoes it. A crash of Lethe itself loses nothing:
    /// the server has the commit.
    Lazy,
}

/// Begins a write transaction ([`begin_write`]) committed as `commit` says.
pub async fn begin(db: &DatabaseConnection, commit: Commit) -> Result<DatabaseTransaction, DbErr> {
    let txn = begin_write(db).await?;
    if commit == Commit::Lazy && txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL synchronous_commit = off").await?;
    }
    Ok(txn)
}
