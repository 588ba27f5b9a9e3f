//! Lethe's schema as sea-orm migrations. Every migration runs on SQLite and PostgreSQL.
//!
//! One file per migration, named `mYYYYMMDD_NNNNNN_what`; never edit one that has shipped,
//! add a new one. [`SCHEMA_FINGERPRINT`] changes whenever any migration file changes, so test
//! harnesses can cache a migrated template database safely.
//!
//! The [`Migrator`] carries the installation's [`Keyring`]: a migration that starts encrypting
//! a column encrypts the rows already there, in place.

use lethe_entities::Keyring;
pub use sea_orm_migration::MigratorTraitSelf;
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_tenancy;
mod m20261122_000002_create_requests;
mod m20261122_000003_create_ledger;
mod m20261123_000004_create_stores;
mod m20261123_000005_create_exports;
mod m20261123_000006_task_service_calls;
mod m20261201_000007_recipients_and_org_settings;
mod m20261201_000008_service_access;
mod m20261201_000009_retention_and_holds;
mod m20261201_000010_hold_warnings_and_run_stops;
mod m20261201_000011_console_mfa;
mod m20261201_000012_portal_settings;
mod m20261202_000013_due_soon_days;
mod m20261203_000014_operator_email_per_organization;
mod m20261203_000015_free_text_encrypted;
mod m20261207_000016_privacy_notice;
mod m20261208_000017_webhooks;
mod m20261208_000018_idempotency_keys;
mod m20261208_000019_reports;
mod m20261208_000020_drp;
mod sealing;

/// A hash of every migration source file, computed at build time.
pub const SCHEMA_FINGERPRINT: &str = env!("LETHE_SCHEMA_FINGERPRINT");

/// All migrations, in order, with the keyring the encrypting ones use.
pub struct Migrator {
    keyring: Keyring,
}

impl Migrator {
    /// The migrator of an installation whose master key gives `keyring`.
    pub fn new(keyring: &Keyring) -> Self {
        Self { keyring: keyring.clone() }
    }
}

#[async_trait::async_trait]
impl MigratorTraitSelf for Migrator {
    fn migrations(&self) -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_tenancy::Migration),
            Box::new(m20261122_000002_create_requests::Migration),
            Box::new(m20261122_000003_create_ledger::Migration),
            Box::new(m20261123_000004_create_stores::Migration),
            Box::new(m20261123_000005_create_exports::Migration),
            Box::new(m20261123_000006_task_service_calls::Migration),
            Box::new(m20261201_000007_recipients_and_org_settings::Migration),
            Box::new(m20261201_000008_service_access::Migration),
            Box::new(m20261201_000009_retention_and_holds::Migration),
            Box::new(m20261201_000010_hold_warnings_and_run_stops::Migration),
            Box::new(m20261201_000011_console_mfa::Migration),
            Box::new(m20261201_000012_portal_settings::Migration),
            Box::new(m20261202_000013_due_soon_days::Migration),
            Box::new(m20261203_000014_operator_email_per_organization::Migration),
            Box::new(m20261203_000015_free_text_encrypted::Migration::new(&self.keyring)),
            Box::new(m20261207_000016_privacy_notice::Migration),
            Box::new(m20261208_000017_webhooks::Migration),
            Box::new(m20261208_000018_idempotency_keys::Migration),
            Box::new(m20261208_000019_reports::Migration),
            Box::new(m20261208_000020_drp::Migration),
        ]
    }
}
