//! Runs the job workers and the reconciler until shutdown.
//!
//! On SQLite the workers poll the queue at a short interval; on PostgreSQL they are woken by
//! LISTEN/NOTIFY (apalis pub/sub), so several `lethe worker` processes share one queue.
//! Graceful shutdown: the workers stop fetching, in-flight jobs get `shutdown_timeout` to
//! finish; a job cut off after that keeps its lock only until its worker's heartbeat expires,
//! after which apalis re-enqueues it (jobs are idempotent, so a re-run is safe).

use std::future::Future;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, IntervalStrategy, Monitor, PollWith, StreamStrategy, WorkerBuilder};
use apalis_postgres::{PgPool, PostgresStorage, Pubsub};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use futures::FutureExt;

use crate::context::JobContext;
use crate::jobs::{run_retention, send_hold_warning, send_notice, send_verification_code, start_fulfilment};
use crate::queue::{Job, JobQueue, RunRetention, SendHoldWarning, SendNotice, SendVerificationCode, StartFulfilment};
use crate::reconcile;

/// How often workers prove they are alive.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// A job held by a worker silent for this many heartbeats (20 s) is delivered again (apalis'
/// default of 10 left a killed worker's jobs stranded for 100 s).
const MISSED_HEARTBEATS: usize = 2;

/// How often each worker process purges expired access exports.
const EXPORT_PURGE_EVERY: Duration = Duration::from_secs(60);

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
    /// How many jobs of one queue run at once in this process. Jobs wait for database
    /// connections beyond what the pools hold, so more is not faster.
    pub concurrency: usize,
    /// How often the retention scheduler looks for due policies.
    pub retention_tick: Duration,
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
            concurrency: 16,
            retention_tick: Duration::from_secs(30),
        }
    }
}

/// SQLite storage for `J`: polled at `poll`.
fn sqlite_storage<J: Job>(pool: &SqlitePool, poll: Duration) -> PollWith<SqliteStorage<J>, IntervalStrategy> {
    SqliteStorage::<J>::new(pool)
        .with_config(
            apalis_sqlite::Config::default()
                .queue(J::QUEUE)
                .heartbeat_interval(HEARTBEAT)
                .missed_heartbeats(MISSED_HEARTBEATS),
        )
        .poll_with_interval(poll)
}

/// PostgreSQL storage for `J`: woken by LISTEN/NOTIFY.
fn postgres_storage<J: Job>(pool: &PgPool) -> PollWith<PostgresStorage<J>, StreamStrategy<Pubsub>> {
    PostgresStorage::<J>::new(pool)
        .with_config(
            apalis_postgres::Config::default()
                .queue(J::QUEUE)
                .heartbeat_interval(HEARTBEAT)
                .missed_heartbeats(MISSED_HEARTBEATS),
        )
        .with_pubsub()
}

/// Registers a worker named `<prefix>/<queue>` running `$handler` for job type `$job`, with
/// the storage `$storage(pool, extra args...)` built afresh on every (re)start.
macro_rules! register {
    ($monitor:expr, $ctx:expr, $prefix:expr, $concurrency:expr, $job:ty, $handler:path, $storage:ident($pool:expr $(, $arg:expr)*)) => {{
        let (ctx, pool, name) = ($ctx.clone(), $pool.clone(), format!("{}/{}", $prefix, <$job as Job>::QUEUE));
        let concurrency = $concurrency;
        $monitor.register(move |_| {
            WorkerBuilder::new(name.clone())
                .backend($storage::<$job>(&pool $(, $arg)*))
                .concurrency(concurrency)
                .data(ctx.clone())
                .build($handler)
        })
    }};
}

/// Runs all workers and the reconciler until `shutdown` resolves, then drains.
pub async fn run(
    ctx: JobContext,
    settings: RunnerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shutdown = shutdown.boxed().shared();
    let monitor = Monitor::new().shutdown_timeout(settings.shutdown_timeout);
    let prefix = &settings.name;
    let monitor = match &ctx.queue {
        JobQueue::Sqlite(pool) => {
            let poll = settings.poll_interval;
            let monitor = register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                SendVerificationCode,
                send_verification_code::handle,
                sqlite_storage(pool, poll)
            );
            let monitor = register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                StartFulfilment,
                start_fulfilment::handle,
                sqlite_storage(pool, poll)
            );
            let monitor = register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                RunRetention,
                run_retention::handle,
                sqlite_storage(pool, poll)
            );
            let monitor = register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                SendHoldWarning,
                send_hold_warning::handle,
                sqlite_storage(pool, poll)
            );
            register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                SendNotice,
                send_notice::handle,
                sqlite_storage(pool, poll)
            )
        }
        JobQueue::Postgres(pool) => {
            let monitor = register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                SendVerificationCode,
                send_verification_code::handle,
                postgres_storage(pool)
            );
            let monitor = register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                StartFulfilment,
                start_fulfilment::handle,
                postgres_storage(pool)
            );
            let monitor = register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                RunRetention,
                run_retention::handle,
                postgres_storage(pool)
            );
            let monitor = register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                SendHoldWarning,
                send_hold_warning::handle,
                postgres_storage(pool)
            );
            register!(
                monitor,
                ctx,
                prefix,
                settings.concurrency,
                SendNotice,
                send_notice::handle,
                postgres_storage(pool)
            )
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
                                tracing::info!(verification = pass.verification, fulfilment = pass.fulfilment, locate = pass.locate, "reconciler enqueued missing jobs");
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "reconciler pass failed"),
                        }
                    }
                }
            }
        })
    };

    let checkpointer = {
        let (db, signer, rules, stop) = (ctx.db.clone(), ctx.ledger.clone(), ctx.checkpoints, shutdown.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(rules.poll);
            loop {
                tokio::select! {
                    _ = stop.clone() => break,
                    _ = ticks.tick() => {
                        if let Err(e) = signer.checkpoint_due(&db, rules.every_entries, rules.every.as_secs()).await {
                            tracing::warn!(error = %e, "ledger checkpoint failed");
                        }
                    }
                }
            }
        })
    };

    let ledger_sweeper = {
        let (db, registry, keyring, stop) = (ctx.db.clone(), ctx.stores.clone(), ctx.keyring.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(crate::ledger::sweep::EVERY);
            loop {
                tokio::select! {
                    _ = stop.clone() => break,
                    _ = ticks.tick() => {
                        match crate::ledger::sweep::run_once(&db, &registry, &keyring, crate::ledger::sweep::GRACE).await {
                            Ok(pass) if pass != crate::ledger::recovery::RecoveryPass::default() => {
                                tracing::info!(applied = pass.applied, voided = pass.voided, skipped = pass.skipped, "ledger sweep settled pending intents");
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "ledger sweep failed"),
                        }
                    }
                }
            }
        })
    };

    let export_purger = {
        let (db, keyring, dir, stop) = (ctx.db.clone(), ctx.keyring.clone(), ctx.exports.dir.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EXPORT_PURGE_EVERY);
            loop {
                tokio::select! {
                    _ = stop.clone() => break,
                    _ = ticks.tick() => {
                        let now = time::OffsetDateTime::now_utc();
                        match crate::export::purge_expired(&db, &keyring, &dir, now).await {
                            Ok(done) if done != crate::export::purge::Purged::default() => {
                                tracing::info!(exports = done.exports, orphans = done.orphans, "expired exports purged");
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "export purge failed"),
                        }
                    }
                }
            }
        })
    };

    let retention_scheduler = {
        let (db, queue, every, stop) = (ctx.db.clone(), ctx.queue.clone(), settings.retention_tick, shutdown.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = stop.clone() => break,
                    _ = ticks.tick() => {
                        match crate::retention::scheduler::tick(&db, &queue, time::OffsetDateTime::now_utc()).await {
                            Ok(pass) if pass != crate::retention::scheduler::Pass::default() => {
                                tracing::info!(started = pass.started, skipped = pass.skipped, taken_elsewhere = pass.taken_elsewhere, requeued = pass.requeued, hold_warnings = pass.hold_warnings, "retention scheduler pass");
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "retention scheduler pass failed"),
                        }
                    }
                }
            }
        })
    };

    let result = monitor.run_with_signal(shutdown.map(|()| Ok(()))).await;
    reconciler.abort();
    export_purger.abort();
    ledger_sweeper.abort();
    retention_scheduler.abort();
    let _ = checkpointer.await;
    // Leave no entry unsigned on a clean stop.
    if let Err(e) = ctx.ledger.checkpoint_due(&ctx.db, 1, 0).await {
        tracing::warn!(error = %e, "final ledger checkpoint failed");
    }
    result.map_err(|e| anyhow::anyhow!("job workers stopped with an error: {e}"))
}
