//! Rate limits (GCRA, via `governor`), kept in memory per process.
//!
//! * Public endpoints: per client IP (the TCP peer; put Lethe behind a proxy that sets the peer
//!   correctly, or rely on the proxy's own limits).
//! * Submissions: additionally per e-mail blind index, so nobody can flood one person's inbox
//!   with verification codes. This also bounds guessing codes: each request allows a fixed
//!   number of guesses ([`crate::services::intake`]), so the guesses against an address are at
//!   most that many per submission the limit lets through.
//! * Sign-in: per IP, against password guessing (on top of the per-account lockout).
//!
//! There is no limit on code attempts per e-mail address: it would be shared by every request
//! for the address, so a stranger's wrong guesses on a request of their own could lock out the
//! person whose code it is.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// The limiters of one process.
pub struct RateLimits {
    public_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_email: DefaultKeyedRateLimiter<String>,
}

/// Limits, configurable.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    /// Requests per minute per IP on public and sign-in endpoints.
    pub public_per_minute: u32,
    /// Submissions per hour per e-mail address.
    pub submissions_per_email_per_hour: u32,
}

impl RateLimits {
    /// Builds the limiters.
    pub fn new(settings: RateLimitSettings) -> Self {
        let per_minute = NonZeroU32::new(settings.public_per_minute.max(1)).expect("non-zero");
        let per_hour = NonZeroU32::new(settings.submissions_per_email_per_hour.max(1)).expect("non-zero");
        Self {
            public_per_ip: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_email: RateLimiter::keyed(Quota::per_hour(per_hour)),
        }
    }

    /// Checks and counts one submission for an e-mail blind index.
    pub fn check_email(&self, email_index: &str) -> Result<(), ApiError> {
        self.per_email.check_key(&email_index.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many(
                "too_many_submissions",
                "too many requests for this e-mail address; try again later",
                wait.as_secs(),
            )
        })
    }

    /// Drops state of keys that are back to full quota (call periodically).
    pub fn retain_recent(&self) {
        self.public_per_ip.retain_recent();
        self.per_email.retain_recent();
    }
}

/// Middleware: limits requests per client IP.
pub async fn per_ip(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match limits.public_per_ip.check_key(&ip) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many("rate_limited", "too many requests from this address; slow down", wait.as_secs())
                .into_response()
        }
    }
}
