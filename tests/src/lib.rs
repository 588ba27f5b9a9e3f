//! Test support: a real Lethe (router, workers, database) per test, on SQLite or PostgreSQL,
//! driven over real TCP; helpers to read the mail it sends; a real SMTP server process.

pub mod a11y;
pub mod app;
pub mod bench;
pub mod browser;
pub mod cleanup;
pub mod company;
pub mod console;
pub mod drp_agent;
pub mod leaks;
pub mod logins;
pub mod mailbox;
pub mod package;
pub mod portal;
pub mod postgres;
pub mod python;
pub mod queued;
pub mod raw;
pub mod reports;
pub mod retention;
pub mod scan;
pub mod smtp;
pub mod webhook_receiver;

pub use app::{Backend, TestApp, spawn_app, spawn_app_with};

/// Declares one async test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($backend:ident: Backend) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($backend: $crate::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::Backend::Postgres).await
            }
        }
    )*};
}
