//! The worker's settings: verification codes, HTTP services and exports. Filled from the
//! configuration by the API crate's `config`; their defaults are the development ones.

use std::path::PathBuf;
use std::time::Duration;

/// Rules for identity-verification codes.
#[derive(Debug, Clone, Copy)]
pub struct VerificationSettings {
    /// How long a code works.
    pub code_ttl: Duration,
    /// Wrong attempts allowed per code.
    pub max_attempts: i32,
}

impl Default for VerificationSettings {
    fn default() -> Self {
        Self { code_ttl: Duration::from_secs(15 * 60), max_attempts: 5 }
    }
}

/// How erasure works with internal HTTP services.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Lethe's public base URL: services call back `<public url>/v1/callbacks/tasks/<task>`.
    pub public_url: String,
    /// The wait before the first retry of a failed call; it doubles with each attempt.
    pub retry_after: Duration,
    /// Calls before the task fails with the service's last error.
    pub max_attempts: i32,
    /// How long a service that accepted the work may take to call back.
    pub callback_timeout: Duration,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            retry_after: Duration::from_secs(30),
            max_attempts: 5,
            callback_timeout: Duration::from_secs(24 * 3600),
        }
    }
}

/// How exports are kept and offered.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// Where package files live (`<data dir>/exports`); the API reads them from the same place.
    pub dir: PathBuf,
    /// How long a download link works (and the package is kept) unless the organization sets
    /// its own lifetime (`organizations.export_link_days`).
    pub link_ttl: Duration,
    /// Downloads allowed per export.
    pub max_downloads: i32,
    /// The base of download links: `<public url>/v1/exports/<token>`.
    pub public_url: String,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("lethe-data/exports"),
            link_ttl: Duration::from_secs(7 * 24 * 3600),
            max_downloads: 10,
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}
