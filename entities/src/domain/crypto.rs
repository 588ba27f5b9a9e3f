//! The keyring: every secret Lethe uses is derived from one master key.
//!
//! The 32-byte master key (`LETHE_MASTER_KEY`, base64) never encrypts anything itself. HKDF-SHA256
//! derives one independent sub-key per purpose, so a key used for blind indexes can never be
//! confused with one used for encryption or for signing tokens:
//!
//! | purpose | use |
//! |---|---|
//! | `identity-encryption` | AES-256-GCM of subject identities and free text (reasons, notes) at rest |
//! | `blind-index` | HMAC-SHA256 of normalised identities, scoped per organization, for lookups |
//! | `token-digest` | HMAC-SHA256 of status tokens, verification codes and API-key secrets |
//! | `jwt-hs512` | the HS512 secret of operator access tokens |
//! | `ledger-subject` | per-organization HMAC keys for the deletion ledger's subject references |
//! | `pseudonym` | HMAC-SHA256 replacing values that erasure `hash`es (scoped per organization) |
//!
//! Ciphertexts start with a one-byte key version so a future rotation can tell old from new.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::domain::enums::IdentityKind;

type HmacSha256 = Hmac<Sha256>;

/// The version byte written in front of every ciphertext produced by this keyring.
const CIPHERTEXT_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Errors from key handling and decryption. They never contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The master key is not 32 bytes of standard base64.
    #[error("the master key must be 32 bytes encoded as base64")]
    InvalidMasterKey,
    /// A ciphertext could not be authenticated: wrong key, wrong context, or tampering.
    #[error("ciphertext could not be decrypted (wrong key, wrong context or tampered)")]
    Decrypt,
}

/// The 32-byte root secret. It is wiped from memory when dropped and never printed.
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// Parses a base64-encoded 32-byte key.
    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        let mut bytes = STANDARD.decode(encoded.trim()).map_err(|_| CryptoError::InvalidMasterKey)?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| CryptoError::InvalidMasterKey)?;
        bytes.zeroize();
        Ok(Self(key))
    }

    /// Generates a fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// The key as base64, for writing it to a key file the operator controls.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0))
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// The purpose-specific keys derived from a [`MasterKey`].
#[derive(Clone)]
pub struct Keyring {
    cipher: Aes256Gcm,
    blind_index_key: Zeroizing<[u8; 32]>,
    token_key: Zeroizing<[u8; 32]>,
    jwt_secret: Zeroizing<[u8; 64]>,
    session_secret: Zeroizing<[u8; 64]>,
    ledger_subject_key: Zeroizing<[u8; 32]>,
    pseudonym_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

impl Keyring {
    /// Derives every sub-key from the master key.
    pub fn derive(master: &MasterKey) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"lethe/v1"), &master.0);
        let mut encryption = Zeroizing::new([0u8; 32]);
        let mut blind_index_key = Zeroizing::new([0u8; 32]);
        let mut token_key = Zeroizing::new([0u8; 32]);
        let mut jwt_secret = Zeroizing::new([0u8; 64]);
        let mut session_secret = Zeroizing::new([0u8; 64]);
        let mut ledger_subject_key = Zeroizing::new([0u8; 32]);
        let mut pseudonym_key = Zeroizing::new([0u8; 32]);
        // HKDF-SHA256 can expand up to 8160 bytes; these lengths cannot fail.
        for (info, out) in [
            (&b"identity-encryption"[..], &mut encryption[..]),
            (b"blind-index", &mut blind_index_key[..]),
            (b"token-digest", &mut token_key[..]),
            (b"jwt-hs512", &mut jwt_secret[..]),
            (b"web-session-hs512", &mut session_secret[..]),
            (b"ledger-subject", &mut ledger_subject_key[..]),
            (b"pseudonym", &mut pseudonym_key[..]),
        ] {
            hk.expand(info, out).expect("HKDF output length is valid");
        }
        let cipher = Aes256Gcm::new_from_slice(&encryption[..]).expect("32-byte key");
        Self { cipher, blind_index_key, token_key, jwt_secret, session_secret, ledger_subject_key, pseudonym_key }
    }

    /// Encrypts `plaintext` with AES-256-GCM under a fresh random nonce. `context` is bound as
    /// associated data: a ciphertext moved to another row or organization fails to decrypt.
    pub fn encrypt(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: context })
            .expect("AES-GCM encryption of in-memory data cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(CIPHERTEXT_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Encrypts a text (a reason, a note) as [`Keyring::encrypt`] does.
    pub fn seal_text(&self, text: &str, context: &[u8]) -> Vec<u8> {
        self.encrypt(text.as_bytes(), context)
    }

    /// Decrypts what [`Keyring::seal_text`] produced with the same `context`; a plaintext that is
    /// not UTF-8 counts as a failure to decrypt.
    pub fn open_text(&self, blob: &[u8], context: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(blob, context)?.to_vec()).map_err(|_| CryptoError::Decrypt)
    }

    /// Decrypts what [`Keyring::encrypt`] produced with the same `context`.
    pub fn decrypt(&self, blob: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if blob.len() < 1 + NONCE_LEN || blob[0] != CIPHERTEXT_VERSION {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, sealed) = blob[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Decrypt)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: context })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }

    /// The blind index of a normalised identity: HMAC-SHA256 over the organization, the kind and
    /// the value, hex-encoded. Equal identities in one organization give equal indexes; the same
    /// person in two organizations gives unrelated ones.
    pub fn blind_index(&self, organization: Uuid, kind: IdentityKind, normalised: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.blind_index_key[..]).expect("any key length");
        mac.update(organization.as_bytes());
        mac.update(kind.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(normalised.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A keyed digest of a secret token (status token, verification code, API-key secret), for
    /// storage. `scope` separates uses, e.g. a request id for verification codes.
    pub fn token_digest(&self, scope: &str, token: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.token_key[..]).expect("any key length");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(token.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Compares a presented token with a stored digest in constant time.
    pub fn token_matches(&self, scope: &str, token: &str, stored_digest: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.token_digest(scope, token).as_bytes().ct_eq(stored_digest.as_bytes()).into()
    }

    /// The deletion ledger's reference to a subject, from the identity's blind index: HMAC-SHA256
    /// under a per-organization secret (itself HMAC-SHA256 of the organization id under the
    /// `ledger-subject` key). Whoever holds the ledger learns nothing about the person; Lethe can
    /// recompute it from the identity to answer "was this person erased?". It differs from the
    /// blind index, so a copy of the ledger cannot be joined with a copy of the identity table.
    pub fn ledger_subject_ref(&self, organization: Uuid, blind_index: &str) -> [u8; 32] {
        let mut org_mac = <HmacSha256 as Mac>::new_from_slice(&self.ledger_subject_key[..]).expect("any key length");
        org_mac.update(organization.as_bytes());
        let org_secret: Zeroizing<[u8; 32]> = Zeroizing::new(org_mac.finalize().into_bytes().into());
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&org_secret[..]).expect("any key length");
        mac.update(b"lethe-ledger-subject/v1\0");
        mac.update(blind_index.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The pseudonym that erasure's `hash` action writes in place of `value`: HMAC-SHA256 under
    /// the `pseudonym` key, scoped per organization, hex-encoded (64 characters). Equal values
    /// stay equal (joins and counts keep working); the value cannot be recovered.
    pub fn pseudonym(&self, organization: Uuid, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.pseudonym_key[..]).expect("any key length");
        mac.update(organization.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The HS512 secret for operator access tokens.
    pub fn jwt_secret(&self) -> &[u8] {
        &self.jwt_secret[..]
    }

    /// The HS512 secret for browser sessions (the console's cookie). Separate from
    /// [`Keyring::jwt_secret`], so an API token is never accepted as a session or back.
    pub fn session_secret(&self) -> &[u8] {
        &self.session_secret[..]
    }
}

/// The associated data that binds a ciphertext to what it belongs to: a `label` naming the
/// field, then the ids of its owners, organization first (`("request-event-reason", [org,
/// request, event])`). A ciphertext copied to another field, row or organization fails to
/// decrypt.
pub fn bound_context(label: &str, owners: &[Uuid]) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(label.len() + 1 + 16 * owners.len());
    ctx.extend_from_slice(label.as_bytes());
    ctx.push(0);
    for owner in owners {
        ctx.extend_from_slice(owner.as_bytes());
    }
    ctx
}

/// A random URL-safe token with `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = Zeroizing::new(vec![0u8; bytes]);
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(&buf[..])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::derive(&MasterKey::from_base64(&STANDARD.encode([7u8; 32])).unwrap())
    }

    #[test]
    fn encryption_round_trips_and_binds_context() {
        let k = keyring();
        let blob = k.encrypt(b"someone@example.com", b"ctx-a");
        assert_ne!(&blob[1 + NONCE_LEN..], b"someone@example.com");
        assert_eq!(&k.decrypt(&blob, b"ctx-a").unwrap()[..], b"someone@example.com");
        assert!(matches!(k.decrypt(&blob, b"ctx-b"), Err(CryptoError::Decrypt)));
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(k.decrypt(&tampered, b"ctx-a"), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn texts_round_trip_bound_to_their_owners() {
        let k = keyring();
        let (org, row) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let ctx = bound_context("note", &[org, row]);
        assert_eq!(ctx.len(), 5 + 32);
        let blob = k.seal_text("Called Ann Smith", &ctx);
        assert_eq!(k.open_text(&blob, &ctx).unwrap(), "Called Ann Smith");
        assert!(k.open_text(&blob, &bound_context("note", &[row, org])).is_err());
        assert!(k.open_text(&blob, &bound_context("other", &[org, row])).is_err());
        assert!(k.open_text(&k.encrypt(&[0xff, 0xfe], &ctx), &ctx).is_err(), "not UTF-8");
    }

    #[test]
    fn nonces_are_fresh() {
        let k = keyring();
        assert_ne!(k.encrypt(b"x", b""), k.encrypt(b"x", b""));
    }

    #[test]
    fn blind_index_is_deterministic_and_tenant_scoped() {
        let k = keyring();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let i1 = k.blind_index(a, IdentityKind::Email, "p@example.com");
        assert_eq!(i1, k.blind_index(a, IdentityKind::Email, "p@example.com"));
        assert_ne!(i1, k.blind_index(b, IdentityKind::Email, "p@example.com"));
        assert_ne!(i1, k.blind_index(a, IdentityKind::CustomerId, "p@example.com"));
        assert_eq!(i1.len(), 64);
    }

    #[test]
    fn different_master_keys_give_unrelated_keys() {
        let other = Keyring::derive(&MasterKey::from_base64(&STANDARD.encode([8u8; 32])).unwrap());
        let k = keyring();
        assert_ne!(k.token_digest("s", "t"), other.token_digest("s", "t"));
        assert_ne!(k.jwt_secret(), other.jwt_secret());
        assert!(k.token_matches("s", "t", &k.token_digest("s", "t")));
        assert!(!k.token_matches("s", "u", &k.token_digest("s", "t")));
        assert!(!k.token_matches("r", "t", &k.token_digest("s", "t")));
    }

    #[test]
    fn master_key_rejects_wrong_lengths_and_hides_itself() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        let key = MasterKey::generate();
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        assert!(MasterKey::from_base64(&key.to_base64()).is_ok());
    }
}
