//! Internal HTTP services that expose access and erasure endpoints for the data they hold.
//!
//! Every call is a `POST <base_url>/lethe/<operation>` with a JSON body, signed so the service
//! can check it came from Lethe and is fresh:
//!
//! ```text
//! Lethe-Timestamp: <unix seconds>
//! Lethe-Signature: v1=<hex HMAC-SHA256(signing_secret, timestamp + "." + body)>
//! ```
//!
//! A service should refuse a signature that does not verify or a timestamp more than five
//! minutes old. Calls go only to addresses the installation's target policy allows
//! ([`crate::targets`]), checked on every call. Connection tests call `/lethe/ping`; locating
//! stops at HTTP stores with a task (the service is asked for the data by the export and
//! erasure steps).

use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::Url;
use sha2::Sha256;

use super::StoreError;
use crate::targets::{self, TargetPolicy};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Lethe-Signature";
/// The header carrying the timestamp.
pub const TIMESTAMP_HEADER: &str = "Lethe-Timestamp";
/// The largest answer read from a service (16 MiB): a larger one fails the call with
/// `store_answer_too_large` and is not retried.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The signature of `body` sent at `timestamp`: `v1=<hex>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verifies a signature (constant time), for services written in Rust and for tests.
pub fn verify(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(hex_mac) = signature.strip_prefix("v1=") else { return false };
    let Ok(given) = hex::decode(hex_mac) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Sends a signed `POST <base>/lethe/<operation>` to the addresses the target policy allows
/// (checked on every call) and returns the JSON answer. The service's status and body are not
/// passed on (they are its own words); the status is logged.
pub async fn call(
    policy: &TargetPolicy,
    base_url: &str,
    secret: &str,
    operation: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, StoreError> {
    super::check_url(lethe_entities::StoreKind::Http, base_url)?;
    let body = serde_json::to_vec(body).expect("JSON serialises");
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let url = Url::parse(&format!("{}/lethe/{operation}", base_url.trim_end_matches('/')))
        .map_err(|_| StoreError::Config("the base URL is not valid".into()))?;
    let client = targets::http::builder(policy, &url)
        .await?
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|_| StoreError::Config("the HTTP client could not be built".into()))?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(secret, timestamp, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(service = %super::describe_url(base_url), timeout = e.is_timeout(), "service call failed");
            if e.is_timeout() {
                StoreError::Unreachable("the service did not answer in time")
            } else {
                StoreError::Unreachable("could not connect to the service")
            }
        })?;
    let status = response.status();
    if !status.is_success() {
        tracing::warn!(service = %super::describe_url(base_url), status = status.as_u16(), "service answered an error");
    }
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(StoreError::AuthFailed);
    }
    if status.is_client_error() {
        return Err(StoreError::Rejected("it answered with a client error"));
    }
    if !status.is_success() {
        return Err(StoreError::Protocol("it reported a server error"));
    }
    let body = read_bounded(response, MAX_ANSWER_BYTES).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(&body).map_err(|_| StoreError::Protocol("the body is not JSON"))
}

/// Reads an answer's body, refusing one longer than `limit` before reading past it.
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, StoreError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(StoreError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| StoreError::Protocol("the body could not be read"))? {
        if body.len() + chunk.len() > limit {
            return Err(StoreError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Tests a service: a signed `ping` must be answered with a 2xx.
pub async fn test(policy: &TargetPolicy, base_url: &str, secret: &str) -> Result<(), StoreError> {
    call(policy, base_url, secret, "ping", &serde_json::json!({ "ping": true })).await.map(drop)
}

/// Checks `base_url` against the target policy without calling.
pub async fn check(policy: &TargetPolicy, base_url: &str) -> Result<(), StoreError> {
    let url = Url::parse(base_url).map_err(|_| StoreError::Config("the base URL is not valid".into()))?;
    targets::http::builder(policy, &url).await.map(drop).map_err(StoreError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_secret_time_and_body() {
        let sig = sign("s3cret", 1_700_000_000, b"{}");
        assert!(verify("s3cret", 1_700_000_000, b"{}", &sig));
        assert!(!verify("other", 1_700_000_000, b"{}", &sig));
        assert!(!verify("s3cret", 1_700_000_001, b"{}", &sig));
        assert!(!verify("s3cret", 1_700_000_000, b"{ }", &sig));
        assert!(!verify("s3cret", 1_700_000_000, b"{}", "v1=zz"));
    }
}
