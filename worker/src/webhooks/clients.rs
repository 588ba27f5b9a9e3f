//! HTTP clients for webhook endpoints, kept per host and the addresses the target policy
//! allowed for it: the host is resolved and checked before every attempt
//! ([`crate::targets::http::builder`]), and a client is reused only while it still connects to
//! exactly those addresses (building one per attempt would load the TLS roots each time).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Client, Url};

use crate::targets::{TargetError, TargetPolicy};

/// Why no client could be had.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The policy refuses the host (or it does not resolve).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// Plain HTTP to a host the policy does not explicitly allow.
    #[error("plain HTTP is allowed only to hosts the target policy allows")]
    PlainHttp,
    /// The client could not be built.
    #[error("the HTTP client could not be built")]
    Build,
}

/// A host and port.
type Host = (String, u16);

/// A client and the addresses it is pinned to.
type Pinned = (Vec<SocketAddr>, Client);

/// The clients, by host and port.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    by_host: Arc<Mutex<HashMap<Host, Pinned>>>,
}

impl Clients {
    /// A client for `url`, pinned to the addresses the policy allows now, with `timeout` per
    /// attempt; and whether the tenant may see what they answer
    /// ([`TargetPolicy::shows_answers_of`]).
    pub async fn for_url(
        &self,
        policy: &TargetPolicy,
        url: &Url,
        timeout: Duration,
    ) -> Result<(Client, bool), ClientError> {
        let host = url.host_str().ok_or(TargetError::Unresolved)?.to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs = policy.resolve(&host, port).await?;
        if url.scheme() == "http" && !policy.allows_plain_http(&addrs) {
            return Err(ClientError::PlainHttp);
        }
        let shown = policy.shows_answers_of(&addrs);
        let key = (host, port);
        {
            let cached = self.by_host.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((pinned, client)) = cached.get(&key)
                && *pinned == addrs
            {
                return Ok((client.clone(), shown));
            }
        }
        let client = crate::targets::http::builder(policy, url)
            .await?
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("Lethe-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| ClientError::Build)?;
        let mut cached = self.by_host.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cached.insert(key, (addrs, client.clone()));
        Ok((client, shown))
    }
}
