//! The `lethe` command line.

use std::io::Read;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lethe_entities::Keyring;
use lethe_entities::domain::enums::Role;

use crate::accounts::{create_operator, ensure_organization};
use crate::auth::hashing::{Hashing, HashingSettings};
use crate::config::{ConfigArgs, Settings};
use crate::engine::{self, Engine, Mode};
use crate::ledger_cli::LedgerCommand;
use crate::redact::redact_url;

const ENV_HELP: &str = "\
Environment variables (flags win over them, they win over the --config TOML file):
  LETHE_DATABASE_URL  LETHE_LISTEN  LETHE_DATA_DIR  LETHE_ENV  LETHE_SMTP_URL  LETHE_MAIL_FROM
  LETHE_MASTER_KEY (base64, 32 bytes; or LETHE_MASTER_KEY_FILE)  LETHE_TOKEN_TTL_SECS
  LETHE_PUBLIC_RATE_PER_MINUTE  LETHE_AUTHENTICATED_RATE_PER_MINUTE  LETHE_SIGN_IN_RATE_PER_MINUTE
  LETHE_HASHING_CONCURRENCY  LETHE_HASHING_QUEUE
  LETHE_SUBMISSIONS_PER_EMAIL_PER_HOUR  LETHE_MAX_BODY_BYTES
  LETHE_RESEND_COOLDOWN_SECS  LETHE_QUEUE_POLL_MS  LETHE_WORKER_HEARTBEAT_SECS  LETHE_LOG_FORMAT  LETHE_CONFIG
  LETHE_LEDGER_CHECKPOINT_ENTRIES  LETHE_LEDGER_CHECKPOINT_SECS
  LETHE_LOG (log filter for Lethe's own modules, default \"info\"; other crates log warnings
  and errors only, the database drivers nothing, whatever it says)
Generate a master key with: openssl rand -base64 32";

/// Lethe: data-subject requests and retention, with deadlines and an audit trail.
#[derive(Debug, Parser)]
#[command(name = "lethe", version, after_help = ENV_HELP)]
pub struct Cli {
    /// What to run (default: `all`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Configuration.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// API and job workers in one process (the default).
    All,
    /// The HTTP API only.
    Serve,
    /// The job workers only (several may share one PostgreSQL database).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage operators.
    Operator {
        /// What to do.
        #[command(subcommand)]
        action: OperatorCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// The deletion ledger: export, offline verification, public key.
    Ledger {
        /// What to do.
        #[command(subcommand)]
        action: LedgerCommand,
    },
    /// Certificates of erasure: offline verification.
    Certificate {
        /// What to do.
        #[command(subcommand)]
        action: crate::certificate_cli::CertificateCommand,
    },
    /// Registered stores: re-encrypt connection secrets under a new master key.
    Stores {
        /// What to do.
        #[command(subcommand)]
        action: crate::stores_cli::StoresCommand,
    },
}

/// Operator management.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator (and its organization, if new). Prints a one-time password unless
    /// `--password-stdin` is given.
    Create {
        /// Sign-in address.
        #[arg(long)]
        email: String,
        /// Role.
        #[arg(long, value_enum, default_value = "admin")]
        role: CliRole,
        /// Organization slug; created if it does not exist.
        #[arg(long, default_value = "default")]
        org: String,
        /// Organization display name, when it is created.
        #[arg(long)]
        org_name: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Roles on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CliRole {
    /// Everything.
    Admin,
    /// Works requests.
    Operator,
    /// Reads only.
    Auditor,
}

impl From<CliRole> for Role {
    fn from(r: CliRole) -> Self {
        match r {
            CliRole::Admin => Role::Admin,
            CliRole::Operator => Role::Operator,
            CliRole::Auditor => Role::Auditor,
        }
    }
}

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Openapi) = cli.command {
        let doc = crate::routes::openapi_document().to_pretty_json()?;
        println!("{doc}");
        return Ok(());
    }
    if let Some(Command::Ledger { action: LedgerCommand::Verify { file, public_key } }) = &cli.command {
        return crate::ledger_cli::verify(file, public_key);
    }
    if let Some(Command::Certificate { action }) = &cli.command {
        return crate::certificate_cli::run(action);
    }
    let settings = cli.config.resolve()?;
    crate::logging::init(settings.log_format);
    match cli.command.unwrap_or(Command::All) {
        Command::All => start(settings, Mode::All).await,
        Command::Serve => start(settings, Mode::Serve).await,
        Command::Worker => start(settings, Mode::Worker).await,
        Command::Migrate => {
            engine::connect_and_migrate(&settings.database_url, &Keyring::derive(&settings.master_key)).await?;
            println!("Migrations applied to {}", redact_url(&settings.database_url));
            Ok(())
        }
        Command::Operator { action: OperatorCommand::Create { email, role, org, org_name, password_stdin } } => {
            let db =
                engine::connect_and_migrate(&settings.database_url, &Keyring::derive(&settings.master_key)).await?;
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).context("reading the password from stdin")?;
                Some(text.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let name = org_name.unwrap_or_else(|| org.clone());
            let (organization, created) = ensure_organization(&db, &org, &name).await.map_err(api_error)?;
            if created {
                println!("Created organization '{}'.", organization.slug);
            }
            let hashing = Hashing::new(HashingSettings::for_this_machine());
            let made = create_operator(&db, &hashing, organization.id, &email, role.into(), password)
                .await
                .map_err(api_error)?;
            println!(
                "Created {:?} operator {} in organization '{}'.",
                made.operator.role, made.operator.id, organization.slug
            );
            if let Some(p) = made.generated_password {
                println!("One-time password (shown only now; change it after signing in): {p}");
            }
            Ok(())
        }
        Command::Ledger { action } => crate::ledger_cli::run(&settings, action).await,
        Command::Stores { action } => crate::stores_cli::run(&settings, action).await,
        Command::Openapi => unreachable!("handled above"),
        Command::Certificate { .. } => unreachable!("runs without settings or the database"),
    }
}

fn api_error(e: crate::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e.code(), e.status())
}

async fn start(settings: Settings, mode: Mode) -> anyhow::Result<()> {
    let mailer = engine::mailer(&settings)?;
    let mail_line = match mailer.outbox() {
        Some(dir) => format!("file transport, written to {}", dir.display()),
        None => format!(
            "{} transport ({})",
            mailer.transport_name(),
            settings.smtp_url.as_deref().map(redact_url).unwrap_or_default()
        ),
    };
    let engine = Engine::build(&settings, mailer).await?;
    let listener = match mode {
        Mode::Worker => None,
        _ => Some(
            tokio::net::TcpListener::bind(settings.listen)
                .await
                .with_context(|| format!("listening on {}", settings.listen))?,
        ),
    };
    let base =
        format!("http://{}", listener.as_ref().map_or(settings.listen, |l| l.local_addr().unwrap_or(settings.listen)));
    let parts = match mode {
        Mode::All => "API + job workers",
        Mode::Serve => "API",
        Mode::Worker => "job workers",
    };
    println!("Lethe {} is running ({parts}, {:?}).", env!("CARGO_PKG_VERSION"), settings.env);
    if listener.is_some() {
        println!("  API:       {base}/v1");
        println!("  API docs:  {base}/docs");
        println!("  OpenAPI:   {base}/openapi.json");
        println!("  Health:    {base}/healthz   Metrics: {base}/metrics");
        println!("  Console:   {base}/console/   (operators sign in here)");
        println!("  Portal:    {base}/p/<organization>/   (e.g. {base}/p/acme/ once 'acme' exists)");
    }
    println!("  Database:  {}", redact_url(&settings.database_url));
    println!("  Mail:      {mail_line}");
    println!("  Keys:      master key from {}", settings.master_key_source);
    println!("  Targets:   {}", settings.targets);
    println!("First time? Create the first admin (prints a one-time password):");
    println!("  {FIRST_ADMIN}");
    println!("Stop with Ctrl-C: in-flight requests and jobs are allowed to finish.");
    engine.run(mode, listener, engine::shutdown_signal()).await
}

/// The command the banner and the README's quick start both show for the first admin.
const FIRST_ADMIN: &str =
    "cargo run --release -- operator create --email dpo@acme.example --role admin --org acme --org-name \"Acme AB\"";
