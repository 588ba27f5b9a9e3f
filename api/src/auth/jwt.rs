//! Operator access tokens: HS512 JWTs with a short lifetime.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lethe_entities::domain::enums::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The operator's id.
    pub sub: Uuid,
    /// The operator's organization.
    pub org: Uuid,
    /// The operator's role when the token was issued (re-checked against the database).
    pub role: Role,
    /// The operator's token version; a mismatch means the token was revoked.
    pub ver: i32,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Issuer: always `lethe`.
    pub iss: String,
}

/// Issues and verifies tokens with the HS512 key derived from the master key.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

const ISSUER: &str = "lethe";

impl TokenIssuer {
    /// A new issuer; `secret` is the keyring's JWT secret.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), ttl }
    }

    /// The lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token.
    pub fn issue(
        &self,
        operator: Uuid,
        organization: Uuid,
        role: Role,
        version: i32,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: operator,
            org: organization,
            role,
            ver: version,
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(900),
            iss: ISSUER.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &self.encoding)
    }

    /// Verifies signature, algorithm, issuer and expiry.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS512);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok().map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let issuer = TokenIssuer::new(&[1u8; 64], Duration::from_secs(60));
        let (op, org) = (Uuid::now_v7(), Uuid::now_v7());
        let token = issuer.issue(op, org, Role::Operator, 3).unwrap();
        let claims = issuer.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.org, claims.role, claims.ver), (op, org, Role::Operator, 3));
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::HS512);

        let other = TokenIssuer::new(&[2u8; 64], Duration::from_secs(60));
        assert!(other.verify(&token).is_none(), "wrong key");
        let mut tampered = token.clone();
        tampered.pop();
        assert!(issuer.verify(&tampered).is_none(), "tampered signature");
        let hs256 =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&[1u8; 64]))
                .unwrap();
        assert!(issuer.verify(&hs256).is_none(), "algorithm must be HS512");
    }

    #[test]
    fn expired_tokens_are_refused() {
        let issuer = TokenIssuer::new(&[1u8; 64], Duration::from_secs(60));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: Uuid::nil(),
            org: Uuid::nil(),
            role: Role::Admin,
            ver: 0,
            iat: now - 120,
            exp: now - 60,
            iss: ISSUER.into(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &EncodingKey::from_secret(&[1u8; 64]))
                .unwrap();
        assert!(issuer.verify(&token).is_none());
    }
}
