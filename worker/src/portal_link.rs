//! Links into the customer portal (`/p/<organization>/...`) that e-mails carry.
//!
//! A request's **status link token** is derived, not stored: base64url (no padding, 64
//! characters) of the request id (16 bytes) and a MAC of it (32 bytes, the keyring's keyed
//! digest under the scope `portal-status-link`). Any mail about the request can carry it
//! without a secret sitting in the queue or the database; an altered token fails its MAC
//! before any lookup. It opens the request's status page and, like the status token returned
//! at submission, verifies and cancels it (`find_with_token` in the API accepts both).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lethe_entities::Keyring;
use uuid::Uuid;

const SCOPE: &str = "portal-status-link";
const TOKEN_CHARS: usize = 64;

/// The status link token of request `id`.
pub fn status_token(keyring: &Keyring, id: Uuid) -> String {
    let mac = hex::decode(keyring.token_digest(SCOPE, &id.simple().to_string())).expect("a digest is hex");
    let mut raw = id.as_bytes().to_vec();
    raw.extend_from_slice(&mac);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The request a status link token names, if it is well formed and its MAC verifies
/// (constant time).
pub fn request_of(keyring: &Keyring, token: &str) -> Option<Uuid> {
    if token.len() != TOKEN_CHARS {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let (id, mac) = raw.split_at_checked(16)?;
    let id = Uuid::from_slice(id).ok()?;
    keyring.token_matches(SCOPE, &id.simple().to_string(), &hex::encode(mac)).then_some(id)
}

/// Whether `token` is the status link token of request `id`.
pub fn matches(keyring: &Keyring, id: Uuid, token: &str) -> bool {
    request_of(keyring, token) == Some(id)
}

/// `<public url>/p/<slug>/<rest>`.
fn url(public_url: &str, slug: &str, rest: &str) -> String {
    format!("{}/p/{slug}/{rest}", public_url.trim_end_matches('/'))
}

/// The status page of a request.
pub fn status_url(public_url: &str, slug: &str, token: &str) -> String {
    url(public_url, slug, &format!("status/{token}"))
}

/// The verification page with the code filled in (the person still presses the button, so a
/// mail scanner that follows links verifies nothing).
pub fn verify_url(public_url: &str, slug: &str, token: &str, code: &str) -> String {
    url(public_url, slug, &format!("verify/{token}?code={code}"))
}

/// The download page of an access export.
pub fn download_url(public_url: &str, slug: &str, export_token: &str) -> String {
    url(public_url, slug, &format!("download/{export_token}"))
}

#[cfg(test)]
mod tests {
    use lethe_entities::MasterKey;

    use super::*;

    #[test]
    fn tokens_name_their_request_and_altered_ones_nothing() {
        let keyring = Keyring::derive(&MasterKey::generate());
        let id = Uuid::now_v7();
        let token = status_token(&keyring, id);
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(request_of(&keyring, &token), Some(id));
        assert!(matches(&keyring, id, &token));
        assert!(!matches(&keyring, Uuid::now_v7(), &token));
        let mut altered = token.clone().into_bytes();
        altered[40] = if altered[40] == b'A' { b'B' } else { b'A' };
        assert_eq!(request_of(&keyring, std::str::from_utf8(&altered).unwrap()), None);
        assert_eq!(request_of(&keyring, "short"), None);
        let other = Keyring::derive(&MasterKey::generate());
        assert_eq!(request_of(&other, &token), None, "another installation's key");
        assert_eq!(
            verify_url("https://privacy.example/", "acme", &token, "012345"),
            format!("https://privacy.example/p/acme/verify/{token}?code=012345")
        );
    }
}
