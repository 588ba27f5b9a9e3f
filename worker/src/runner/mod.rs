//! Runs the job workers and the reconciler until shutdown.
//!
//! A worker starts a job as soon as it is due: woken in-process by whoever enqueued it, and on
//! PostgreSQL by other processes' jobs through LISTEN/NOTIFY, so several `lethe worker`
//! processes share one queue ([`crate::queue::wake`]). Polling (`poll_interval`) is only the
//! fallback.
//! Graceful shutdown: the workers stop fetching, in-flight jobs get `shutdown_timeout` to
//! finish; a job cut off after that keeps its lock only until its worker's heartbeat expires,
//! after which apalis re-enqueues it (jobs are idempotent, so a re-run is safe). A worker whose
//! queue cannot be read is restarted (see [`run`]).

use std::future::Future;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{Monitor, WorkerBuilder};
use apalis_postgres::PgPool;
use apalis_sqlite::SqlitePool;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use crate::context::JobContext;
use crate::jobs::{
    run_retention, send_alert, send_hold_warning, send_notice, send_verification_code, start_fulfilment,
};
use crate::queue::fetch::{PostgresFetch, SqliteFetch, WokenStorage};
use crate::queue::wake::Wake;
use crate::queue::{
    Job, QueueDb, RunRetention, SendAlert, SendHoldWarning, SendNotice, SendVerificationCode, StartFulfilment, listen,
};

mod passes;

/// Resolves when the process is asked to stop.
type Stop = Shared<BoxFuture<'static, ()>>;

/// How often workers prove they are alive, by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

/// A job held by a worker silent for this many heartbeats (20 s by default) is delivered again
/// (apalis' default of 10 left a killed worker's jobs stranded for 100 s).
const MISSED_HEARTBEATS: usize = 2;

/// The fallback poll's default interval.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);

/// How the runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Unique prefix of this process's worker names (apalis uses names as lock owners).
    pub name: String,
    /// How often an idle worker looks for new jobs even though nothing woke it (the fallback
    /// for jobs nobody announced: another process's delayed job, or one given back there).
    pub poll_interval: Duration,
    /// How often each worker proves it is alive (and looks for orphaned jobs).
    pub heartbeat: Duration,
    /// How often the reconciler runs.
    pub reconcile_every: Duration,
    /// How long in-flight jobs may run after shutdown is requested.
    pub shutdown_timeout: Duration,
    /// How many jobs of one queue run at once in this process. Jobs wait for database
    /// connections beyond what the pools hold, so more is not faster.
    pub concurrency: usize,
    /// How often the retention scheduler looks for due policies.
    pub retention_tick: Duration,
    /// How webhooks are sent.
    pub webhooks: crate::webhooks::WebhookSettings,
    /// How DRP status callbacks are sent.
    pub drp_callbacks: crate::drp::callbacks::CallbackSettings,
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
            poll_interval: DEFAULT_POLL,
            heartbeat: DEFAULT_HEARTBEAT,
            reconcile_every: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            concurrency: 16,
            retention_tick: Duration::from_secs(30),
            webhooks: crate::webhooks::WebhookSettings::default(),
            drp_callbacks: crate::drp::callbacks::CallbackSettings::default(),
        }
    }
}

/// When a worker looks for jobs without being woken, and proves it is alive.
#[derive(Debug, Clone, Copy)]
struct Timing {
    poll: Duration,
    heartbeat: Duration,
}

/// SQLite storage for `J`: woken through `wake`.
fn sqlite_storage<J: Job>(pool: &SqlitePool, wake: &Wake, timing: Timing) -> WokenStorage<SqliteFetch, J> {
    let config = apalis_sqlite::Config::default()
        .queue(J::QUEUE)
        .heartbeat_interval(timing.heartbeat)
        .missed_heartbeats(MISSED_HEARTBEATS);
    WokenStorage::open(pool, config, wake, timing.poll)
}

/// PostgreSQL storage for `J`: woken through `wake` (and so by NOTIFY).
fn postgres_storage<J: Job>(pool: &PgPool, wake: &Wake, timing: Timing) -> WokenStorage<PostgresFetch, J> {
    let config = apalis_postgres::Config::default()
        .queue(J::QUEUE)
        .heartbeat_interval(timing.heartbeat)
        .missed_heartbeats(MISSED_HEARTBEATS);
    WokenStorage::open(pool, config, wake, timing.poll)
}

/// Registers a worker named `<prefix>/<queue>` running `$handler` for job type `$job`, with
/// the storage `$storage(pool, wake, poll)` built afresh on every (re)start.
macro_rules! register {
    ($monitor:expr, $ctx:expr, $prefix:expr, $concurrency:expr, $job:ty, $handler:path, $storage:ident($pool:expr, $wake:expr, $poll:expr)) => {{
        let (ctx, pool, wake) = ($ctx.clone(), $pool.clone(), $wake.clone());
        let (poll, name, concurrency) = ($poll, format!("{}/{}", $prefix, <$job as Job>::QUEUE), $concurrency);
        $monitor.register(move |_| {
            WorkerBuilder::new(name.clone())
                .backend($storage::<$job>(&pool, &wake, poll))
                .concurrency(concurrency)
                .data(ctx.clone())
                .build($handler)
        })
    }};
}

/// Registers every job's worker on `$monitor`, each with the storage `$storage(pool, wake,
/// poll)`. The one list of Lethe's jobs and their handlers.
macro_rules! register_jobs {
    ($monitor:expr, $ctx:expr, $prefix:expr, $concurrency:expr, $storage:ident($pool:expr, $wake:expr, $poll:expr)) => {{
        let m = $monitor;
        let m = register!(
            m,
            $ctx,
            $prefix,
            $concurrency,
            SendVerificationCode,
            send_verification_code::handle,
            $storage($pool, $wake, $poll)
        );
        let m = register!(
            m,
            $ctx,
            $prefix,
            $concurrency,
            StartFulfilment,
            start_fulfilment::handle,
            $storage($pool, $wake, $poll)
        );
        let m = register!(
            m,
            $ctx,
            $prefix,
            $concurrency,
            RunRetention,
            run_retention::handle,
            $storage($pool, $wake, $poll)
        );
        let m = register!(
            m,
            $ctx,
            $prefix,
            $concurrency,
            SendHoldWarning,
            send_hold_warning::handle,
            $storage($pool, $wake, $poll)
        );
        let m = register!(m, $ctx, $prefix, $concurrency, SendAlert, send_alert::handle, $storage($pool, $wake, $poll));
        register!(m, $ctx, $prefix, $concurrency, SendNotice, send_notice::handle, $storage($pool, $wake, $poll))
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
    let (wake, poll) = (&ctx.queue.wake, Timing { poll: settings.poll_interval, heartbeat: settings.heartbeat });
    let mut listener = None;
    let monitor = match &ctx.queue.db {
        QueueDb::Sqlite(pool) => register_jobs!(monitor, ctx, prefix, concurrency, sqlite_storage(pool, wake, poll)),
        QueueDb::Postgres(pool) => {
            listener = Some(tokio::spawn(listen::run(pool.clone(), wake.clone(), shutdown.clone().boxed())));
            register_jobs!(monitor, ctx, prefix, concurrency, postgres_storage(pool, wake, poll))
        }
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
    if let Some(listener) = listener {
        listener.abort();
    }
    // Leave no entry unsigned on a clean stop.
    if let Err(e) = ctx.ledger.checkpoint_due(&ctx.db, 1, 0).await {
        tracing::warn!(error = %e, "final ledger checkpoint failed");
    }
    result.map_err(|e| anyhow::anyhow!("job workers stopped with an error: {e}"))
}
