//! This process's counts of retries and of work given up, for `/metrics`. The states
//! themselves (`failed` requests and retention runs) are counted from the database for the
//! whole installation; these say how often this process's workers retried and gave up since
//! it started.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters shared by a process's workers.
#[derive(Debug, Default)]
pub struct WorkCounters {
    failed_attempts: AtomicU64,
    retries: AtomicU64,
    requests_failed: AtomicU64,
    runs_failed: AtomicU64,
    worker_restarts: AtomicU64,
}

/// A snapshot of [`WorkCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkCounts {
    /// Attempts that failed in a way that may pass (each is then retried, or gives up on the
    /// last attempt).
    pub failed_attempts: u64,
    /// Retries scheduled after failures that may pass.
    pub retries: u64,
    /// Requests moved to `failed`.
    pub requests_failed: u64,
    /// Retention runs failed.
    pub runs_failed: u64,
    /// Job workers restarted after their queue could not be read (Lethe's database failing).
    pub worker_restarts: u64,
}

impl WorkCounters {
    /// An attempt failed in a way that may pass (counted before its retry is scheduled).
    pub fn attempt_failed(&self) {
        self.failed_attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// A retry was scheduled.
    pub fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// A request went `failed`.
    pub fn request_failed(&self) {
        self.requests_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A retention run failed.
    pub fn run_failed(&self) {
        self.runs_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A job worker was restarted.
    pub fn worker_restarted(&self) {
        self.worker_restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn read(&self) -> WorkCounts {
        WorkCounts {
            failed_attempts: self.failed_attempts.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            requests_failed: self.requests_failed.load(Ordering::Relaxed),
            runs_failed: self.runs_failed.load(Ordering::Relaxed),
            worker_restarts: self.worker_restarts.load(Ordering::Relaxed),
        }
    }
}
