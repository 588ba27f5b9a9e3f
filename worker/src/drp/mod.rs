//! The Data Rights Protocol 1.0 on the worker's side: the Exercise Status document a request
//! reads as ([`document`], shared with the API's status endpoint), and the status callbacks to
//! the agents that asked for them ([`callbacks`]).

pub mod callbacks;
pub mod document;
