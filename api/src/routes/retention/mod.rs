//! Retention: policies (`policies`: list, create, read, replace, delete), their preview and
//! on-demand runs (`actions`), and run history (`runs`). Admins change policies, admins and
//! operators preview and run them, every role reads. Policies are checked at save time against
//! the store's live schema. The work is done by [`crate::services::policies`] and
//! [`crate::services::retention_runs`].

pub mod actions;
pub mod policies;
pub mod runs;

pub use crate::services::policies::{PolicyView, load, policy_not_found};
