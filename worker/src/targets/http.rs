//! HTTP clients for tenant-configured URLs (stores' services and webhook endpoints): the URL's
//! host is resolved and checked by the policy, and the client connects to those addresses only. The name
//! stays in the URL, so TLS verifies the certificate against it and the `Host` header carries it.
//! Redirects are not followed and no proxy from the environment is used (a proxy would resolve
//! the name again).

use reqwest::{ClientBuilder, Url};

use super::{TargetError, TargetPolicy};

/// A client builder for calls to `url`'s host, pinned to its checked addresses.
pub async fn builder(policy: &TargetPolicy, url: &Url) -> Result<ClientBuilder, TargetError> {
    let host = url.host_str().ok_or(TargetError::Unresolved)?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = policy.resolve(host, port).await?;
    Ok(reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).resolve_to_addrs(host, &addrs))
}
