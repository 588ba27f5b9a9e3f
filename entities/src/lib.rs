//! Lethe's vocabulary: the sea-orm entities and the domain rules that belong to them.
//!
//! * [`entity`] holds one module per table. Every table carries an `organization_id`
//!   and every finder in this crate takes the organization as an argument, so no query
//!   written through these helpers can cross tenants.
//! * [`domain`] holds the rules: the request state machine, legal deadlines per regime,
//!   identity normalisation, and the keyring that encrypts identities at rest.
//!
//! * [`ledger`] holds the deletion ledger: entry encoding, Merkle tree, signed checkpoints,
//!   offline verification, and the one append function every destruction calls.
//!
//! * [`datamap`] holds data maps: what each registered store holds about people and how
//!   locating and erasure treat it.
//!
//! * [`retention`] holds retention policies and their cron schedules.
//!
//! * [`drp`] holds the Data Rights Protocol's signed messages and statuses.
//!
//! * [`reports`] holds the figures over requests: the yearly metrics and the dashboard's.
//!
//! * [`webhook`] holds outbound webhooks' event types and the outbox every announced change
//!   is written to.
//!
//! This crate does no I/O beyond the database.

pub mod datamap;
pub mod domain;
pub mod drp;
pub mod entity;
pub mod ledger;
pub mod reports;
pub mod retention;
pub mod webhook;

pub use domain::crypto::{Keyring, MasterKey};
pub use domain::enums::{
    ActorKind, EventKind, IdentityKind, Regime, RequestKind, RequestState, Role, StoreKind, TaskStatus,
};
