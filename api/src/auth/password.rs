//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;

/// Shortest accepted password.
pub const MIN_LENGTH: usize = 12;
/// Longest accepted password (argon2 is fine with more; this bounds the work per request).
pub const MAX_LENGTH: usize = 256;

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Checks the password policy.
pub fn validate(password: &str) -> Result<(), ApiError> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(ApiError::invalid_field("password", format!("must be at least {MIN_LENGTH} characters")));
    }
    if len > MAX_LENGTH {
        return Err(ApiError::invalid_field("password", format!("must be at most {MAX_LENGTH} characters")));
    }
    Ok(())
}

/// Hashes a password into a PHC string, off the async runtime.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || argon2().hash_password(password.as_bytes()).map(|h| h.to_string()))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))
}

/// Verifies a password against a PHC string, off the async runtime. When `phc` is `None` (no
/// such operator) a dummy hash is checked anyway, so the response time does not reveal whether
/// the account exists.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = phc.unwrap_or_else(|| DUMMY_HASH.to_owned());
        PasswordHash::new(&stored).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$jXf8bW0o5E1HqJ7bBzR3Lw2b4oQ8q9M1d5n0t3y7u6k";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".into(), Some(phc.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(phc)).await);
        assert!(!verify("anything".into(), None).await);
    }

    #[test]
    fn policy() {
        assert!(validate("short").is_err());
        assert!(validate(&"x".repeat(257)).is_err());
        assert!(validate("twelve chars").is_ok());
    }
}
