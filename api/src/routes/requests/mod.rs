//! Data-subject requests: intake (public), reading and operator actions.

pub mod actions;
pub mod attested;
pub mod certificate;
pub mod intake;
pub mod read;
pub mod recipients;
pub mod tasks;
pub mod views;
pub mod wait;
