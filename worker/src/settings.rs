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

/// How jobs retry failures that may pass (a store restarting, a dropped connection, Lethe's own
/// database busy): each retry is a job of its own, enqueued with a delay that doubles from
/// `first_delay` up to `max_delay`, with jitter, until `attempts` attempts have been made; then
/// the work gives up and its request (or retention run) goes `failed` with the last error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The delay before the second attempt.
    pub first_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self { attempts: 8, first_delay: Duration::from_secs(2), max_delay: Duration::from_secs(300) }
    }
}

impl RetrySettings {
    /// Whether attempt `attempt` (1 for the first) is the last one allowed.
    pub fn is_last(&self, attempt: u32) -> bool {
        attempt >= self.attempts.max(1)
    }

    /// The delay after attempt `attempt` (1 for the first) failed: `first_delay` doubled per
    /// attempt, at most `max_delay`, of which a random half is taken away ("equal jitter"), so
    /// retries of many jobs that failed together spread out while each still waits at least half
    /// its step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let step = self.step(attempt);
        let half = step / 2;
        half + half.mul_f64(rand::random::<f64>())
    }

    /// The delay without jitter: `first_delay` × 2^(attempt − 1), at most `max_delay`.
    pub fn step(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.first_delay.saturating_mul(1u32 << doublings).min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_at_most_half_taken_away() {
        let retry = RetrySettings::default();
        let steps: Vec<u64> = (1..=9).map(|a| retry.step(a).as_secs()).collect();
        assert_eq!(steps, [2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(retry.step(u32::MAX), Duration::from_secs(300));
        for attempt in 1..=10 {
            let (step, delay) = (retry.step(attempt), retry.delay(attempt));
            assert!(delay >= step / 2 && delay <= step, "{attempt}: {delay:?} of {step:?}");
        }
        assert!(!retry.is_last(7) && retry.is_last(8) && retry.is_last(9));
        assert!(RetrySettings { attempts: 0, ..retry }.is_last(1));
    }
}
