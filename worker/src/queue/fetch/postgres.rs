//! The queue's persistence on PostgreSQL: apalis-postgres' own queries, in the transactions
//! apalis-postgres runs them in; each fetch records its start ([`Started`]).

use std::time::Duration;

use apalis::prelude::{Task, WorkerContext};
use apalis_core::backend::persistence::{Persistence, TaskEvent};
use apalis_postgres::queries::{
    fetch_next, handle_results, keep_alive, lock_tasks, push_tasks, reenqueue_abandoned, reenqueue_orphaned,
};
use apalis_postgres::{Config, Error, PgPool};
use serde_json::Value;

use super::{Fetch, Started};

/// apalis-postgres' `queries/worker/register.sql` with `last_seen = now()` (its own function
/// takes a timestamp type it does not export).
const REGISTER: &str = "INSERT INTO apalis.workers (id, worker_type, storage_name, layers, last_seen) \
     VALUES ($1, $2, $3, $4, now()) ON CONFLICT (id) DO UPDATE SET worker_type = EXCLUDED.worker_type, \
     storage_name = EXCLUDED.storage_name, layers = EXCLUDED.layers, last_seen = now() \
     WHERE pg_try_advisory_lock(hashtext(workers.id))";

/// Jobs of queue `$2` fetched by worker `$1` and never started, put back.
const RELEASE: &str = "UPDATE apalis.jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL \
     WHERE lock_by = $1 AND job_type = $2 AND status = 'Queued'";

/// One PostgreSQL queue's persistence.
#[derive(Debug, Clone)]
pub struct PostgresFetch {
    pool: PgPool,
    config: Config,
    started: Started,
}

impl Fetch for PostgresFetch {
    type Config = Config;
    type Pool = PgPool;

    fn open(pool: &PgPool, config: Config, started: Started) -> Self {
        Self { pool: pool.clone(), config, started }
    }

    fn queue(config: &Config) -> &str {
        config.queue.as_ref()
    }

    fn config(&self) -> &Config {
        &self.config
    }

    fn heartbeat_interval(&self) -> Duration {
        self.config.heartbeat_interval
    }

    fn batch_size(&self) -> usize {
        self.config.batch_size
    }

    async fn release_fetched(&self, worker: &str) -> Result<u64, Error> {
        let query = sea_orm::sqlx::query(RELEASE).bind(worker).bind(self.config.queue.as_ref());
        Ok(query.execute(&self.pool).await?.rows_affected())
    }
}

impl Persistence for PostgresFetch {
    type Compact = Vec<u8>;
    type Response = Value;
    type Error = Error;

    async fn register(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        let queue = self.config.queue.as_ref();
        let mut tx = self.pool.begin().await?;
        reenqueue_orphaned(&mut *tx, queue, self.config.orphaned_duration().as_secs()).await?;
        let registered = sea_orm::sqlx::query(REGISTER)
            .bind(worker.name())
            .bind(queue)
            .bind("PgStorage")
            .bind(worker.get_service())
            .execute(&mut *tx)
            .await?;
        if registered.rows_affected() == 0 {
            return Err(Error::WorkerAlreadyExists(worker.name().to_owned()));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn heartbeat(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        let queue = self.config.queue.as_ref();
        let mut tx = self.pool.begin().await?;
        keep_alive(&mut *tx, queue, worker).await?;
        reenqueue_orphaned(&mut *tx, queue, self.config.orphaned_duration().as_secs()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fetch_next(&mut self, worker: &WorkerContext) -> Result<Vec<Task<Vec<u8>>>, Error> {
        self.started.now();
        let mut tx = self.pool.begin().await?;
        let tasks = fetch_next(&mut *tx, &self.config, worker).await?;
        tx.commit().await?;
        Ok(tasks)
    }

    async fn reenqueue_abandoned(&mut self, tasks: Vec<Task<Vec<u8>>>, worker: &WorkerContext) -> Result<u64, Error> {
        let ids: Vec<String> = tasks.iter().filter_map(|t| t.task_id().map(ToString::to_string)).collect();
        let mut tx = self.pool.begin().await?;
        let count = reenqueue_abandoned(&mut *tx, self.config.queue.as_ref(), worker.name(), &ids).await?;
        if count as usize != tasks.len() {
            return Err(Error::ReenqueueMismatch { queued: tasks.len(), abandoned: count as usize });
        }
        tx.commit().await?;
        Ok(count)
    }

    async fn handle_events(&mut self, events: Vec<TaskEvent<Value>>, worker: &WorkerContext) -> Result<(), Error> {
        let (locks, acks) = super::split_events(&events, true);
        if locks.is_empty() && acks.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if !acks.is_empty() {
            handle_results(&mut *tx, &acks, worker.name()).await?;
        }
        if !locks.is_empty() {
            lock_tasks(&mut *tx, &locks, worker.name()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn push_tasks(&mut self, tasks: Vec<Task<Vec<u8>>>) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        push_tasks(&mut *tx, self.config.queue.as_ref(), tasks).await?;
        tx.commit().await?;
        Ok(())
    }
}
