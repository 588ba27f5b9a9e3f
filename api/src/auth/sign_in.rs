//! The password check with lockout, shared by the JSON login and the console: five consecutive
//! failures (wrong passwords or wrong second-factor codes) lock the account for 15 minutes, and
//! no answer reveals whether the account exists or is locked.
//!
//! An address may hold accounts in several organizations. The sign-in names the organization
//! (its slug) or not; without one, an address with accounts in two or more organizations is
//! refused like an unknown one. Every attempt verifies exactly one argon2id hash (the account's,
//! or a dummy when there is no single account), so neither the answer nor its time tells a
//! stranger whether an address is unknown, has one account or several, or which organizations.

use std::net::IpAddr;

use lethe_entities::entity::operator;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter};
use time::OffsetDateTime;

use crate::error::ApiResult;
use crate::state::AppState;

/// Failed sign-ins after which an account is locked.
pub const LOCKOUT_THRESHOLD: i32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: time::Duration = time::Duration::minutes(15);

/// Why a sign-in was refused (for the audit log; the caller's answer is the same for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No operator has this address (in the named organization).
    UnknownAccount,
    /// The address has accounts in several organizations and none was named.
    OrganizationNeeded,
    /// The password (or second-factor code) is wrong.
    WrongSecret,
    /// The account is locked after repeated failures.
    Locked,
    /// The account is disabled.
    Disabled,
}

impl Refusal {
    /// A fixed text for the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownAccount => "unknown account",
            Self::OrganizationNeeded => "several accounts, no organization named",
            Self::WrongSecret => "wrong password or code",
            Self::Locked => "account locked",
            Self::Disabled => "account disabled",
        }
    }
}

/// A refused sign-in: why, the operator when the address is known, and whether this failure
/// locked the account.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Why.
    pub refusal: Refusal,
    /// The operator, when the address belongs to one.
    pub operator: Option<Box<operator::Model>>,
    /// This failure reached the threshold and locked the account.
    pub locked_now: bool,
}

/// Checks e-mail and password, in `organization` (a slug) when one is named. A wrong password
/// counts towards the lockout; a success does not reset the count yet (the second factor may
/// still fail): call [`succeeded`] once the whole sign-in passed.
///
/// The attempt first counts against the client address's budget for password and code checks
/// ([`admit`]), then takes its place in the bounded hashing: `429 too_many_sign_ins` or
/// `503 overloaded` before any work, the account's lookup included.
pub async fn check_password(
    state: &AppState,
    ip: Option<IpAddr>,
    email: &str,
    organization: Option<&str>,
    password_text: String,
) -> ApiResult<Result<operator::Model, Refused>> {
    admit(state, ip)?;
    // The hashing place first: beyond the bound, a flood answers 503 without touching the
    // database the API's other callers need.
    let place = state.hashing.reserve()?;
    let db = &state.db;
    let email = email.trim().to_lowercase();
    let organization = organization.map(|o| o.trim().to_lowercase()).filter(|o| !o.is_empty());
    let mut candidates = operator::Model::sign_in_candidates(db, &email, organization.as_deref()).await?;
    let found = if candidates.len() == 1 { candidates.pop() } else { None };
    let hash = found.as_ref().map(|o| o.password_hash.clone());
    let ok = state.hashing.verify_reserved(place, password_text, hash).await?;
    let Some(op) = found else {
        let refusal = if candidates.is_empty() { Refusal::UnknownAccount } else { Refusal::OrganizationNeeded };
        return Ok(Err(Refused { refusal, operator: None, locked_now: false }));
    };
    if !ok {
        let locked_now = failed(db, &op).await?;
        return Ok(Err(Refused { refusal: Refusal::WrongSecret, operator: Some(Box::new(op)), locked_now }));
    }
    Ok(usable(op))
}

/// Counts one password or code check from `ip` against the budget every door that checks one
/// shares (`LETHE_SIGN_IN_RATE_PER_MINUTE`): the JSON login, the console's sign-in and code
/// pages, and the confirmations of password and second-factor changes. Call it once per
/// request, before checking anything.
pub fn admit(state: &AppState, ip: Option<IpAddr>) -> ApiResult<()> {
    state.limits.check_credentials(ip)
}

/// Whether an operator whose secret was right may sign in now (not locked, not disabled).
pub fn usable(op: operator::Model) -> Result<operator::Model, Refused> {
    let now = OffsetDateTime::now_utc();
    let refusal = if op.disabled {
        Refusal::Disabled
    } else if op.locked_until.is_some_and(|until| until > now) {
        Refusal::Locked
    } else {
        return Ok(op);
    };
    Err(Refused { refusal, operator: Some(Box::new(op)), locked_now: false })
}

/// Counts a failed attempt (wrong password or code); returns whether it locked the account.
///
/// One statement decides and records, from the row's current value: parallel wrong guesses
/// cannot slip past the threshold. Both SET expressions read the old row.
pub async fn failed(db: &DatabaseConnection, op: &operator::Model) -> ApiResult<bool> {
    use sea_orm::sea_query::ExprTrait;
    let now = OffsetDateTime::now_utc();
    let reaches = || Expr::col(operator::Column::FailedLogins).add(1).gte(LOCKOUT_THRESHOLD);
    let updated = operator::Entity::update_many()
        .col_expr(
            operator::Column::FailedLogins,
            Expr::case(reaches(), 0).finally(Expr::col(operator::Column::FailedLogins).add(1)).into(),
        )
        .col_expr(
            operator::Column::LockedUntil,
            Expr::case(reaches(), Expr::value(Some(now + LOCKOUT)))
                .finally(Expr::col(operator::Column::LockedUntil))
                .into(),
        )
        .filter(operator::Column::Id.eq(op.id))
        .exec(db)
        .await?;
    let locked = updated.rows_affected == 1 && op.failed_logins + 1 >= LOCKOUT_THRESHOLD;
    if locked {
        tracing::warn!(operator_id = %op.id, "operator locked after repeated failed sign-ins");
    }
    Ok(locked)
}

/// Resets the failure count after a complete sign-in.
pub async fn succeeded(db: &DatabaseConnection, op: &operator::Model) -> ApiResult<()> {
    if op.failed_logins != 0 || op.locked_until.is_some() {
        let mut active = op.clone().into_active_model();
        active.failed_logins = Set(0);
        active.locked_until = Set(None);
        active.update(db).await?;
    }
    Ok(())
}
