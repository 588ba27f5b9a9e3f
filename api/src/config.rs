//! Configuration: command-line flags, environment variables (`LETHE_*`) and an optional TOML
//! file, in that order of precedence, then defaults. Secrets (master key, SMTP URL) are never
//! printed: `Debug` redacts them and `--help` hides their values.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use lethe_entities::MasterKey;
use lethe_entities::entity::organization::EXPORT_LINK_DAYS;
use lethe_worker::ledger::CheckpointSettings;
use lethe_worker::private_fs;
use lethe_worker::targets::{Net, TargetSettings};
use lethe_worker::{RetrySettings, ServiceSettings};
use serde::Deserialize;

use crate::redact::redact_url;
use crate::server::ServerSettings;

/// Where Lethe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Local use: mail goes to files, a master key is generated on first start.
    #[default]
    Development,
    /// Real use: SMTP and an explicit master key are required.
    Production,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Options shared by every subcommand. Each can also be set in the TOML file given by
/// `--config`, under the same name with underscores (e.g. `database_url = "..."`).
#[derive(Default, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "LETHE_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Database URL: `sqlite://path/to/lethe.db` or `postgres://user:pass@host/db` [default: sqlite in the data dir].
    #[arg(long, env = "LETHE_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address the HTTP server listens on [default: 127.0.0.1:8080].
    #[arg(long, env = "LETHE_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite database, the development master key and the mail outbox [default: ./lethe-data].
    #[arg(long, env = "LETHE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `development` or `production` [default: development].
    #[arg(long, env = "LETHE_ENV", global = true, value_enum)]
    pub env: Option<Environment>,
    /// File holding the base64 master key (alternative to LETHE_MASTER_KEY).
    #[arg(long, env = "LETHE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// SMTP URL, e.g. `smtps://user:pass@mail.example.com` or `smtp://host:587?tls=required`; without it mail is written to <data dir>/outbox.
    #[arg(long, env = "LETHE_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of outgoing mail [default: "Lethe <privacy@localhost>"].
    #[arg(long, env = "LETHE_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Lifetime of operator access tokens, in seconds [default: 900].
    #[arg(long, env = "LETHE_TOKEN_TTL_SECS", global = true)]
    pub token_ttl_secs: Option<u64>,
    /// Requests per minute per client IP on public endpoints [default: 60].
    #[arg(long, env = "LETHE_PUBLIC_RATE_PER_MINUTE", global = true)]
    pub public_rate_per_minute: Option<u32>,
    /// Requests per minute per operator or API key on the API, from wherever they call [default: 1200].
    #[arg(long, env = "LETHE_AUTHENTICATED_RATE_PER_MINUTE", global = true)]
    pub authenticated_rate_per_minute: Option<u32>,
    /// Password and code checks per minute per client IP, over every door that checks one [default: 10].
    #[arg(long, env = "LETHE_SIGN_IN_RATE_PER_MINUTE", global = true)]
    pub sign_in_rate_per_minute: Option<u32>,
    /// Password hashes computed at once [default: one fewer than the machine's cores, at least 1].
    #[arg(long, env = "LETHE_HASHING_CONCURRENCY", global = true)]
    pub hashing_concurrency: Option<usize>,
    /// Password hashes that may wait beyond those; more are answered 503 [default: 4 per computation].
    #[arg(long, env = "LETHE_HASHING_QUEUE", global = true)]
    pub hashing_queue: Option<usize>,
    /// Submissions per hour per e-mail address [default: 5].
    #[arg(long, env = "LETHE_SUBMISSIONS_PER_EMAIL_PER_HOUR", global = true)]
    pub submissions_per_email_per_hour: Option<u32>,
    /// Largest accepted request body in bytes [default: 65536].
    #[arg(long, env = "LETHE_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<usize>,
    /// HTTP connections open at once; one more is answered `503 overloaded` and closed [default: 1024].
    #[arg(long, env = "LETHE_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers [default: 10].
    #[arg(long, env = "LETHE_HEADER_READ_TIMEOUT_SECS", global = true)]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request's body, from the end of its headers; later is `408 request_timeout` [default: 30].
    #[arg(long, env = "LETHE_BODY_READ_TIMEOUT_SECS", global = true)]
    pub body_read_timeout_secs: Option<u64>,
    /// Seconds a connection may stay open with no request in flight and no bytes moving [default: 60].
    #[arg(long, env = "LETHE_IDLE_TIMEOUT_SECS", global = true)]
    pub idle_timeout_secs: Option<u64>,
    /// Seconds before a new verification code may be requested [default: 60].
    #[arg(long, env = "LETHE_RESEND_COOLDOWN_SECS", global = true)]
    pub resend_cooldown_secs: Option<u64>,
    /// How often an idle worker looks for jobs nobody woke it for, in milliseconds (a fallback:
    /// workers are woken when a job becomes due) [default: 1000].
    #[arg(long, env = "LETHE_QUEUE_POLL_MS", global = true)]
    pub queue_poll_ms: Option<u64>,
    /// The longest a long poll (`GET /v1/requests/{id}/wait`) holds its connection, in seconds
    /// (1-60): keep it below the read timeout of a proxy in front of Lethe [default: 60].
    #[arg(long, env = "LETHE_WAIT_MAX_SECS", global = true)]
    pub wait_max_secs: Option<u64>,
    /// How often each worker proves it is alive, in seconds; the jobs of a worker silent for two
    /// heartbeats go to another [default: 10].
    #[arg(long, env = "LETHE_WORKER_HEARTBEAT_SECS", global = true)]
    pub worker_heartbeat_secs: Option<u64>,
    /// Fulfilment jobs one worker process runs at once [default: 16].
    #[arg(long, env = "LETHE_WORKER_CONCURRENCY", global = true)]
    pub worker_concurrency: Option<usize>,
    /// Sign a ledger checkpoint once this many entries are unsigned [default: 1000].
    #[arg(long, env = "LETHE_LEDGER_CHECKPOINT_ENTRIES", global = true)]
    pub ledger_checkpoint_entries: Option<u64>,
    /// Sign a ledger checkpoint once the oldest unsigned entry is this many seconds old [default: 60].
    #[arg(long, env = "LETHE_LEDGER_CHECKPOINT_SECS", global = true)]
    pub ledger_checkpoint_secs: Option<u64>,
    /// `text` or `json` [default: text].
    #[arg(long, env = "LETHE_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// The URL people reach this server at, for links in e-mail (e.g. `https://privacy.example.com`) [default: http://<listen address>].
    #[arg(long, env = "LETHE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Days an access export's download link works before the package is purged [default: 7].
    #[arg(long, env = "LETHE_EXPORT_LINK_DAYS", global = true)]
    pub export_link_days: Option<u32>,
    /// Downloads allowed per access export [default: 10].
    #[arg(long, env = "LETHE_EXPORT_MAX_DOWNLOADS", global = true)]
    pub export_max_downloads: Option<u32>,
    /// How often each worker process looks for retention policies due to run, in seconds [default: 30].
    #[arg(long, env = "LETHE_RETENTION_TICK_SECS", global = true)]
    pub retention_tick_secs: Option<u64>,
    /// Seconds before a failed call to an HTTP store's service is retried; doubles per attempt [default: 30].
    #[arg(long, env = "LETHE_SERVICE_RETRY_SECS", global = true)]
    pub service_retry_secs: Option<u64>,
    /// Calls to an HTTP store's service before its task fails [default: 5].
    #[arg(long, env = "LETHE_SERVICE_ATTEMPTS", global = true)]
    pub service_attempts: Option<u32>,
    /// Seconds a service that accepted an erasure may take to call back [default: 86400].
    #[arg(long, env = "LETHE_SERVICE_CALLBACK_TIMEOUT_SECS", global = true)]
    pub service_callback_timeout_secs: Option<u64>,
    /// Attempts a request's fulfilment or a retention run makes through failures that may pass (a store unreachable, Lethe's database busy) before it fails [default: 8].
    #[arg(long, env = "LETHE_JOB_ATTEMPTS", global = true)]
    pub job_attempts: Option<u32>,
    /// Seconds before the second attempt; doubles per attempt up to 300, with jitter [default: 2].
    #[arg(long, env = "LETHE_JOB_RETRY_SECS", global = true)]
    pub job_retry_secs: Option<u64>,
    /// Directories SQLite stores (and TLS files named in store URLs) may be in, comma-separated; never Lethe's data dir or database [default: development: anywhere else; production: none].
    #[arg(long, env = "LETHE_TARGET_ALLOW_DIRS", global = true, value_delimiter = ',')]
    pub target_allow_dirs: Option<Vec<PathBuf>>,
    /// Networks (`10.0.0.0/8`) or addresses stores may be reached at although local (loopback, private, link-local, ...), comma-separated [default: none].
    #[arg(long, env = "LETHE_TARGET_ALLOW_NETS", global = true, value_delimiter = ',')]
    pub target_allow_nets: Option<Vec<String>>,
    /// Networks or addresses stores are never reached at (wins over allowed ones), comma-separated [default: none].
    #[arg(long, env = "LETHE_TARGET_DENY_NETS", global = true, value_delimiter = ',')]
    pub target_deny_nets: Option<Vec<String>>,
}

/// Fully resolved settings.
pub struct Settings {
    /// Development or production.
    pub env: Environment,
    /// Database URL.
    pub database_url: String,
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// The master key.
    pub master_key: MasterKey,
    /// Where the master key came from, for the start-up banner.
    pub master_key_source: String,
    /// SMTP URL, if mail is delivered.
    pub smtp_url: Option<String>,
    /// Sender mailbox.
    pub mail_from: String,
    /// Access-token lifetime.
    pub token_ttl: Duration,
    /// Public requests per minute per IP.
    pub public_rate_per_minute: u32,
    /// API requests per minute per operator or API key.
    pub authenticated_rate_per_minute: u32,
    /// Password and code checks per minute per IP.
    pub sign_in_rate_per_minute: u32,
    /// Password hashes computed at once; `None`: sized to the machine.
    pub hashing_concurrency: Option<usize>,
    /// Password hashes waiting beyond those; `None`: four per computation.
    pub hashing_queue: Option<usize>,
    /// Submissions per hour per e-mail.
    pub submissions_per_email_per_hour: u32,
    /// Body limit.
    pub max_body_bytes: usize,
    /// Verification-code resend cool-down.
    pub resend_cooldown: Duration,
    /// The HTTP server's connection cap and timeouts.
    pub server: ServerSettings,
    /// The queue's fallback poll.
    pub queue_poll: Duration,
    /// The longest a long poll waits.
    pub wait_max: Duration,
    /// How often each worker proves it is alive.
    pub worker_heartbeat: Duration,
    /// Fulfilment jobs run at once per worker process.
    pub worker_concurrency: usize,
    /// When ledger checkpoints are signed.
    pub checkpoints: CheckpointSettings,
    /// Log format.
    pub log_format: LogFormat,
    /// The base URL of links in e-mail, without a trailing slash.
    pub public_url: String,
    /// Calls to HTTP stores' services: retries, callback timeout, callback base URL.
    pub services: ServiceSettings,
    /// How jobs retry failures that may pass before their work gives up.
    pub retry: RetrySettings,
    /// How long an access export's download link works.
    pub export_link_ttl: Duration,
    /// Downloads allowed per access export.
    pub export_max_downloads: i32,
    /// How often workers look for retention policies due to run.
    pub retention_tick: Duration,
    /// Which files and addresses tenants' stores may be at (the target policy's rules).
    pub targets: TargetSettings,
    /// How webhooks are sent (retry schedule, timeout, concurrency).
    pub webhooks: lethe_worker::webhooks::WebhookSettings,
    /// How DRP status callbacks are sent (poll, retry schedule, timeout).
    pub drp_callbacks: lethe_worker::drp::callbacks::CallbackSettings,
}

/// The file and the connection URLs, without their credentials; the rest is left out.
impl std::fmt::Debug for ConfigArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigArgs")
            .field("config", &self.config)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("env", &self.env)
            .field("database", &redact_url(&self.database_url))
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("data_dir", &self.data_dir)
            .field("master_key", &"<redacted>")
            .field("smtp", &self.smtp_url.as_deref().map(redact_url))
            .finish_non_exhaustive()
    }
}

impl ConfigArgs {
    /// Reads the TOML file (if any), fills gaps from it, applies defaults and loads the master key.
    pub fn resolve(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<ConfigArgs>(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => ConfigArgs::default(),
        };
        self.merged(file).settings()
    }

    /// These arguments with the gaps filled from `file` (the command line and the environment
    /// win).
    fn merged(self, file: ConfigArgs) -> ConfigArgs {
        ConfigArgs {
            config: self.config,
            database_url: self.database_url.or(file.database_url),
            listen: self.listen.or(file.listen),
            data_dir: self.data_dir.or(file.data_dir),
            env: self.env.or(file.env),
            master_key_file: self.master_key_file.or(file.master_key_file),
            smtp_url: self.smtp_url.or(file.smtp_url),
            mail_from: self.mail_from.or(file.mail_from),
            token_ttl_secs: self.token_ttl_secs.or(file.token_ttl_secs),
            public_rate_per_minute: self.public_rate_per_minute.or(file.public_rate_per_minute),
            authenticated_rate_per_minute: self.authenticated_rate_per_minute.or(file.authenticated_rate_per_minute),
            sign_in_rate_per_minute: self.sign_in_rate_per_minute.or(file.sign_in_rate_per_minute),
            hashing_concurrency: self.hashing_concurrency.or(file.hashing_concurrency),
            hashing_queue: self.hashing_queue.or(file.hashing_queue),
            submissions_per_email_per_hour: self.submissions_per_email_per_hour.or(file.submissions_per_email_per_hour),
            max_body_bytes: self.max_body_bytes.or(file.max_body_bytes),
            max_connections: self.max_connections.or(file.max_connections),
            header_read_timeout_secs: self.header_read_timeout_secs.or(file.header_read_timeout_secs),
            body_read_timeout_secs: self.body_read_timeout_secs.or(file.body_read_timeout_secs),
            idle_timeout_secs: self.idle_timeout_secs.or(file.idle_timeout_secs),
            resend_cooldown_secs: self.resend_cooldown_secs.or(file.resend_cooldown_secs),
            queue_poll_ms: self.queue_poll_ms.or(file.queue_poll_ms),
            worker_heartbeat_secs: self.worker_heartbeat_secs.or(file.worker_heartbeat_secs),
            wait_max_secs: self.wait_max_secs.or(file.wait_max_secs),
            worker_concurrency: self.worker_concurrency.or(file.worker_concurrency),
            ledger_checkpoint_entries: self.ledger_checkpoint_entries.or(file.ledger_checkpoint_entries),
            ledger_checkpoint_secs: self.ledger_checkpoint_secs.or(file.ledger_checkpoint_secs),
            log_format: self.log_format.or(file.log_format),
            public_url: self.public_url.or(file.public_url),
            export_link_days: self.export_link_days.or(file.export_link_days),
            export_max_downloads: self.export_max_downloads.or(file.export_max_downloads),
            retention_tick_secs: self.retention_tick_secs.or(file.retention_tick_secs),
            service_retry_secs: self.service_retry_secs.or(file.service_retry_secs),
            service_attempts: self.service_attempts.or(file.service_attempts),
            service_callback_timeout_secs: self.service_callback_timeout_secs.or(file.service_callback_timeout_secs),
            job_attempts: self.job_attempts.or(file.job_attempts),
            job_retry_secs: self.job_retry_secs.or(file.job_retry_secs),
            target_allow_dirs: self.target_allow_dirs.or(file.target_allow_dirs),
            target_allow_nets: self.target_allow_nets.or(file.target_allow_nets),
            target_deny_nets: self.target_deny_nets.or(file.target_deny_nets),
        }
    }

    /// The settings: defaults applied, limits checked, the master key loaded.
    fn settings(self) -> anyhow::Result<Settings> {
        let env = self.env.unwrap_or_default();
        let data_dir = self.data_dir.clone().unwrap_or_else(|| PathBuf::from("lethe-data"));
        let database_url = match self.database_url.clone() {
            Some(url) => url,
            None => {
                private_fs::dir(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
                format!("sqlite://{}?mode=rwc", data_dir.join("lethe.db").display())
            }
        };
        let (master_key, master_key_source) = load_master_key(env, &data_dir, self.master_key_file.clone())?;
        if env == Environment::Production {
            if self.smtp_url.is_none() {
                bail!("LETHE_ENV=production requires LETHE_SMTP_URL: the file transport does not deliver mail");
            }
            if self.mail_from.is_none() {
                bail!("LETHE_ENV=production requires LETHE_MAIL_FROM");
            }
        }
        let listen = self.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let wait_max = self.wait_max()?;
        let public_url = match self.public_url.as_deref() {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(_) => bail!("LETHE_PUBLIC_URL must start with http:// or https://"),
            None => format!("http://{listen}"),
        };
        let limits = self.limits()?;
        let targets = self.targets(env)?;
        Ok(Settings {
            env,
            database_url,
            listen,
            data_dir,
            master_key,
            master_key_source,
            smtp_url: self.smtp_url,
            mail_from: self.mail_from.unwrap_or_else(|| "Lethe <privacy@localhost>".into()),
            token_ttl: Duration::from_secs(self.token_ttl_secs.unwrap_or(900)),
            public_rate_per_minute: self.public_rate_per_minute.unwrap_or(60),
            authenticated_rate_per_minute: self.authenticated_rate_per_minute.unwrap_or(1200),
            sign_in_rate_per_minute: limits.sign_in_rate_per_minute,
            hashing_concurrency: self.hashing_concurrency,
            hashing_queue: self.hashing_queue,
            submissions_per_email_per_hour: self.submissions_per_email_per_hour.unwrap_or(5),
            max_body_bytes: self.max_body_bytes.unwrap_or(64 * 1024),
            resend_cooldown: Duration::from_secs(self.resend_cooldown_secs.unwrap_or(60)),
            server: limits.server,
            wait_max,
            queue_poll: self
                .queue_poll_ms
                .map_or(lethe_worker::runner::DEFAULT_POLL, |ms| Duration::from_millis(ms.max(1))),
            worker_heartbeat: self
                .worker_heartbeat_secs
                .map_or(lethe_worker::runner::DEFAULT_HEARTBEAT, |s| Duration::from_secs(s.max(1))),
            worker_concurrency: limits.worker_concurrency,
            checkpoints: CheckpointSettings {
                every_entries: self.ledger_checkpoint_entries.unwrap_or(1_000).max(1),
                every: Duration::from_secs(self.ledger_checkpoint_secs.unwrap_or(60)),
                ..CheckpointSettings::default()
            },
            log_format: self.log_format.unwrap_or_default(),
            services: ServiceSettings {
                public_url: public_url.clone(),
                retry_after: Duration::from_secs(self.service_retry_secs.unwrap_or(30).max(1)),
                max_attempts: limits.service_attempts as i32,
                callback_timeout: Duration::from_secs(self.service_callback_timeout_secs.unwrap_or(24 * 3600).max(1)),
            },
            retry: limits.retry,
            public_url,
            export_link_ttl: Duration::from_secs(u64::from(limits.export_link_days) * 24 * 3600),
            export_max_downloads: limits.export_max_downloads as i32,
            retention_tick: Duration::from_secs(self.retention_tick_secs.unwrap_or(30).max(1)),
            targets,
            webhooks: lethe_worker::webhooks::WebhookSettings::default(),
            drp_callbacks: lethe_worker::drp::callbacks::CallbackSettings::default(),
        })
    }

    /// The target policy's rules: the environment's defaults, with the configured directories
    /// and networks.
    fn targets(&self, env: Environment) -> anyhow::Result<TargetSettings> {
        let mut targets = match env {
            Environment::Development => TargetSettings::development(),
            Environment::Production => TargetSettings::production(),
        };
        if let Some(dirs) = &self.target_allow_dirs {
            targets.allow_dirs = Some(dirs.iter().filter(|d| !d.as_os_str().is_empty()).cloned().collect());
        }
        targets.allow_nets = nets(self.target_allow_nets.as_deref(), "LETHE_TARGET_ALLOW_NETS")?;
        targets.deny_nets = nets(self.target_deny_nets.as_deref(), "LETHE_TARGET_DENY_NETS")?;
        Ok(targets)
    }

    /// The numeric settings that have bounds, with their defaults, checked.
    fn limits(&self) -> anyhow::Result<Limits> {
        let limits = Limits {
            worker_concurrency: self.worker_concurrency.unwrap_or(16),
            export_link_days: self.export_link_days.unwrap_or(7),
            export_max_downloads: self.export_max_downloads.unwrap_or(10),
            service_attempts: self.service_attempts.unwrap_or(5),
            retry: self.retry()?,
            server: self.server()?,
            sign_in_rate_per_minute: self.sign_in_rate_per_minute.unwrap_or(10),
        };
        if !(1..=256).contains(&limits.worker_concurrency) {
            bail!("LETHE_WORKER_CONCURRENCY must be between 1 and 256");
        }
        if !i32::try_from(limits.export_link_days).is_ok_and(|d| EXPORT_LINK_DAYS.contains(&d)) {
            bail!("LETHE_EXPORT_LINK_DAYS must be between 1 and 365");
        }
        if !(1..=1000).contains(&limits.export_max_downloads) {
            bail!("LETHE_EXPORT_MAX_DOWNLOADS must be between 1 and 1000");
        }
        if !(1..=20).contains(&limits.service_attempts) {
            bail!("LETHE_SERVICE_ATTEMPTS must be between 1 and 20");
        }
        if !(1..=1_000_000).contains(&limits.sign_in_rate_per_minute) {
            bail!("LETHE_SIGN_IN_RATE_PER_MINUTE must be between 1 and 1000000");
        }
        if self.hashing_concurrency.is_some_and(|n| !(1..=256).contains(&n)) {
            bail!("LETHE_HASHING_CONCURRENCY must be between 1 and 256");
        }
        if self.hashing_queue.is_some_and(|n| n > 100_000) {
            bail!("LETHE_HASHING_QUEUE must be between 0 and 100000");
        }
        Ok(limits)
    }

    /// The longest a long poll waits, checked.
    fn wait_max(&self) -> anyhow::Result<Duration> {
        let max = crate::routes::requests::wait::MAX_TIMEOUT_SECS;
        match self.wait_max_secs {
            None => Ok(Duration::from_secs(max)),
            Some(secs) if (1..=max).contains(&secs) => Ok(Duration::from_secs(secs)),
            Some(_) => bail!("LETHE_WAIT_MAX_SECS must be between 1 and {max}"),
        }
    }

    /// How jobs retry failures that may pass, with the defaults, checked.
    fn retry(&self) -> anyhow::Result<RetrySettings> {
        let defaults = RetrySettings::default();
        let attempts = self.job_attempts.unwrap_or(defaults.attempts);
        if !(1..=50).contains(&attempts) {
            bail!("LETHE_JOB_ATTEMPTS must be between 1 and 50");
        }
        let first_delay = match self.job_retry_secs {
            None => defaults.first_delay,
            Some(secs @ 1..=300) => Duration::from_secs(secs),
            Some(_) => bail!("LETHE_JOB_RETRY_SECS must be between 1 and 300"),
        };
        Ok(RetrySettings { attempts, first_delay, ..defaults })
    }

    /// The HTTP server's cap and timeouts, with their defaults, checked.
    fn server(&self) -> anyhow::Result<ServerSettings> {
        let defaults = ServerSettings::default();
        let max_connections = self.max_connections.unwrap_or(defaults.max_connections);
        if !(1..=1_000_000).contains(&max_connections) {
            bail!("LETHE_MAX_CONNECTIONS must be between 1 and 1000000");
        }
        let secs = |value: Option<u64>, default: Duration, name: &str| match value {
            None => Ok(default),
            Some(secs @ 1..=3600) => Ok(Duration::from_secs(secs)),
            Some(_) => Err(anyhow::anyhow!("{name} must be between 1 and 3600")),
        };
        Ok(ServerSettings {
            max_connections,
            header_read_timeout: secs(
                self.header_read_timeout_secs,
                defaults.header_read_timeout,
                "LETHE_HEADER_READ_TIMEOUT_SECS",
            )?,
            body_read_timeout: secs(
                self.body_read_timeout_secs,
                defaults.body_read_timeout,
                "LETHE_BODY_READ_TIMEOUT_SECS",
            )?,
            idle_timeout: secs(self.idle_timeout_secs, defaults.idle_timeout, "LETHE_IDLE_TIMEOUT_SECS")?,
        })
    }
}

/// The networks of a configured list (empty entries are skipped).
fn nets(list: Option<&[String]>, name: &str) -> anyhow::Result<Vec<Net>> {
    let list = list.unwrap_or_default().iter().filter(|n| !n.trim().is_empty());
    list.map(|n| n.parse::<Net>().with_context(|| name.to_owned())).collect()
}

/// The bounded numeric settings.
struct Limits {
    worker_concurrency: usize,
    export_link_days: u32,
    export_max_downloads: u32,
    service_attempts: u32,
    retry: RetrySettings,
    server: ServerSettings,
    sign_in_rate_per_minute: u32,
}

/// The master key from `LETHE_MASTER_KEY`, a key file, or (development only) a key generated
/// on first start into `<data dir>/master.key` with owner-only permissions.
fn load_master_key(env: Environment, data_dir: &Path, file: Option<PathBuf>) -> anyhow::Result<(MasterKey, String)> {
    if let Ok(encoded) = std::env::var("LETHE_MASTER_KEY") {
        let key = MasterKey::from_base64(&encoded).context("LETHE_MASTER_KEY")?;
        return Ok((key, "LETHE_MASTER_KEY".into()));
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        return Ok((
            MasterKey::from_base64(&text).with_context(|| path.display().to_string())?,
            path.display().to_string(),
        ));
    }
    if env == Environment::Production {
        bail!("LETHE_ENV=production requires LETHE_MASTER_KEY or LETHE_MASTER_KEY_FILE (32 random bytes, base64)");
    }
    let path = data_dir.join("master.key");
    if path.exists() {
        private_fs::tighten_file(&path).with_context(|| format!("restricting {}", path.display()))?;
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        return Ok((
            MasterKey::from_base64(&text).with_context(|| path.display().to_string())?,
            path.display().to_string(),
        ));
    }
    private_fs::dir(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let key = MasterKey::generate();
    write_owner_only(&path, key.to_base64().as_bytes())?;
    eprintln!(
        "Generated a development master key in {} . Back it up: without it, stored identities cannot be decrypted.",
        path.display()
    );
    Ok((key, path.display().to_string()))
}

fn write_owner_only(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = private_fs::new_file().open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_credentials() {
        let args = ConfigArgs {
            database_url: Some("postgres://lethe:s3cret@db/lethe".into()),
            smtp_url: Some("smtps://mailer:m41l@mail.example.com".into()),
            ..ConfigArgs::default()
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("m41l") && shown.contains("db/lethe"), "{shown}");
    }

    #[test]
    fn target_rules_default_by_environment_and_parse() {
        let production = ConfigArgs::default().targets(Environment::Production).unwrap();
        assert_eq!(production, TargetSettings::production());
        let development = ConfigArgs::default().targets(Environment::Development).unwrap();
        assert_eq!(development, TargetSettings::development());
        let file: ConfigArgs = toml::from_str(
            "target_allow_dirs = [\"/srv/stores\"]\ntarget_allow_nets = [\"10.0.0.0/8\", \"::1\"]\ntarget_deny_nets = [\"10.0.0.5\"]",
        )
        .unwrap();
        let targets = file.targets(Environment::Production).unwrap();
        assert_eq!(targets.allow_dirs, Some(vec![PathBuf::from("/srv/stores")]));
        assert_eq!((targets.allow_nets.len(), targets.deny_nets.len(), targets.refuse_local), (2, 1, true));
        let bad = ConfigArgs { target_deny_nets: Some(vec!["db.internal".into()]), ..ConfigArgs::default() };
        assert!(format!("{:#}", bad.targets(Environment::Production).unwrap_err()).contains("LETHE_TARGET_DENY_NETS"));
    }

    #[test]
    fn server_limits_default_parse_and_are_bounded() {
        assert_eq!(ConfigArgs::default().server().unwrap(), ServerSettings::default());
        let file: ConfigArgs = toml::from_str(
            "max_connections = 10\nheader_read_timeout_secs = 2\nbody_read_timeout_secs = 3\nidle_timeout_secs = 4",
        )
        .unwrap();
        let server = file.server().unwrap();
        assert_eq!(server.max_connections, 10);
        assert_eq!(
            (server.header_read_timeout, server.body_read_timeout, server.idle_timeout),
            (Duration::from_secs(2), Duration::from_secs(3), Duration::from_secs(4))
        );
        for (bad, name) in [
            (ConfigArgs { max_connections: Some(0), ..ConfigArgs::default() }, "LETHE_MAX_CONNECTIONS"),
            (ConfigArgs { max_connections: Some(1_000_001), ..ConfigArgs::default() }, "LETHE_MAX_CONNECTIONS"),
            (
                ConfigArgs { header_read_timeout_secs: Some(0), ..ConfigArgs::default() },
                "LETHE_HEADER_READ_TIMEOUT_SECS",
            ),
            (
                ConfigArgs { body_read_timeout_secs: Some(3601), ..ConfigArgs::default() },
                "LETHE_BODY_READ_TIMEOUT_SECS",
            ),
            (ConfigArgs { idle_timeout_secs: Some(0), ..ConfigArgs::default() }, "LETHE_IDLE_TIMEOUT_SECS"),
        ] {
            assert!(bad.server().unwrap_err().to_string().contains(name), "{name}");
        }
        for secs in [0, 61] {
            let bad = ConfigArgs { wait_max_secs: Some(secs), ..ConfigArgs::default() };
            assert!(bad.wait_max().unwrap_err().to_string().contains("LETHE_WAIT_MAX_SECS"));
        }
        let fine = ConfigArgs { wait_max_secs: Some(5), ..ConfigArgs::default() };
        assert_eq!(fine.wait_max().unwrap(), Duration::from_secs(5));
    }

    #[test]
    fn toml_rejects_unknown_keys() {
        assert!(toml::from_str::<ConfigArgs>("listen = \"127.0.0.1:9000\"").is_ok());
        assert!(toml::from_str::<ConfigArgs>("lisen = \"127.0.0.1:9000\"").is_err());
    }
}
