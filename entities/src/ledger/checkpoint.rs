//! Signed tree heads ("checkpoints"): an organization's tree size, time and root hash, signed
//! with Ed25519. The signed message is
//!
//! ```text
//! "lethe-checkpoint/v1\n" || organization id (16 bytes) || tree_size (u64 BE)
//!     || signed_at microseconds (i64 BE) || root hash (32 bytes)
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::entry::{format_micros, from_hex32, parse_micros, to_hex};
use super::merkle::Hash;

const DOMAIN: &[u8] = b"lethe-checkpoint/v1\n";
const SPKI_ED25519_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// A signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The organization whose ledger it covers.
    pub organization_id: Uuid,
    /// Number of entries covered.
    pub tree_size: u64,
    /// When it was signed, microseconds since the Unix epoch.
    pub signed_at_us: i64,
    /// Merkle root of the first `tree_size` entries.
    pub root_hash: Hash,
    /// Which key signed ([`key_id`] of its public key).
    pub key_id: String,
    /// Ed25519 signature over [`Checkpoint::signed_message`].
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The bytes the signature covers.
    pub fn signed_message(organization_id: Uuid, tree_size: u64, signed_at_us: i64, root: &Hash) -> Vec<u8> {
        let mut m = Vec::with_capacity(DOMAIN.len() + 16 + 8 + 8 + 32);
        m.extend_from_slice(DOMAIN);
        m.extend_from_slice(organization_id.as_bytes());
        m.extend_from_slice(&tree_size.to_be_bytes());
        m.extend_from_slice(&signed_at_us.to_be_bytes());
        m.extend_from_slice(root);
        m
    }

    /// Signs a tree head.
    pub fn sign(key: &SigningKey, organization_id: Uuid, tree_size: u64, signed_at_us: i64, root: Hash) -> Self {
        let signature = key.sign(&Self::signed_message(organization_id, tree_size, signed_at_us, &root));
        Self {
            organization_id,
            tree_size,
            signed_at_us,
            root_hash: root,
            key_id: key_id(&key.verifying_key()),
            signature: signature.to_bytes(),
        }
    }

    /// Whether `key` signed exactly this tree head.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let message = Self::signed_message(self.organization_id, self.tree_size, self.signed_at_us, &self.root_hash);
        key.verify(&message, &Signature::from_bytes(&self.signature)).is_ok()
    }

    /// The JSON form.
    pub fn to_record(&self) -> CheckpointRecord {
        CheckpointRecord {
            organization_id: self.organization_id,
            tree_size: self.tree_size,
            signed_at: format_micros(self.signed_at_us),
            root_hash: to_hex(&self.root_hash),
            key_id: self.key_id.clone(),
            signature: STANDARD.encode(self.signature),
        }
    }
}

/// A checkpoint as JSON (in exports and the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckpointRecord {
    /// The organization.
    pub organization_id: Uuid,
    /// Entries covered.
    pub tree_size: u64,
    /// RFC 3339 UTC with six fractional digits.
    pub signed_at: String,
    /// Merkle root, hex.
    pub root_hash: String,
    /// Signing key id.
    pub key_id: String,
    /// Ed25519 signature, base64.
    pub signature: String,
}

impl CheckpointRecord {
    /// Rebuilds the checkpoint; `None` if a field is malformed.
    pub fn to_checkpoint(&self) -> Option<Checkpoint> {
        let signature: [u8; 64] = STANDARD.decode(&self.signature).ok()?.try_into().ok()?;
        Some(Checkpoint {
            organization_id: self.organization_id,
            tree_size: self.tree_size,
            signed_at_us: parse_micros(&self.signed_at)?,
            root_hash: from_hex32(&self.root_hash)?,
            key_id: self.key_id.clone(),
            signature,
        })
    }
}

/// A short, stable id of a public key: the first 16 hex digits of SHA-256 over its 32 bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    to_hex(&Sha256::digest(key.as_bytes())[..8])
}

/// The public key as PEM (SubjectPublicKeyInfo), the form `openssl pkey -pubin` reads.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    let mut der = SPKI_ED25519_PREFIX.to_vec();
    der.extend_from_slice(key.as_bytes());
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(der))
}

/// Parses a public key given as PEM (SubjectPublicKeyInfo), base64 of the 32 raw bytes, or 64
/// hex digits.
pub fn parse_public_key(text: &str) -> Option<VerifyingKey> {
    let text = text.trim();
    let raw: [u8; 32] = if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body.trim()).ok()?;
        let key = der.strip_prefix(&SPKI_ED25519_PREFIX[..])?;
        key.try_into().ok()?
    } else if let Some(bytes) = from_hex32(text) {
        bytes
    } else {
        STANDARD.decode(text).ok()?.try_into().ok()?
    };
    VerifyingKey::from_bytes(&raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn signatures_bind_every_field() {
        let org = Uuid::from_u128(5);
        let cp = Checkpoint::sign(&key(1), org, 10, 1_000, [3; 32]);
        let pk = key(1).verifying_key();
        assert!(cp.verify(&pk));
        assert!(!cp.verify(&key(2).verifying_key()));
        for change in 0..4 {
            let mut bad = cp.clone();
            match change {
                0 => bad.tree_size += 1,
                1 => bad.signed_at_us += 1,
                2 => bad.root_hash[0] ^= 1,
                _ => bad.organization_id = Uuid::from_u128(6),
            }
            assert!(!bad.verify(&pk), "change {change}");
        }
        let back = cp.to_record().to_checkpoint().unwrap();
        assert_eq!(back, cp);
    }

    #[test]
    fn public_keys_parse_from_pem_base64_and_hex() {
        let pk = key(4).verifying_key();
        assert_eq!(parse_public_key(&public_key_pem(&pk)), Some(pk));
        assert_eq!(parse_public_key(&STANDARD.encode(pk.as_bytes())), Some(pk));
        assert_eq!(parse_public_key(&to_hex(pk.as_bytes())), Some(pk));
        assert_eq!(parse_public_key("not a key"), None);
        assert_eq!(key_id(&pk).len(), 16);
    }
}
