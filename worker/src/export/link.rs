//! Download links: `<public url>/v1/exports/<token>`.
//!
//! A token is 48 bytes, base64url without padding (64 characters): a random 16-byte id
//! followed by a 32-byte MAC of it (the keyring's keyed digest under the scope
//! `export-link-mac`). A token whose MAC does not verify is refused without a database lookup;
//! one that verifies is looked up by its keyed digest (scope `export-link`), the only form in
//! which it is stored. The expiry lives in the export's row, where the purge and the download
//! both read it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lethe_entities::Keyring;
use rand::RngCore;

const ID_BYTES: usize = 16;
const MAC_BYTES: usize = 32;
const MAC_SCOPE: &str = "export-link-mac";
const DIGEST_SCOPE: &str = "export-link";

/// A freshly issued link token.
pub struct Issued {
    /// The token, for the e-mail only (never stored or logged).
    pub token: String,
    /// Its keyed digest, for the database.
    pub digest: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("digest", &self.digest).finish_non_exhaustive()
    }
}

/// Issues a new token.
pub fn issue(keyring: &Keyring) -> Issued {
    let mut id = [0u8; ID_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let mac = hex::decode(keyring.token_digest(MAC_SCOPE, &hex::encode(id))).expect("a digest is hex");
    let mut raw = Vec::with_capacity(ID_BYTES + MAC_BYTES);
    raw.extend_from_slice(&id);
    raw.extend_from_slice(&mac);
    let token = URL_SAFE_NO_PAD.encode(&raw);
    let digest = keyring.token_digest(DIGEST_SCOPE, &token);
    Issued { token, digest }
}

/// The digest to look `token` up by, if the token is well formed and its MAC verifies (in
/// constant time); `None` for anything else.
pub fn verify(keyring: &Keyring, token: &str) -> Option<String> {
    if token.len() != (ID_BYTES + MAC_BYTES).div_ceil(3) * 4 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    if raw.len() != ID_BYTES + MAC_BYTES {
        return None;
    }
    let (id, mac) = raw.split_at(ID_BYTES);
    keyring
        .token_matches(MAC_SCOPE, &hex::encode(id), &hex::encode(mac))
        .then(|| keyring.token_digest(DIGEST_SCOPE, token))
}

#[cfg(test)]
mod tests {
    use lethe_entities::MasterKey;

    use super::*;

    #[test]
    fn issued_tokens_verify_and_altered_ones_do_not() {
        let keyring = Keyring::derive(&MasterKey::generate());
        let issued = issue(&keyring);
        assert_eq!(issued.token.len(), 64);
        assert_eq!(verify(&keyring, &issued.token), Some(issued.digest.clone()));
        assert_ne!(issue(&keyring).token, issued.token);
        for at in [0, 10, 21, 40, 63] {
            let mut bytes = issued.token.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            assert_eq!(verify(&keyring, std::str::from_utf8(&bytes).unwrap()), None, "changed at {at}");
        }
        assert_eq!(verify(&keyring, &issued.token[..63]), None);
        assert_eq!(verify(&keyring, "not a token"), None);
        assert_eq!(verify(&Keyring::derive(&MasterKey::generate()), &issued.token), None, "another master key");
        assert!(!format!("{issued:?}").contains(&issued.token));
    }
}
