//! The job queue: apalis storage in Lethe's own database (SQLite or PostgreSQL).
//!
//! Queue names are set explicitly per job (never the Rust type name, which changes with a
//! rename). Enqueueing takes an idempotency key: enqueueing the same key twice creates one job,
//! on both backends, so the API and the reconciler can both enqueue without coordination.
//! What each job carries is in [`payload`]; why jobs are enqueued, and their keys, in
//! [`follow_up`]: nothing else builds a key. Each job enqueued here wakes its queue's worker
//! ([`wake`]) after its commit; workers fetch through [`fetch`], and on PostgreSQL other
//! processes' jobs reach them through [`listen`].

pub mod claim;
pub mod fetch;
pub mod follow_up;
pub mod listen;
pub mod payload;
pub mod wake;

pub use follow_up::{FollowUp, Fulfil};
pub use payload::{
    Alert, Notice, RunRetention, SendAlert, SendHoldWarning, SendNotice, SendVerificationCode, StartFulfilment,
};

use apalis::prelude::{TaskBuilder, TaskSink, TaskSinkError};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The whole second (Unix time) a job enqueued at `now` to run `delay` later becomes due, and
/// how long from `now` that is. apalis keeps a job's time in whole seconds: rounded down (as
/// `TaskBuilder::run_after` does), a job ran up to a second before its delay had passed, and a
/// job that checked a deadline found it not yet reached; rounded up, it never runs early.
fn due_second(now: std::time::SystemTime, delay: std::time::Duration) -> (u64, std::time::Duration) {
    let since_epoch = (now + delay).duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let due = since_epoch.as_secs() + u64::from(since_epoch.subsec_nanos() > 0);
    let now_since_epoch = now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (due, std::time::Duration::from_secs(due).saturating_sub(now_since_epoch))
}

/// A job type: its payload and the queue it runs on.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The queue name, stable across renames.
    const QUEUE: &'static str;
    /// How many times the job is attempted before it is left failed.
    const MAX_ATTEMPTS: usize;
}

/// Queue failures.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue's tables could not be created or migrated.
    #[error("job queue setup failed: {0}")]
    Setup(String),
    /// A job could not be stored.
    #[error("job could not be enqueued: {0}")]
    Push(String),
    /// Reading queue statistics failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// The database the queue lives in.
#[derive(Clone, Debug)]
pub enum QueueDb {
    /// Jobs live in the SQLite database (`Jobs` table).
    Sqlite(apalis_sqlite::SqlitePool),
    /// Jobs live in PostgreSQL (`apalis.jobs`), shared by every worker process.
    Postgres(apalis_postgres::PgPool),
}

/// A handle to enqueue jobs, bound to one database and to the wake-ups of the workers of this
/// engine (the API and the workers of one engine share it).
#[derive(Clone, Debug)]
pub struct JobQueue {
    /// Where the jobs live.
    pub db: QueueDb,
    /// Wakes this process's workers when a job becomes due.
    pub wake: wake::Wake,
}

/// Number of jobs of one queue in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStat {
    /// Queue name.
    pub queue: String,
    /// apalis status (`Pending`, `Queued`, `Running`, `Done`, `Failed`, `Killed`).
    pub status: String,
    /// How many.
    pub count: i64,
}

impl JobQueue {
    /// The queue stored in the same database as `db`, sharing its connection pool.
    pub fn for_database(db: &DatabaseConnection) -> Self {
        let db = match db.get_database_backend() {
            DatabaseBackend::Postgres => QueueDb::Postgres(db.get_postgres_connection_pool().clone()),
            _ => QueueDb::Sqlite(db.get_sqlite_connection_pool().clone()),
        };
        Self { db, wake: wake::Wake::default() }
    }

    /// Creates or migrates the queue's tables. Idempotent.
    pub async fn setup(&self) -> Result<(), QueueError> {
        let result = match &self.db {
            QueueDb::Sqlite(pool) => SqliteStorage::<()>::migrations().run(pool).await,
            QueueDb::Postgres(pool) => PostgresStorage::<()>::migrations().run(pool).await,
        };
        result.map_err(|e| QueueError::Setup(e.to_string()))
    }

    /// Enqueues `job` once per `idempotency_key`, to run no sooner than `delay` from now, and
    /// wakes its worker when it is due.
    async fn enqueue_after<J: Job>(
        &self,
        job: J,
        idempotency_key: &str,
        delay: std::time::Duration,
    ) -> Result<(), QueueError> {
        let mut builder = TaskBuilder::new(job).idempotency_key(idempotency_key).max_attempts(J::MAX_ATTEMPTS);
        let mut wait = std::time::Duration::ZERO;
        if !delay.is_zero() {
            let (due, until) = due_second(std::time::SystemTime::now(), delay);
            builder = builder.run_at_timestamp(due);
            wait = until;
        }
        let task = builder.build();
        self.push(task).await?;
        self.wake.signal_after(J::QUEUE, wait);
        Ok(())
    }

    /// Stores `task` in its queue (committed when this returns).
    async fn push<J: Job>(&self, task: apalis::prelude::Task<J>) -> Result<(), QueueError> {
        match &self.db {
            QueueDb::Sqlite(pool) => {
                let mut storage =
                    SqliteStorage::<J>::new(pool).with_config(apalis_sqlite::Config::default().queue(J::QUEUE));
                storage.push_task(task).await.map_err(|e| QueueError::Push(e.to_string()))
            }
            QueueDb::Postgres(pool) => {
                let mut storage =
                    PostgresStorage::<J>::new(pool).with_config(apalis_postgres::Config::default().queue(J::QUEUE));
                match storage.push_task(task).await {
                    Ok(()) => Ok(()),
                    // The same idempotency key again: the job already exists, which is the point.
                    Err(TaskSinkError::PushError(apalis_postgres::Error::Database(e)))
                        if e.as_database_error().is_some_and(|d| d.is_unique_violation()) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(QueueError::Push(e.to_string())),
                }
            }
        }
    }

    /// Job counts per queue and status, for metrics.
    pub async fn stats(&self, db: &DatabaseConnection) -> Result<Vec<QueueStat>, QueueError> {
        let (backend, table) = match self.db {
            QueueDb::Sqlite(_) => (DatabaseBackend::Sqlite, "Jobs"),
            QueueDb::Postgres(_) => (DatabaseBackend::Postgres, "apalis.jobs"),
        };
        let sql = format!("SELECT job_type, status, COUNT(*) AS n FROM {table} GROUP BY job_type, status");
        let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
        rows.iter()
            .map(|row| {
                Ok(QueueStat {
                    queue: row.try_get("", "job_type")?,
                    status: row.try_get("", "status")?,
                    count: row.try_get("", "n")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(QueueError::from)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::due_second;

    #[test]
    fn a_delayed_job_is_due_at_the_next_whole_second_after_its_delay() {
        let now = UNIX_EPOCH + Duration::from_millis(1_000_400);
        assert_eq!(due_second(now, Duration::from_secs(3)), (1004, Duration::from_millis(3600)));
        assert_eq!(due_second(now, Duration::from_millis(2600)), (1003, Duration::from_millis(2600)));
        assert_eq!(due_second(now, Duration::from_millis(2601)), (1004, Duration::from_millis(3600)));
    }
}
