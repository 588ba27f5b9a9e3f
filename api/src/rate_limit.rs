//! Rate limits (GCRA, via `governor`), kept in memory per process.
//!
//! * API calls with a valid operator token or API key: per caller (the operator or the key),
//!   wherever they are made from ([`crate::routes::throttle`]).
//! * Public endpoints and API calls without a valid credential: per client IP (the TCP peer;
//!   put Lethe behind a proxy that sets the peer correctly, or rely on the proxy's own limits).
//! * Submissions: additionally per e-mail blind index, so nobody can flood one person's inbox
//!   with verification codes. This also bounds guessing codes: each request allows a fixed
//!   number of guesses ([`crate::services::intake`]), so the guesses against an address are at
//!   most that many per submission the limit lets through.
//! * Every door that checks a password or a second-factor code (the JSON login, the console's
//!   sign-in and code pages, password changes, second-factor changes): one budget per client IP
//!   shared by all of them ([`RateLimits::check_credentials`], `LETHE_SIGN_IN_RATE_PER_MINUTE`),
//!   against guessing, on top of the per-account lockout and before any password is hashed.
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
use uuid::Uuid;

use crate::error::ApiError;

/// The limiters of one process.
pub struct RateLimits {
    public_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_caller: DefaultKeyedRateLimiter<Uuid>,
    per_email: DefaultKeyedRateLimiter<String>,
    credentials_per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

/// Limits, configurable.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    /// Requests per minute per IP on public and sign-in endpoints.
    pub public_per_minute: u32,
    /// Requests per minute per authenticated caller (operator or API key) on the API.
    pub authenticated_per_minute: u32,
    /// Submissions per hour per e-mail address.
    pub submissions_per_email_per_hour: u32,
    /// Password and code checks per minute per IP, over every door that checks one.
    pub sign_in_per_minute: u32,
}

impl RateLimits {
    /// Builds the limiters.
    pub fn new(settings: RateLimitSettings) -> Self {
        let per_minute = NonZeroU32::new(settings.public_per_minute.max(1)).expect("non-zero");
        let per_caller = NonZeroU32::new(settings.authenticated_per_minute.max(1)).expect("non-zero");
        let per_hour = NonZeroU32::new(settings.submissions_per_email_per_hour.max(1)).expect("non-zero");
        let sign_ins = NonZeroU32::new(settings.sign_in_per_minute.max(1)).expect("non-zero");
        Self {
            public_per_ip: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_caller: RateLimiter::keyed(Quota::per_minute(per_caller)),
            per_email: RateLimiter::keyed(Quota::per_hour(per_hour)),
            credentials_per_ip: RateLimiter::keyed(Quota::per_minute(sign_ins)),
        }
    }

    /// Checks and counts one call from client address `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.public_per_ip.check_key(&client(ip)).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many("rate_limited", "too many requests from this address; slow down", wait.as_secs())
        })
    }

    /// Checks and counts one call of an authenticated caller (operator or API key id).
    pub fn check_caller(&self, caller: Uuid) -> Result<(), ApiError> {
        self.per_caller.check_key(&caller).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many("rate_limited", "too many requests from this caller; slow down", wait.as_secs())
        })
    }

    /// Checks and counts one password or code check from client address `ip` (`None`: the
    /// server runs without connection info, as in-process tests may), whichever door it comes
    /// through: `429 too_many_sign_ins` beyond the budget.
    pub fn check_credentials(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let ip = client(ip.unwrap_or(IpAddr::from([0, 0, 0, 0])));
        self.credentials_per_ip.check_key(&ip).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many(
                "too_many_sign_ins",
                "too many password or code attempts from this address; try again later",
                wait.as_secs(),
            )
        })
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
        self.per_caller.retain_recent();
        self.per_email.retain_recent();
        self.credentials_per_ip.retain_recent();
    }
}

/// The key a client address is counted under: an IPv4 address as it is, an IPv6 address by its
/// /64 network (one subscriber's allocation, which holds 2^64 addresses of its own), an
/// IPv4-mapped IPv6 address as the IPv4 address it maps.
pub fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// Middleware: limits requests per client IP (the portal's pages, which take no credential).
pub async fn per_ip(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    match limits.check_ip(peer(&request)) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// The TCP peer's address (`0.0.0.0` when the server runs without connection info).
pub fn peer(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client(a), client(b));
        assert_ne!(client(a), client(other));
        assert_eq!(client("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!(client("192.0.2.7".parse().unwrap()), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn one_network_shares_one_sign_in_budget() {
        let settings = RateLimitSettings {
            public_per_minute: 100,
            authenticated_per_minute: 100,
            submissions_per_email_per_hour: 100,
            sign_in_per_minute: 2,
        };
        let limits = RateLimits::new(settings);
        for host in 1..=2u16 {
            limits.check_credentials(Some(IpAddr::from([0x2001, 0xdb8, 0, 7, 0, 0, 0, host]))).unwrap();
        }
        let third = limits.check_credentials(Some(IpAddr::from([0x2001, 0xdb8, 0, 7, 9, 9, 9, 9])));
        assert_eq!(third.unwrap_err().code(), "too_many_sign_ins");
        limits.check_credentials(Some(IpAddr::from([0x2001, 0xdb8, 0, 8, 0, 0, 0, 1]))).unwrap();
    }
}
