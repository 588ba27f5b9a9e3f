//! The Data Rights Protocol 1.0, Lethe as the covered business: admins register the authorized
//! agents they accept ([`agents`]); agents set up their token, file requests, read their status
//! and revoke them through the protocol's own endpoints ([`protocol`]), with messages signed in
//! libsodium's combined mode and checked in the specification's order
//! ([`lethe_entities::drp::signed`]). Status callbacks are the worker's
//! ([`lethe_worker::drp::callbacks`]).

pub mod agents;
pub mod protocol;
