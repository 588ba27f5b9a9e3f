//! The Data Rights Protocol 1.0 (consumer-reports-innovation-lab/data-rights-protocol), Lethe
//! as the covered business: how a signed message is opened and its envelope checked
//! ([`signed`]), and how a Lethe request's state reads as a DRP status ([`status`]). The HTTP
//! endpoints are the API's; the status callbacks are the worker's.

pub mod signed;
pub mod status;
