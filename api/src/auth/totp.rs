//! The second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock skew either way)
//! with secrets encrypted under the keyring, every time step accepted at most once, and ten
//! single-use recovery codes stored as keyed digests.

use lethe_entities::Keyring;
use lethe_entities::entity::{operator, operator_recovery_code};
use rand::RngCore;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use totp_rs::{Builder, Secret, Totp};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{ApiError, ApiResult};

/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "Lethe";

/// A fresh random secret (20 bytes, as RFC 4226 recommends).
pub fn new_secret() -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; 20]);
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The TOTP of `secret` for the account `account` (shown in authenticator apps).
pub fn totp(secret: &[u8], account: &str) -> ApiResult<Totp> {
    Builder::new()
        .with_secret(Secret::from(secret.to_vec()))
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| ApiError::internal(&e))
}

/// The secret in base32, as typed into an app by hand.
pub fn base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URL a QR code carries.
pub fn otpauth_url(secret: &[u8], account: &str) -> ApiResult<String> {
    totp(secret, account)?.to_url().map_err(|e| ApiError::internal(&e))
}

/// The QR code of the `otpauth://` URL as an SVG document.
pub fn qr_svg(secret: &[u8], account: &str) -> ApiResult<String> {
    let url = otpauth_url(secret, account)?;
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| ApiError::internal(&e))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build())
}

/// Decrypts a stored secret of `op`.
pub fn open(keyring: &Keyring, op: &operator::Model, sealed: &[u8]) -> ApiResult<Zeroizing<Vec<u8>>> {
    keyring.decrypt(sealed, &op.mfa_context()).map_err(|e| ApiError::internal(&e))
}

/// Encrypts a secret for `op`.
pub fn seal(keyring: &Keyring, op: &operator::Model, secret: &[u8]) -> Vec<u8> {
    keyring.encrypt(secret, &op.mfa_context())
}

/// The time step `code` is valid for under `secret` now, if any.
pub fn matching_step(secret: &[u8], account: &str, code: &str) -> ApiResult<Option<u64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp(secret, account)?.check_current(&code))
}

/// Records `step` as the last accepted one, unless it (or a later one) already was: the
/// compare-and-set makes two uses of one code in parallel accept at most one.
pub async fn consume_step(db: &impl ConnectionTrait, op: &operator::Model, step: u64) -> ApiResult<bool> {
    let step = i64::try_from(step).map_err(|e| ApiError::internal(&e))?;
    let updated = operator::Entity::update_many()
        .col_expr(operator::Column::MfaLastStep, Expr::value(Some(step)))
        .filter(operator::Column::Id.eq(op.id))
        .filter(
            sea_orm::Condition::any()
                .add(operator::Column::MfaLastStep.is_null())
                .add(operator::Column::MfaLastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Checks a TOTP code of an enrolled operator and consumes its step: true only once per code.
pub async fn verify_code(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    op: &operator::Model,
    code: &str,
) -> ApiResult<bool> {
    let Some(sealed) = op.mfa_secret.as_deref() else { return Ok(false) };
    let secret = open(keyring, op, sealed)?;
    match matching_step(&secret, &op.email, code)? {
        Some(step) => consume_step(db, op, step).await,
        None => Ok(false),
    }
}

/// A new recovery code: 10 random characters of the base32 alphabet in two groups (50 bits).
fn recovery_code() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = Zeroizing::new([0u8; 10]);
    rand::rngs::OsRng.fill_bytes(&mut bytes[..]);
    let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(b & 31)] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Normalises a typed recovery code (case, spaces and dashes do not matter).
fn normalise(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Replaces `op`'s recovery codes with [`RECOVERY_CODES`] new ones; returns them (to be shown
/// once). Only their digests are stored.
pub async fn issue_recovery_codes(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    op: &operator::Model,
) -> ApiResult<Vec<String>> {
    operator_recovery_code::Entity::delete_many()
        .filter(operator_recovery_code::Column::OperatorId.eq(op.id))
        .exec(db)
        .await?;
    let scope = operator_recovery_code::Model::scope(op.id);
    let now = OffsetDateTime::now_utc();
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = recovery_code();
        operator_recovery_code::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(op.organization_id),
            operator_id: Set(op.id),
            digest: Set(keyring.token_digest(&scope, &normalise(&code))),
            used_at: Set(None),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
        codes.push(code);
    }
    Ok(codes)
}

/// Uses a recovery code of `op`: true once per code (a used one is refused; two uses in
/// parallel accept at most one).
pub async fn use_recovery_code(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    op: &operator::Model,
    code: &str,
) -> ApiResult<bool> {
    let normalised = normalise(code);
    if normalised.len() != 10 {
        return Ok(false);
    }
    let digest = keyring.token_digest(&operator_recovery_code::Model::scope(op.id), &normalised);
    let used = operator_recovery_code::Entity::update_many()
        .col_expr(operator_recovery_code::Column::UsedAt, Expr::value(Some(OffsetDateTime::now_utc())))
        .filter(operator_recovery_code::Column::OperatorId.eq(op.id))
        .filter(operator_recovery_code::Column::Digest.eq(digest))
        .filter(operator_recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_others_do_not() {
        let secret = new_secret();
        let t = totp(&secret, "dpo@acme.example").unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let code = t.generate(now).to_string();
        let step = matching_step(&secret, "dpo@acme.example", &code).unwrap();
        assert!(step.is_some());
        assert_eq!(step, t.check(&code, now));
        assert_eq!(matching_step(&secret, "dpo@acme.example", "12345").unwrap(), None, "too short");
        assert_eq!(matching_step(&secret, "dpo@acme.example", "abcdef").unwrap(), None);
        let old = t.generate(now - 600).to_string();
        if old != code {
            assert_eq!(matching_step(&secret, "dpo@acme.example", &old).unwrap(), None, "ten minutes old");
        }
        assert!(otpauth_url(&secret, "dpo@acme.example").unwrap().starts_with("otpauth://totp/Lethe:"));
        assert!(qr_svg(&secret, "dpo@acme.example").unwrap().contains("<svg"));
        assert_eq!(Secret::try_from_base32(base32(&secret)).unwrap().as_ref(), &secret[..]);
    }

    #[test]
    fn recovery_codes_have_ten_characters_and_normalise() {
        let code = recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(normalise(&code).len(), 10);
        assert_eq!(normalise(&code.to_uppercase().replace('-', " ")), normalise(&code));
    }
}
