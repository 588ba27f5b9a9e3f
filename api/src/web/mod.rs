//! Server-rendered HTML: what the operator console and the customer portal share.
//!
//! * Pages are askama templates compiled into the binary (`api/templates/`); every value is
//!   HTML-escaped by the template engine.
//! * One stylesheet and one small script for progressive enhancement, embedded and served from
//!   `/assets/` ([`assets`]); no inline script or style anywhere, so the Content-Security-Policy
//!   ([`headers`]) forbids them outright.
//! * Every HTML response carries the security headers; pages with data are `no-store`.
//! * Every form carries a CSRF token bound to the session ([`csrf`]), or for the portal's
//!   visitors without a session to a random visitor cookie ([`visitor`]); a POST without the
//!   right one is a 403 page.
//! * Errors are HTML pages with a stable code and no internals ([`error`]).

pub mod assets;
pub mod client;
pub mod cookie;
pub mod csrf;
pub mod error;
pub mod form;
pub mod headers;
pub mod page;
pub mod visitor;

pub use error::{WebError, WebResult};
pub use page::render;
