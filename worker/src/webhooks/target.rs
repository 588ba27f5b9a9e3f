//! Whether a URL may be a webhook endpoint: its form (an `https` URL with a host, at most 2048
//! characters, no user, password or fragment), then the target policy (every address the host
//! resolves to allowed; plain `http` only where [`TargetPolicy::allows_plain_http`] says). The
//! policy is asked again before every attempt ([`super::clients`]); this check gives the admin
//! an answer when the endpoint is registered. A refusal by the policy does not say why.

use crate::targets::{TargetError, TargetPolicy};

/// The longest URL taken.
pub const MAX_URL_CHARS: usize = 2048;

/// Why a URL cannot be an endpoint (each message is safe to show the tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// Too long.
    #[error("at most 2048 characters")]
    TooLong,
    /// Not a URL.
    #[error("not a URL")]
    NotUrl,
    /// Not http(s), or no host.
    #[error("an https URL with a host")]
    Scheme,
    /// Credentials or a fragment in the URL.
    #[error("no user, password or fragment: put a token in the path or query instead")]
    Parts,
    /// Plain http to a host the policy does not allow it for.
    #[error("plain http is not allowed to this host: use https")]
    PlainHttp,
    /// The host does not resolve.
    #[error("the host name could not be resolved")]
    Unresolved,
    /// The policy refuses the address.
    #[error("this address is not allowed")]
    Refused,
}

/// The URL as it will be called, if `url` may be an endpoint.
pub async fn check(policy: &TargetPolicy, url: &str) -> Result<String, UrlRefused> {
    let url = url.trim();
    if url.chars().count() > MAX_URL_CHARS {
        return Err(UrlRefused::TooLong);
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| UrlRefused::NotUrl)?;
    let Some(host) = parsed.host_str().filter(|_| matches!(parsed.scheme(), "https" | "http")) else {
        return Err(UrlRefused::Scheme);
    };
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() {
        return Err(UrlRefused::Parts);
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    match policy.resolve(host, port).await {
        Ok(addrs) if parsed.scheme() == "http" && !policy.allows_plain_http(&addrs) => Err(UrlRefused::PlainHttp),
        Ok(_) => Ok(parsed.to_string()),
        Err(TargetError::Unresolved) => Err(UrlRefused::Unresolved),
        Err(TargetError::Refused(_)) => Err(UrlRefused::Refused),
    }
}
