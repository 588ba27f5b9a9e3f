//! Signed DRP messages: base64 of an Ed25519 signature followed by the JSON it signs
//! (libsodium's "combined mode"), checked in the order section 3.07 gives: the message decodes
//! from base64; the signature verifies with the agent's key; the `agent-id` is the agent's; the
//! `business-id` is this organization's; `issued-at` is not in the future; `expires-at` is not
//! past. Lethe also refuses a validity window over ten minutes, the most the specification
//! recommends, so that a message cannot be replayed later than that (a replay within the window
//! is refused by the digest of the message, [`digest`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Iso8601;
use time::{Duration, OffsetDateTime};

/// The longest validity window taken (`expires-at` minus `issued-at`).
pub const MAX_WINDOW: Duration = Duration::minutes(10);

/// How far `issued-at` may be ahead of Lethe's clock (the agent's clock may run a little fast).
pub const CLOCK_SKEW: Duration = Duration::seconds(30);

/// Why a signed message is refused, in the specification's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not base64, or too short to hold a signature.
    #[error("the message is not base64 of a signature and a JSON document")]
    Encoding,
    /// The signature does not verify with the agent's key.
    #[error("the signature does not verify with the agent's key")]
    Signature,
    /// Not JSON, or a claim of the envelope is missing.
    #[error("the signed document is not the JSON the protocol specifies")]
    Document,
    /// `agent-id` is another agent's.
    #[error("the message was signed for another agent")]
    Agent,
    /// `business-id` is another business's.
    #[error("the message is for another business")]
    Business,
    /// `issued-at` is in the future, or not a time.
    #[error("issued-at is in the future or not an ISO 8601 time")]
    IssuedAt,
    /// `expires-at` is past, too far after `issued-at`, or not a time.
    #[error("the message has expired, or its validity window is over ten minutes")]
    ExpiresAt,
}

/// The claims every signed request carries.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    /// The agent's id.
    #[serde(rename = "agent-id")]
    pub agent_id: String,
    /// The business's id.
    #[serde(rename = "business-id")]
    pub business_id: String,
    /// When the agent made it (ISO 8601).
    #[serde(rename = "issued-at")]
    pub issued_at: String,
    /// When it stops being valid (ISO 8601).
    #[serde(rename = "expires-at")]
    pub expires_at: String,
}

/// The JSON document `body` carries, if its signature verifies with `key`.
pub fn open(key: &[u8; 32], body: &str) -> Result<Vec<u8>, Refused> {
    let bytes = STANDARD.decode(body.trim()).map_err(|_| Refused::Encoding)?;
    if bytes.len() < Signature::BYTE_SIZE {
        return Err(Refused::Encoding);
    }
    let (signature, message) = bytes.split_at(Signature::BYTE_SIZE);
    let signature = Signature::from_slice(signature).map_err(|_| Refused::Signature)?;
    let key = VerifyingKey::from_bytes(key).map_err(|_| Refused::Signature)?;
    key.verify_strict(message, &signature).map_err(|_| Refused::Signature)?;
    Ok(message.to_vec())
}

/// Whether `key` (32 bytes) is a usable Ed25519 public key.
pub fn is_key(key: &[u8]) -> bool {
    <[u8; 32]>::try_from(key).ok().and_then(|k| VerifyingKey::from_bytes(&k).ok()).is_some_and(|k| !k.is_weak())
}

/// Checks `envelope` for the agent `agent_id` and the business `business_id` at `now`.
pub fn check(envelope: &Envelope, agent_id: &str, business_id: &str, now: OffsetDateTime) -> Result<(), Refused> {
    if envelope.agent_id != agent_id {
        return Err(Refused::Agent);
    }
    if envelope.business_id != business_id {
        return Err(Refused::Business);
    }
    let issued = issued_at(envelope)?;
    if issued > now + CLOCK_SKEW {
        return Err(Refused::IssuedAt);
    }
    let expires = OffsetDateTime::parse(&envelope.expires_at, &Iso8601::DEFAULT).map_err(|_| Refused::ExpiresAt)?;
    if now >= expires || expires - issued > MAX_WINDOW {
        return Err(Refused::ExpiresAt);
    }
    Ok(())
}

/// When the message says it was issued.
pub fn issued_at(envelope: &Envelope) -> Result<OffsetDateTime, Refused> {
    OffsetDateTime::parse(&envelope.issued_at, &Iso8601::DEFAULT).map_err(|_| Refused::IssuedAt)
}

/// The hex SHA-256 of a signed message as sent (its base64, trimmed): the same message twice
/// has the same digest.
pub fn digest(body: &str) -> String {
    hex(&Sha256::digest(body.trim().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn signed(key: &SigningKey, message: &[u8]) -> String {
        let mut combined = key.sign(message).to_bytes().to_vec();
        combined.extend_from_slice(message);
        STANDARD.encode(combined)
    }

    fn envelope(issued: OffsetDateTime, expires: OffsetDateTime) -> Envelope {
        let iso = |t: OffsetDateTime| t.format(&Iso8601::DEFAULT).unwrap();
        Envelope {
            agent_id: "CR_AA".into(),
            business_id: "ACME".into(),
            issued_at: iso(issued),
            expires_at: iso(expires),
        }
    }

    #[test]
    fn a_combined_mode_message_opens_with_its_key_only() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let body = signed(&key, b"{\"a\":1}");
        assert_eq!(open(&key.verifying_key().to_bytes(), &body).unwrap(), b"{\"a\":1}");
        let other = SigningKey::from_bytes(&[8; 32]);
        assert_eq!(open(&other.verifying_key().to_bytes(), &body), Err(Refused::Signature));
        let mut tampered = STANDARD.decode(&body).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(open(&key.verifying_key().to_bytes(), &STANDARD.encode(tampered)), Err(Refused::Signature));
        assert_eq!(open(&key.verifying_key().to_bytes(), "not base64!"), Err(Refused::Encoding));
        assert_eq!(open(&key.verifying_key().to_bytes(), &STANDARD.encode([1u8; 10])), Err(Refused::Encoding));
    }

    #[test]
    fn the_envelope_is_checked_in_the_specifications_order() {
        let now = OffsetDateTime::now_utc();
        let fresh = envelope(now - Duration::seconds(5), now + Duration::minutes(5));
        assert_eq!(check(&fresh, "CR_AA", "ACME", now), Ok(()));
        assert_eq!(check(&fresh, "OTHER", "ACME", now), Err(Refused::Agent));
        assert_eq!(check(&fresh, "CR_AA", "OTHER", now), Err(Refused::Business));
        let future = envelope(now + Duration::minutes(2), now + Duration::minutes(5));
        assert_eq!(check(&future, "CR_AA", "ACME", now), Err(Refused::IssuedAt));
        let expired = envelope(now - Duration::minutes(10), now - Duration::seconds(1));
        assert_eq!(check(&expired, "CR_AA", "ACME", now), Err(Refused::ExpiresAt));
        let long = envelope(now - Duration::seconds(5), now + Duration::hours(1));
        assert_eq!(check(&long, "CR_AA", "ACME", now), Err(Refused::ExpiresAt), "over ten minutes");
        let mut garbled = fresh.clone();
        garbled.issued_at = "yesterday".into();
        assert_eq!(check(&garbled, "CR_AA", "ACME", now), Err(Refused::IssuedAt));
    }

    #[test]
    fn keys_must_be_32_bytes_of_a_curve_point() {
        assert!(is_key(&SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes()));
        assert!(!is_key(&[0; 31]));
        assert!(!is_key(&[0; 32]), "the identity point is a weak key");
    }
}
