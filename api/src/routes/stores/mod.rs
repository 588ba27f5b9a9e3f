//! Registered stores: CRUD (`crud`), data maps and Fides import (`datamap`), connection tests,
//! discovery and preview (`actions`). Connection secrets are write-only: views describe where a
//! store is (scheme, host, database) but never carry a password, URL credentials or a signing
//! secret. The work is done by [`crate::services::stores`], [`crate::services::store_probes`]
//! and [`crate::services::datamaps`].

pub mod actions;
pub mod crud;
pub mod datamap;

pub use crate::services::stores::{StoreView, TestResult};
