//! SQL stores (PostgreSQL, MySQL/MariaDB, SQLite) through sea-orm: the connection (to what
//! [`pin`] checked against the target policy) and its cached schema here; the connector's work
//! in [`fetch`] and [`locate`] (locating), [`introspect`] and [`discover`], [`plan`] and
//! [`erase`] (erasure, with [`refusal`] for a statement the store refuses), [`receipts`] (settling intents), [`retention`] and [`purge`] (retention
//! runs and previews).

pub mod discover;
pub mod erase;
pub mod fetch;
pub mod introspect;
pub mod locate;
pub mod pin;
pub mod plan;
pub mod purge;
pub mod receipts;
mod refusal;
pub mod retention;
pub mod schema_cache;
pub mod shared;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lethe_entities::StoreKind;
use sea_orm::sqlx::pool::PoolOptions;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, RuntimeErr, sqlx};
use tokio::sync::OnceCell;

use self::pin::Pin;
use self::schema_cache::SchemaCache;
use super::StoreError;
use super::schema::Schema;
use crate::targets::{TargetError, TargetPolicy};

/// A pooled connection to one SQL store, with its schema cached.
#[derive(Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
    kind: StoreKind,
    file: Option<PathBuf>,
    schema: SchemaCache,
    receipts: Arc<OnceCell<()>>,
}

impl SqlStore {
    /// Connects (a small pool: Lethe must never crowd a customer's database) to the file or
    /// address the target policy allows ([`pin`]); a SQLite file is checked again for every
    /// connection the pool opens.
    pub async fn connect(policy: &TargetPolicy, kind: StoreKind, url: &str) -> Result<Self, StoreError> {
        super::check_url(kind, url)?;
        let pinned = pin::pin(policy, kind, url).await?;
        let url = url.strip_prefix("mariadb://").map_or_else(|| url.to_owned(), |rest| format!("mysql://{rest}"));
        let mut options = ConnectOptions::new(url);
        options
            .sqlx_logging(false)
            .max_connections(4)
            .min_connections(0)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Duration::from_secs(300));
        let file = match &pinned {
            Pin::File(file) => Some(file.clone()),
            _ => None,
        };
        match pinned {
            Pin::File(file) => {
                options.map_sqlx_sqlite_pool_opts(recheck(Arc::new(policy.clone()), file.clone()));
                options.map_sqlx_sqlite_opts(move |o| {
                    o.filename(&file).busy_timeout(Duration::from_secs(10)).create_if_missing(false)
                });
            }
            Pin::Memory => {
                options.map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_secs(10)).create_if_missing(false));
            }
            Pin::Host(Some(ip)) if kind == StoreKind::Postgres => {
                options.map_sqlx_postgres_opts(move |o| o.host(&ip));
            }
            Pin::Host(Some(ip)) => {
                options.map_sqlx_mysql_opts(move |o| o.host(&ip));
            }
            Pin::Host(None) => {}
        }
        let db = Database::connect(options).await.map_err(classify)?;
        Ok(Self { db, kind, file, schema: SchemaCache::default(), receipts: Arc::new(OnceCell::new()) })
    }

    /// Checks a SQLite store's file against the policy again (before a connector is reused:
    /// the file may have been replaced by a symlink since it was opened).
    pub fn recheck(&self, policy: &TargetPolicy) -> Result<(), StoreError> {
        match &self.file {
            Some(file) => Ok(policy.recheck_file(file)?),
            None => Ok(()),
        }
    }

    /// The connection (for the ledger's intent protocol, which runs the store's transaction).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The store's kind.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// Checks the connection with a trivial query and reads the schema; returns the number of
    /// tables.
    pub async fn test(&self) -> Result<usize, StoreError> {
        self.db.execute_unprepared("SELECT 1").await.map_err(classify)?;
        Ok(self.fresh_schema().await?.tables.len())
    }

    /// The schema, read the first time and then again in the background once a minute
    /// ([`schema_cache`]).
    pub async fn schema(&self) -> Result<Arc<Schema>, StoreError> {
        self.schema.get(&self.db, self.kind).await.map_err(classify)
    }

    /// Creates the ledger's receipts table in the store if it does not exist, once per pooled
    /// connector (not before every erasure: the DDL costs a round trip and a catalog lock).
    pub async fn ensure_receipts(&self) -> Result<(), DbErr> {
        self.receipts.get_or_try_init(|| crate::ledger::receipts::ensure_table(&self.db)).await.map(|_| ())
    }

    /// Reads the schema now (after a change such as saving a data map or discovery).
    pub async fn fresh_schema(&self) -> Result<Arc<Schema>, StoreError> {
        self.schema.fresh(&self.db, self.kind).await.map_err(classify)
    }
}

/// A pool hook that checks a SQLite store's file again whenever the pool opens a connection
/// (the store's connector lives on; its file might have been replaced by a symlink since).
fn recheck(
    policy: Arc<TargetPolicy>,
    file: PathBuf,
) -> impl Fn(PoolOptions<sqlx::Sqlite>) -> PoolOptions<sqlx::Sqlite> + Send + Sync + 'static {
    move |pool| {
        let (policy, file) = (policy.clone(), file.clone());
        pool.after_connect(move |_, _| {
            let checked = policy.recheck_file(&file).map_err(|e| sqlx::Error::Configuration(Box::new(e)));
            Box::pin(std::future::ready(checked))
        })
    }
}

/// The SQLite result codes of a file that cannot be used as a database (I/O error, corrupt,
/// cannot open, not a database): one answer for all of them, so a tenant cannot tell a missing
/// file from an existing one that is not a database.
const SQLITE_UNUSABLE_FILE: [i64; 4] = [10, 11, 14, 26];

/// Reduces a driver error to a [`StoreError`] without passing its text on (driver messages can
/// quote credentials, host names or values; OS errors tell whether a file exists or a port is
/// open). What is dropped is logged: the error's kind and code, never its message.
pub fn classify(e: DbErr) -> StoreError {
    let sqlx_error = match &e {
        DbErr::Conn(RuntimeErr::SqlxError(s))
        | DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s)) => Some(s.clone()),
        _ => None,
    };
    let Some(inner) = sqlx_error else {
        tracing::warn!(kind = "other", "SQL store error");
        return match e {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => StoreError::Unreachable("could not connect"),
            _ => StoreError::Query("the database reported an error"),
        };
    };
    match inner.as_ref() {
        sqlx::Error::Io(io) => {
            tracing::warn!(kind = "io", io = ?io.kind(), os = ?io.raw_os_error(), "SQL store error");
            StoreError::Unreachable("could not connect")
        }
        sqlx::Error::Tls(_) => {
            tracing::warn!(kind = "tls", "SQL store error");
            StoreError::Unreachable("TLS handshake failed")
        }
        sqlx::Error::PoolTimedOut => StoreError::Unreachable("timed out connecting"),
        sqlx::Error::Configuration(e) => match e.downcast_ref::<TargetError>() {
            Some(refused) => refused.clone().into(),
            None => StoreError::Config("the URL is not valid for this database".into()),
        },
        sqlx::Error::Database(db) => database_error(db.as_ref()),
        _ => {
            tracing::warn!(kind = "driver", "SQL store error");
            StoreError::Query("the database driver failed")
        }
    }
}

/// Classifies an error the database reported, by its code (logged).
fn database_error(db: &dyn sqlx::error::DatabaseError) -> StoreError {
    // MySQL's SQLSTATEs are too coarse (unknown database is 42000, like a syntax error): use its
    // error number.
    let code = match db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        Some(mysql) => mysql.number().to_string(),
        None => db.code().map(|c| c.into_owned()).unwrap_or_default(),
    };
    tracing::warn!(kind = "database", %code, "SQL store error");
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && code.parse::<i64>().is_ok_and(|c| SQLITE_UNUSABLE_FILE.contains(&(c & 0xff)))
    {
        return StoreError::UNUSABLE_FILE;
    }
    match code.as_str() {
        // PostgreSQL: invalid password / authorization; MySQL: access denied.
        "28P01" | "28000" | "1045" | "1044" | "1698" => StoreError::AuthFailed,
        // PostgreSQL: invalid catalog name; MySQL: unknown database.
        "3D000" | "1049" => StoreError::UnknownDatabase,
        _ => StoreError::Query("the database reported an error"),
    }
}
