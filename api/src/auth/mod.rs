//! Authentication and authorization.
//!
//! * Operators sign in with e-mail and password (argon2id) and get a short-lived HS512 JWT.
//!   Each token carries the operator's `token_version`; changing the password, disabling the
//!   operator or changing their role bumps it, which invalidates every older token at once.
//! * Integrations use API keys (`lethe_<prefix>_<secret>`), sent the same way as a bearer
//!   token; only a keyed digest of the secret is stored.
//! * Every password check waits its turn in [`hashing`], which bounds the argon2id work and
//!   memory; every door that checks a password or code shares one budget per client address.
//! * Changing a password or a second factor after sign-in ([`credentials`]) is confirmed like
//!   a sign-in and shares its lockout.
//! * [`Principal`] is the authenticated caller; [`Permission`]s are checked on every route.

pub mod api_key;
pub mod credentials;
pub mod hashing;
pub mod jwt;
pub mod password;
pub mod principal;
pub mod sign_in;
pub mod totp;

pub use principal::{Permission, Principal};
