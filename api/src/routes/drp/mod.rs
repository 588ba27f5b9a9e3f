//! The Data Rights Protocol 1.0: admins register authorized agents (`/v1/drp/agents`,
//! [`agents`]); agents call the protocol's own endpoints ([`protocol`]) with signed messages
//! and the bearer token of their pair-wise key setup. See the book's Data Rights Protocol
//! chapter.

pub mod agents;
pub mod protocol;
