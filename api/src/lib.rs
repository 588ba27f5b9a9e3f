//! Lethe's HTTP API and the `lethe` binary's commands.
//!
//! Dependencies point one way: `entities` <- `worker` <- `api`.

pub mod accounts;
pub mod auth;
pub mod certificate_cli;
pub mod cli;
pub mod config;
pub mod console;
pub mod engine;
pub mod error;
pub mod extract;
pub mod ledger_cli;
pub mod logging;
pub mod openapi;
pub mod portal;
pub mod rate_limit;
pub mod redact;
pub mod routes;
pub mod server;
pub mod services;
pub mod state;
pub mod stores_cli;
pub mod web;
