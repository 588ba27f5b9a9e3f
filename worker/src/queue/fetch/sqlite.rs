//! The queue's persistence on SQLite: apalis-sqlite's own queries, in the transactions
//! apalis-sqlite runs them in; each fetch records its start ([`Started`]).

use std::time::Duration;

use apalis::prelude::{Task, WorkerContext};
use apalis_core::backend::WorkerFilter;
use apalis_core::backend::persistence::{Persistence, TaskEvent};
use apalis_sqlite::queries::{
    ack_tasks, fetch_next, keep_alive, lock_tasks, push_tasks, reenqueue_abandoned, reenqueue_orphaned, register_worker,
};
use apalis_sqlite::{Config, Error, SqlitePool};
use serde_json::Value;

use super::{Fetch, Started};

/// Jobs of queue `?2` fetched by worker `?1` and never started, put back.
const RELEASE: &str = "UPDATE Jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL \
     WHERE lock_by = ?1 AND job_type = ?2 AND status = 'Queued'";

/// One SQLite queue's persistence.
#[derive(Debug, Clone)]
pub struct SqliteFetch {
    pool: SqlitePool,
    config: Config,
    started: Started,
}

impl Fetch for SqliteFetch {
    type Config = Config;
    type Pool = SqlitePool;

    fn open(pool: &SqlitePool, config: Config, started: Started) -> Self {
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

impl Persistence for SqliteFetch {
    type Compact = Vec<u8>;
    type Response = Value;
    type Error = Error;

    async fn register(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        let dead_for = self.config.heartbeat_interval.as_secs() as i64;
        let mut tx = self.pool.begin().await?;
        let own = WorkerFilter::Only(worker.name().to_owned());
        reenqueue_orphaned(&mut *tx, dead_for, self.config.queue.as_ref(), &own).await?;
        register_worker(&mut *tx, &self.config, worker, "SqliteStorage").await?;
        tx.commit().await?;
        Ok(())
    }

    async fn heartbeat(&mut self, worker: &WorkerContext) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        keep_alive(&mut *tx, &self.config, worker).await?;
        let dead_for = self.config.orphaned_duration().as_secs() as i64;
        let others = WorkerFilter::AllExcept(worker.name().to_owned());
        reenqueue_orphaned(&mut *tx, dead_for, self.config.queue.as_ref(), &others).await?;
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
        let ids = tasks.iter().filter_map(|t| t.task_id().map(ToString::to_string)).collect();
        let mut tx = self.pool.begin().await?;
        let count = reenqueue_abandoned(&mut *tx, self.config.queue.as_ref(), worker.name(), &ids).await?;
        if count as usize != tasks.len() {
            return Err(Error::ReenqueueMismatch { queued: tasks.len(), abandoned: count as usize });
        }
        tx.commit().await?;
        Ok(count)
    }

    async fn handle_events(&mut self, events: Vec<TaskEvent<Value>>, worker: &WorkerContext) -> Result<(), Error> {
        let (locks, acks) = super::split_events(&events, false);
        if locks.is_empty() && acks.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if !locks.is_empty() {
            lock_tasks(&mut *tx, &locks, worker.name()).await?;
        }
        if !acks.is_empty() {
            ack_tasks(&mut *tx, &acks, worker.name()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn push_tasks(&mut self, tasks: Vec<Task<Vec<u8>>>) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        push_tasks(&mut *tx, self.config.queue.as_ref(), &tasks).await?;
        tx.commit().await?;
        Ok(())
    }
}
