//! Runs the job workers and the reconciler until shutdown.
//!
//! On SQLite the workers poll the queue at a short interval; on PostgreSQL they are woken by
//! LISTEN/NOTIFY (apalis pub/sub), so several `lethe worker` processes share one queue.
//! Graceful shutdown: the workers stop fetching, in-flight jobs get `shutdown_timeout` to
//! finish; a job cut off after that keeps its lock only until its worker's heartbeat expires,
//! after which apalis re-enqueues it (jobs are idempotent, so a re-run is safe). A worker whose
//! queue cannot be read is restarted (see [`run`]).

use std::future::Future;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, IntervalStrategy, Monitor, PollWith, StreamStrategy, WorkerBuilder};
use apalis_postgres::{PgPool, PostgresStorage, Pubsub};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use crate::context::JobContext;
use crate::jobs::{
    run_retention, send_alert, send_hold_warning, send_notice, send_verification_code, start_fulfilment,
};
use crate::queue::{
    Job, JobQueue, RunRetention, SendAlert, SendHoldWarning, SendNotice, SendVerificationCode, StartFulfilment,
};

mod passes;

/// Resolves when the process is asked to stop.
type Stop = Shared<BoxFuture<'static, ()>>;

/// How often workers prove they are alive.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// A job held by a worker silent for this many heartbeats (20 s) is delivered again (apalis'
/// default of 10 left a killed worker's jobs stranded for 100 s).
const MISSED_HEARTBEATS: usize = 2;

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

/// Registers every job's worker on `$monitor`, each with the storage `$storage(pool, ...)`.
/// The one list of Lethe's jobs and their handlers.
macro_rules! register_jobs {
    ($monitor:expr, $ctx:expr, $prefix:expr, $concurrency:expr, $storage:ident($pool:expr $(, $arg:expr)*)) => {{
        let m = $monitor;
        let m = register!(m, $ctx, $prefix, $concurrency, SendVerificationCode, send_verification_code::handle, $storage($pool $(, $arg)*));
        let m = register!(m, $ctx, $prefix, $concurrency, StartFulfilment, start_fulfilment::handle, $storage($pool $(, $arg)*));
        let m = register!(m, $ctx, $prefix, $concurrency, RunRetention, run_retention::handle, $storage($pool $(, $arg)*));
        let m = register!(m, $ctx, $prefix, $concurrency, SendHoldWarning, send_hold_warning::handle, $storage($pool $(, $arg)*));
        let m = register!(m, $ctx, $prefix, $concurrency, SendAlert, send_alert::handle, $storage($pool $(, $arg)*));
        register!(m, $ctx, $prefix, $concurrency, SendNotice, send_notice::handle, $storage($pool $(, $arg)*))
    }};
}

/// Runs all workers and the periodic passes ([`passes`]) until `shutdown` resolves, then
/// drains and signs a last checkpoint.
pub async fn run(
    ctx: JobContext,
    settings: RunnerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shutdown: Stop = shutdown.boxed().shared();
    let monitor = Monitor::new().shutdown_timeout(settings.shutdown_timeout);
    let (prefix, concurrency) = (&settings.name, settings.concurrency);
    let monitor = match &ctx.queue {
        JobQueue::Sqlite(pool) => {
            let poll = settings.poll_interval;
            register_jobs!(monitor, ctx, prefix, concurrency, sqlite_storage(pool, poll))
        }
        JobQueue::Postgres(pool) => register_jobs!(monitor, ctx, prefix, concurrency, postgres_storage(pool)),
    };
    // A worker whose queue cannot be read (Lethe's database failing, its pool exhausted) ends
    // with an error, and apalis drops the jobs it was running. Without a restart every queue
    // would stay unworked until the process restarts. Restarted, the worker registers again
    // once its heartbeat has lapsed and takes its cut-off jobs back (they are idempotent).
    // Each cycle waits for the pool's acquire timeout, so a database that stays down does not
    // make this a busy loop.
    let counters = ctx.counters.clone();
    let monitor = monitor.should_restart(move |worker, error| {
        if worker.is_shutting_down() {
            return false;
        }
        counters.worker_restarted();
        tracing::warn!(worker = %worker.name(), restarts = worker.restarts(), error = %error, "job worker failed; restarting it");
        true
    });
    let monitor = monitor.on_event(|worker, event| {
        if let apalis::prelude::Event::Error(e) = event {
            // Job errors are built to be free of personal data (see `JobError`).
            tracing::warn!(worker = %worker.name(), error = %e, "job failed");
        }
    });
    let background = passes::spawn_all(&ctx, &settings, &shutdown);
    let result = monitor.run_with_signal(shutdown.map(|()| Ok(()))).await;
    background.stop().await;
    // Leave no entry unsigned on a clean stop.
    if let Err(e) = ctx.ledger.checkpoint_due(&ctx.db, 1, 0).await {
        tracing::warn!(error = %e, "final ledger checkpoint failed");
    }
    result.map_err(|e| anyhow::anyhow!("job workers stopped with an error: {e}"))
}
