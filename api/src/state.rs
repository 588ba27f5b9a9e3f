//! Shared application state handed to every handler.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lethe_entities::Keyring;
use lethe_entities::ledger::signer::LedgerSigner;
use lethe_worker::JobQueue;
use sea_orm::DatabaseConnection;

use crate::auth::jwt::TokenIssuer;
use crate::rate_limit::RateLimits;

/// Settings the HTTP layer needs at run time.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Minimum time between two verification codes for one request.
    pub resend_cooldown: Duration,
    /// Where access-export packages live (shared with the workers).
    pub exports_dir: PathBuf,
    /// How long export links work for organizations without their own setting
    /// (`LETHE_EXPORT_LINK_DAYS`).
    pub export_link_ttl: Duration,
    /// Browser cookies get `Secure`: the public URL is `https://`.
    pub secure_cookies: bool,
    /// How long a console session lasts without use (`LETHE_TOKEN_TTL_SECS`); each page renews it.
    pub session_ttl: Duration,
    /// The longest a long poll waits (`LETHE_WAIT_MAX_SECS`).
    pub wait_max: Duration,
    /// The base of links Lethe gives out (`LETHE_PUBLIC_URL`), without a trailing slash.
    pub public_url: String,
}

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Lethe's database.
    pub db: DatabaseConnection,
    /// Encryption and digest keys.
    pub keyring: Keyring,
    /// The job queue.
    pub queue: JobQueue,
    /// Issues and checks operator access tokens.
    pub tokens: Arc<TokenIssuer>,
    /// Rate limiters.
    pub limits: Arc<RateLimits>,
    /// Password hashing, bounded.
    pub hashing: crate::auth::hashing::Hashing,
    /// Settings.
    pub settings: Arc<ApiSettings>,
    /// Signs ledger checkpoints on demand.
    pub ledger: Arc<LedgerSigner>,
    /// Connections to the organizations' stores.
    pub stores: lethe_worker::stores::Registry,
    /// This process's workers' retries and work given up, for `/metrics`.
    pub work: Arc<lethe_worker::counters::WorkCounters>,
    /// Says the server is shutting down, so long polls answer instead of holding it up.
    pub stopping: Stopping,
}

/// Whether the server is shutting down, for waits that must not delay it.
#[derive(Debug, Clone)]
pub struct Stopping(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Stopping {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl Stopping {
    /// The server is shutting down.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once the server is shutting down.
    pub async fn stopped(&self) {
        let mut shutting_down = self.0.subscribe();
        // The sender lives in this value, so the channel cannot close while it is awaited.
        let _ = shutting_down.wait_for(|stopping| *stopping).await;
    }
}
