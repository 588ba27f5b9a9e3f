//! The password policy. Hashing (argon2id, OWASP parameters: 19 MiB, 2 passes, 1 lane) is
//! [`super::hashing`]'s, bounded.

use crate::error::ApiError;

/// Shortest accepted password.
pub const MIN_LENGTH: usize = 12;
/// Longest accepted password (argon2 is fine with more; this bounds the work per request).
pub const MAX_LENGTH: usize = 256;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(validate("short").is_err());
        assert!(validate(&"x".repeat(257)).is_err());
        assert!(validate("twelve chars").is_ok());
    }
}
