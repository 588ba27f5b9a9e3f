//! One module per table. Finders take the organization id: tenant scoping is not optional.

pub mod api_key;
pub mod export;
pub mod ledger_checkpoint;
pub mod ledger_entry;
pub mod ledger_head;
pub mod ledger_intent;
pub mod ledger_key;
pub mod ledger_subject_ref;
pub mod ledger_tile;
pub mod legal_hold;
pub mod operator;
pub mod organization;
pub mod request;
pub mod request_event;
pub mod retention_policy;
pub mod retention_run;
pub mod store;
pub mod store_task;
pub mod subject_identity;
pub mod verification_challenge;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
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
