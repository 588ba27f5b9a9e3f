//! API-key secrets: `lethe_<prefix>_<secret>`.
//!
//! The prefix (16 hex characters) is stored in clear to find the key; the secret (32 random
//! bytes) is stored only as a keyed digest and shown once, at creation or regeneration.

use lethe_entities::Keyring;
use lethe_entities::domain::crypto::random_token;

/// Scopes an API key can hold.
pub const SCOPES: [&str; 6] =
    ["requests:read", "requests:write", "requests:submit", "ledger:read", "webhooks:manage", "reports:read"];

/// A freshly generated key: the full secret to show once, its prefix, and the digest to store.
pub struct NewKey {
    /// The full key, shown to the admin once.
    pub full: String,
    /// The public prefix.
    pub prefix: String,
    /// The digest to store.
    pub digest: String,
}

/// The digest scope for API-key secrets.
fn scope(prefix: &str) -> String {
    format!("api-key:{prefix}")
}

/// Generates a new key.
pub fn generate(keyring: &Keyring) -> NewKey {
    let prefix: String = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    let secret = random_token(32);
    let digest = keyring.token_digest(&scope(&prefix), &secret);
    NewKey { full: format!("lethe_{prefix}_{secret}"), prefix, digest }
}

/// Splits a presented key into prefix and secret, if it looks like one.
pub fn parse(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix("lethe_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 16 && !secret.is_empty()).then_some((prefix, secret))
}

/// Whether `secret` matches the stored digest of the key with `prefix`.
pub fn matches(keyring: &Keyring, prefix: &str, secret: &str, digest: &str) -> bool {
    keyring.token_matches(&scope(prefix), secret, digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lethe_entities::MasterKey;

    #[test]
    fn generate_parse_match() {
        let keyring = Keyring::derive(&MasterKey::generate());
        let key = generate(&keyring);
        let (prefix, secret) = parse(&key.full).unwrap();
        assert_eq!(prefix, key.prefix);
        assert!(matches(&keyring, prefix, secret, &key.digest));
        assert!(!matches(&keyring, prefix, "other", &key.digest));
        assert!(parse("lethe_short_x").is_none());
        assert!(parse("Bearer abc").is_none());
    }
}
