//! Connecting to Lethe's own database.

use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::private_fs;

/// Connects to `url` (`sqlite://...` or `postgres://...`).
///
/// SQLite gets a pool of several connections in WAL mode with a busy timeout and foreign keys
/// on, so the API and the worker can read while one of them writes; sea-orm's default of a
/// single connection would serialise everything. SQL statements are not logged: they can
/// carry personal data in bound values. The SQLite file and its side files are made
/// owner-only ([`private_fs`]); SQLite gives the `-wal` and `-shm` files it creates later the
/// database file's mode.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        options.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    } else {
        options.max_connections(16).min_connections(1);
    }
    let db = Database::connect(options).await?;
    if url.starts_with("sqlite:") {
        tighten_sqlite(url)?;
    }
    Ok(db)
}

/// Makes the SQLite database at `url` and its journal, WAL and shared-memory files
/// owner-only (those that exist: an in-memory database has none).
fn tighten_sqlite(url: &str) -> Result<(), DbErr> {
    let options: SqliteConnectOptions = url.parse().map_err(|e| DbErr::Custom(format!("{e}")))?;
    let file = options.get_filename();
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        private_fs::tighten_file(std::path::Path::new(&name))
            .map_err(|e| DbErr::Custom(format!("restricting {} to its owner: {e}", file.display())))?;
    }
    Ok(())
}
