//! One module per table. Finders take the organization id: tenant scoping is not optional.

pub mod api_key;
pub mod operator;
pub mod organization;
pub mod request;
pub mod request_event;
pub mod subject_identity;
pub mod verification_challenge;
