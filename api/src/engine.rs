//! Starting and stopping Lethe: database, migrations, keys, mail, HTTP server and job workers.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use lethe_entities::Keyring;
use lethe_entities::ledger::signer::LedgerSigner;
use lethe_migrations::{Migrator, MigratorTraitSelf};
use lethe_worker::mail::Mailer;
use lethe_worker::private_fs;
use lethe_worker::runner::{self, RunnerSettings};
use lethe_worker::targets::TargetPolicy;
use lethe_worker::{ExportSettings, JobContext, JobQueue, VerificationSettings};
use sea_orm::{DatabaseBackend, DatabaseConnection};

use crate::auth::hashing::{Hashing, HashingSettings};
use crate::auth::jwt::TokenIssuer;
use crate::config::{Environment, Settings};
use crate::rate_limit::{RateLimitSettings, RateLimits};
use crate::server::ServerSettings;
use crate::state::{ApiSettings, AppState};

/// Which parts run in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// HTTP API and job workers.
    All,
    /// HTTP API only.
    Serve,
    /// Job workers only.
    Worker,
}

/// A connected, migrated engine, ready to serve and work.
pub struct Engine {
    /// State for the HTTP handlers.
    pub state: AppState,
    /// State for the jobs.
    pub jobs: JobContext,
    /// Runner settings (worker names, polling).
    pub runner: RunnerSettings,
    /// What HTTP connections may hold, and for how long.
    pub server: ServerSettings,
}

/// Connects to the database and applies Lethe's and the queue's migrations (a migration that
/// starts encrypting a column encrypts its rows with `keyring`). On PostgreSQL an advisory
/// lock serialises concurrent starts.
pub async fn connect_and_migrate(url: &str, keyring: &Keyring) -> anyhow::Result<DatabaseConnection> {
    let db = lethe_worker::database::connect(url).await.context("connecting to the database")?;
    let lock = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let mut conn = db.get_postgres_connection_pool().acquire().await?;
            sea_orm::sqlx::query("SELECT pg_advisory_lock(727165)").execute(&mut *conn).await?;
            Some(conn)
        }
        _ => None,
    };
    let result = async {
        Migrator::new(keyring).up(&db, None).await.context("applying migrations")?;
        JobQueue::for_database(&db).setup().await.context("setting up the job queue")
    }
    .await;
    if let Some(mut conn) = lock {
        sea_orm::sqlx::query("SELECT pg_advisory_unlock(727165)").execute(&mut *conn).await?;
    }
    result?;
    Ok(db)
}

/// Builds the mailer the settings ask for: SMTP, or the file outbox in development.
pub fn mailer(settings: &Settings) -> anyhow::Result<Mailer> {
    let mailer = match &settings.smtp_url {
        Some(url) => Mailer::smtp(url, &settings.mail_from)?,
        None => Mailer::file(&settings.data_dir.join("outbox"), &settings.mail_from)?,
    };
    if settings.env == Environment::Production && !mailer.delivers() {
        anyhow::bail!("refusing to start in production with the {} mail transport", mailer.transport_name());
    }
    Ok(mailer)
}

impl Engine {
    /// Connects, migrates and assembles the shared state.
    pub async fn build(settings: &Settings, mailer: Mailer) -> anyhow::Result<Self> {
        // Owner-only, also when an older version left it readable (see `private_fs`).
        let data_dir = &settings.data_dir;
        private_fs::dir(data_dir).with_context(|| format!("restricting {}", data_dir.display()))?;
        let keyring = Keyring::derive(&settings.master_key);
        let db = connect_and_migrate(&settings.database_url, &keyring).await?;
        let queue = JobQueue::for_database(&db);
        let ledger =
            Arc::new(LedgerSigner::load_or_create(&db, &keyring).await.context("loading the ledger signing key")?);
        let limits = Arc::new(RateLimits::new(RateLimitSettings {
            public_per_minute: settings.public_rate_per_minute,
            authenticated_per_minute: settings.authenticated_rate_per_minute,
            submissions_per_email_per_hour: settings.submissions_per_email_per_hour,
            sign_in_per_minute: settings.sign_in_rate_per_minute,
        }));
        let hashing = Hashing::new(hashing_settings(settings));
        let policy = TargetPolicy::new(settings.targets.clone(), &settings.data_dir, &settings.database_url)
            .context("LETHE_TARGET_ALLOW_DIRS")?;
        let stores = lethe_worker::stores::Registry::new(Arc::new(policy));
        let exports = ExportSettings {
            dir: settings.data_dir.join("exports"),
            link_ttl: settings.export_link_ttl,
            max_downloads: settings.export_max_downloads,
            public_url: settings.public_url.clone(),
        };
        private_fs::dir(&exports.dir).with_context(|| format!("creating {}", exports.dir.display()))?;
        let state = AppState {
            db: db.clone(),
            keyring: keyring.clone(),
            queue: queue.clone(),
            tokens: Arc::new(TokenIssuer::new(keyring.jwt_secret(), settings.token_ttl)),
            limits,
            hashing,
            settings: Arc::new(ApiSettings {
                max_body_bytes: settings.max_body_bytes,
                resend_cooldown: settings.resend_cooldown,
                exports_dir: exports.dir.clone(),
                export_link_ttl: settings.export_link_ttl,
                secure_cookies: settings.public_url.starts_with("https://"),
                session_ttl: settings.token_ttl,
                wait_max: settings.wait_max,
                public_url: settings.public_url.trim_end_matches('/').to_owned(),
            }),
            ledger: ledger.clone(),
            stores: stores.clone(),
            work: Default::default(),
            stopping: Default::default(),
        };
        let jobs = JobContext {
            db,
            keyring,
            mailer: Arc::new(mailer),
            queue,
            verification: VerificationSettings::default(),
            ledger,
            checkpoints: settings.checkpoints,
            stores: stores.clone(),
            services: settings.services.clone(),
            exports,
            settlements: Default::default(),
            retry: settings.retry,
            counters: state.work.clone(),
        };
        let mut runner = RunnerSettings::with_unique_name();
        runner.poll_interval = settings.queue_poll;
        runner.heartbeat = settings.worker_heartbeat;
        runner.concurrency = settings.worker_concurrency;
        runner.retention_tick = settings.retention_tick;
        runner.webhooks = settings.webhooks.clone();
        runner.drp_callbacks = settings.drp_callbacks.clone();
        Ok(Self { state, jobs, runner, server: settings.server })
    }

    /// Runs the parts `mode` asks for on `listener` until `shutdown` resolves, then drains:
    /// the server stops accepting and finishes open requests, workers finish in-flight jobs.
    pub async fn run(
        self,
        mode: Mode,
        listener: Option<tokio::net::TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        use futures::FutureExt;
        let stopping = self.state.stopping.clone();
        let shutdown = shutdown.map(move |()| stopping.stop()).boxed().shared();
        let limits = self.state.limits.clone();
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                limits.retain_recent();
            }
        });
        let http = async {
            match (mode, listener) {
                (Mode::All | Mode::Serve, Some(listener)) => {
                    let app = crate::routes::app(self.state.clone());
                    crate::server::serve(listener, app, self.server, shutdown.clone()).await.context("HTTP server")
                }
                _ => Ok(()),
            }
        };
        let work = async {
            match mode {
                Mode::All | Mode::Worker => runner::run(self.jobs.clone(), self.runner.clone(), shutdown.clone()).await,
                Mode::Serve => Ok(()),
            }
        };
        let (http, work) = tokio::join!(http, work);
        sweeper.abort();
        http.and(work)
    }
}

/// The bound on password hashing: the configured figures, or the machine's defaults.
fn hashing_settings(settings: &Settings) -> HashingSettings {
    let machine = HashingSettings::for_this_machine();
    let concurrency = settings.hashing_concurrency.unwrap_or(machine.concurrency);
    HashingSettings { concurrency, queue: settings.hashing_queue.unwrap_or(4 * concurrency) }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: draining requests and jobs");
}
