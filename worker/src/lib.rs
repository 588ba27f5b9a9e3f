//! Lethe's background work: the job queue (apalis on SQLite or PostgreSQL), the jobs themselves,
//! mail delivery, the reconciler that makes sure no request is ever left without its next job,
//! and the deletion ledger's worker side (destruction in customers' stores, recovery, checkpoints).
//!
//! Jobs are small and idempotent: each one re-reads the request and does nothing when the
//! request is no longer in the state the job was meant for, so running a job twice (after a crash,
//! a retry or a duplicate enqueue) is harmless.

pub mod acknowledge;
pub mod context;
pub mod counters;
pub mod database;
pub mod drp;
pub mod erase;
pub mod error;
pub mod export;
pub mod give_up;
pub mod i18n;
pub mod jobs;
pub mod ledger;
pub mod locate;
pub mod mail;
pub mod notices;
pub mod portal_link;
pub mod private_fs;
pub mod queue;
pub mod recipients;
pub mod reconcile;
pub mod retention;
pub mod retry;
pub mod runner;
pub mod services;
pub mod settings;
pub mod stores;
pub mod targets;
pub mod tasks;
pub mod webhooks;

pub use context::JobContext;
pub use queue::JobQueue;
pub use settings::{ExportSettings, RetrySettings, ServiceSettings, VerificationSettings};
