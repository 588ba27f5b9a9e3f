//! CSRF tokens: a keyed digest (HMAC-SHA256 under the keyring's token key) of the session id,
//! so a token is valid for exactly one session and needs no storage. Every POST of a page
//! checks it; SameSite=Strict cookies are the second line of defence.

use lethe_entities::Keyring;

use super::WebError;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";

const SCOPE: &str = "web-csrf/v1";

/// The token for forms of session `session_id`.
pub fn token(keyring: &Keyring, session_id: &str) -> String {
    keyring.token_digest(SCOPE, session_id)
}

/// Checks a presented token (constant time); a missing or wrong one is `403 csrf_failed`.
pub fn check(keyring: &Keyring, session_id: &str, presented: Option<&str>) -> Result<(), WebError> {
    match presented {
        Some(t) if keyring.token_matches(SCOPE, session_id, t) => Ok(()),
        _ => Err(WebError::csrf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lethe_entities::MasterKey;

    #[test]
    fn tokens_are_bound_to_their_session() {
        let keyring = Keyring::derive(&MasterKey::generate());
        let t = token(&keyring, "session-a");
        assert!(check(&keyring, "session-a", Some(&t)).is_ok());
        assert!(check(&keyring, "session-b", Some(&t)).is_err());
        assert!(check(&keyring, "session-a", None).is_err());
        assert!(check(&keyring, "session-a", Some("")).is_err());
        let other = Keyring::derive(&MasterKey::generate());
        assert!(check(&other, "session-a", Some(&t)).is_err(), "another server key");
    }
}
