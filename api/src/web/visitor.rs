//! Visitors without a session (the customer portal): a random id in an HttpOnly,
//! SameSite=Strict cookie on `/p`, to which the forms' CSRF tokens are bound exactly as the
//! console binds them to its session ([`super::csrf`]). The id identifies nothing and nobody:
//! it is not stored and carries no personal data.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::response::Response;
use lethe_entities::domain::crypto::random_token;

use super::{WebError, cookie, csrf};
use crate::state::AppState;

/// The visitor cookie's name.
pub const COOKIE: &str = "lethe_visitor";
/// Where it is sent.
pub const PATH: &str = "/p";
/// How long it lives: a day (a form left open longer is sent again after a reload).
pub const MAX_AGE_SECS: u64 = 24 * 3600;

/// The visitor of a portal page.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The cookie's value.
    cookie: String,
    new: bool,
    secure: bool,
    /// The CSRF token for this visitor's forms.
    pub csrf: String,
}

/// What CSRF tokens of visitors are bound to (kept apart from console session ids).
fn scope(cookie: &str) -> String {
    format!("visitor:{cookie}")
}

impl Visitor {
    /// Checks a form's CSRF token against this visitor (a new visitor has sent no form).
    pub fn check(&self, keyring: &lethe_entities::Keyring, presented: &str) -> Result<(), WebError> {
        if self.new {
            return Err(WebError::csrf());
        }
        csrf::check(keyring, &scope(&self.cookie), Some(presented))
    }

    /// Sets the cookie on `response` if the visitor is new.
    pub fn attach(&self, mut response: Response) -> Response {
        if self.new {
            let policy = cookie::CookiePolicy { secure: self.secure };
            response.headers_mut().append(SET_COOKIE, policy.set(COOKIE, &self.cookie, PATH, MAX_AGE_SECS));
        }
        response
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let existing = cookie::read(&parts.headers, COOKIE)
            .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let (cookie, new) = match existing {
            Some(value) => (value.to_owned(), false),
            None => (random_token(32), true),
        };
        let csrf = csrf::token(&state.keyring, &scope(&cookie));
        Ok(Self { cookie, new, secure: state.settings.secure_cookies, csrf })
    }
}
