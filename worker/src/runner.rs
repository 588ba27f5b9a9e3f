//! Runs the job workers and the reconciler until shutdown.
//!
//! On SQLite the workers poll the queue at a short interval; on PostgreSQL they are woken by
//! LISTEN/NOTIFY (apalis pub/sub), so several `lethe worker` processes share one queue.
//! Graceful shutdown: the workers stop fetching, in-flight jobs get `shutdown_timeout` to
//! finish; a job cut off after that keeps its lock only until its worker's heartbeat expires,
//! after which apalis re-enqueues it (jobs are idempotent, so a re-run is safe).

use std::future::Future;
use std::time::Duration;

use apalis::prelude::{BackendExt, Monitor, WorkerBuilder};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use futures::FutureExt;

use crate::context::JobContext;
use crate::jobs::{SendVerificationCode, StartFulfilment, send_verification_code, start_fulfilment};
use crate::queue::{Job, JobQueue};
use crate::reconcile;

/// How the runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Unique prefix of this process's worker names (apalis uses names as lock owners).
    pub name: String,
    /// How often SQLite workers look for new jobs.
    pub poll_interval: Duration,
    /// How often the reconciler runs.
    pub reconcile_every: Duration,
    /// How long in-flight jobs may run after shutdown is requested.
    pub shutdown_timeout: Duration,
}

impl RunnerSettings {
    /// Defaults with a process-unique name built from the host name and process id.
    pub fn with_unique_name() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "host".into());
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        Self {
            name: format!("lethe-{}-{}-{suffix}", host.trim(), std::process::id()),
            poll_interval: Duration::from_millis(250),
            reconcile_every: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

fn sqlite_config(queue: &str) -> apalis_sqlite::Config {
    apalis_sqlite::Config::default().queue(queue).heartbeat_interval(Duration::from_secs(10))
}

fn postgres_config(queue: &str) -> apalis_postgres::Config {
    apalis_postgres::Config::default().queue(queue).heartbeat_interval(Duration::from_secs(10))
}

/// Runs all workers and the reconciler until `shutdown` resolves, then drains.
pub async fn run(
    ctx: JobContext,
    settings: RunnerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shutdown = shutdown.boxed().shared();
    let name = |queue: &str| format!("{}/{queue}", settings.name);
    let monitor = Monitor::new().shutdown_timeout(settings.shutdown_timeout);
    let monitor = match ctx.queue.clone() {
        JobQueue::Sqlite(pool) => {
            let interval = settings.poll_interval;
            let (c1, c2, p1, p2) = (ctx.clone(), ctx.clone(), pool.clone(), pool);
            let (n1, n2) = (name(SendVerificationCode::QUEUE), name(StartFulfilment::QUEUE));
            monitor
                .register(move |_| {
                    WorkerBuilder::new(n1.clone())
                        .backend(
                            SqliteStorage::<SendVerificationCode>::new(&p1)
                                .with_config(sqlite_config(SendVerificationCode::QUEUE))
                                .poll_with_interval(interval),
                        )
                        .data(c1.clone())
                        .build(send_verification_code::handle)
                })
                .register(move |_| {
                    WorkerBuilder::new(n2.clone())
                        .backend(
                            SqliteStorage::<StartFulfilment>::new(&p2)
                                .with_config(sqlite_config(StartFulfilment::QUEUE))
                                .poll_with_interval(interval),
                        )
                        .data(c2.clone())
                        .build(start_fulfilment::handle)
                })
        }
        JobQueue::Postgres(pool) => {
            let (c1, c2, p1, p2) = (ctx.clone(), ctx.clone(), pool.clone(), pool);
            let (n1, n2) = (name(SendVerificationCode::QUEUE), name(StartFulfilment::QUEUE));
            monitor
                .register(move |_| {
                    WorkerBuilder::new(n1.clone())
                        .backend(
                            PostgresStorage::<SendVerificationCode>::new(&p1)
                                .with_config(postgres_config(SendVerificationCode::QUEUE))
                                .with_pubsub(),
                        )
                        .data(c1.clone())
                        .build(send_verification_code::handle)
                })
                .register(move |_| {
                    WorkerBuilder::new(n2.clone())
                        .backend(
                            PostgresStorage::<StartFulfilment>::new(&p2)
                                .with_config(postgres_config(StartFulfilment::QUEUE))
                                .with_pubsub(),
                        )
                        .data(c2.clone())
                        .build(start_fulfilment::handle)
                })
        }
    };
    let monitor = monitor.on_event(|worker, event| {
        if let apalis::prelude::Event::Error(e) = event {
            // Job errors are built to be free of personal data (see `JobError`).
            tracing::warn!(worker = %worker.name(), error = %e, "job failed");
        }
    });

    let reconciler = {
        let (db, queue, every, stop) = (ctx.db.clone(), ctx.queue.clone(), settings.reconcile_every, shutdown.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = stop.clone() => break,
                    _ = ticks.tick() => {
                        match reconcile::run_once(&db, &queue, reconcile::GRACE).await {
                            Ok(pass) if pass != reconcile::Pass::default() => {
                                tracing::info!(verification = pass.verification, fulfilment = pass.fulfilment, "reconciler enqueued missing jobs");
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "reconciler pass failed"),
                        }
                    }
                }
            }
        })
    };

    let result = monitor.run_with_signal(shutdown.map(|()| Ok(()))).await;
    reconciler.abort();
    result.map_err(|e| anyhow::anyhow!("job workers stopped with an error: {e}"))
}
