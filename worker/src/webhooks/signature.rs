//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a secret is `whsec_`
//! followed by base64 of 24 random bytes; a message is signed as
//! `v1,` + base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}")), and
//! the `webhook-signature` header lists one signature per secret in force, separated by
//! spaces (so a receiver may change its secret while both are accepted).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh signing secret: `whsec_` + base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut bytes = Zeroizing::new([0u8; 24]);
    rand::rngs::OsRng.fill_bytes(&mut bytes[..]);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(&bytes[..]))
}

/// The `webhook-signature` header's value for `body` sent as message `id` at `timestamp`
/// (seconds), with one `v1,` signature per secret. A secret that is not valid base64 after its
/// prefix is skipped (Lethe generates them, so none is).
pub fn header(secrets: &[String], id: &str, timestamp: i64, body: &[u8]) -> String {
    let signatures: Vec<String> = secrets.iter().filter_map(|s| sign(s, id, timestamp, body)).collect();
    signatures.join(" ")
}

/// One `v1,` signature.
fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = Zeroizing::new(STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok()?);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference libraries.
    #[test]
    fn signs_as_the_reference_libraries_do() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        let signature = header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn lists_one_signature_per_secret() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with(SECRET_PREFIX) && a != b);
        assert_eq!(STANDARD.decode(&a[SECRET_PREFIX.len()..]).unwrap().len(), 24);
        let both = header(&[a.clone(), b], "msg_1", 1, b"{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], header(&[a], "msg_1", 1, b"{}"));
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
    }
}
