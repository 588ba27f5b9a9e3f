//! Creating organizations and operators, shared by the API and the `lethe` CLI.

use lethe_entities::domain::crypto::random_token;
use lethe_entities::domain::enums::Role;
use lethe_entities::domain::identity::SubjectEmail;
use lethe_entities::entity::{operator, organization};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, DatabaseConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::hashing::Hashing;
use crate::auth::password;
use crate::error::{ApiError, ApiResult};

/// Finds the organization with `slug`, creating it (named `name`) if it does not exist.
/// Returns the organization and whether it was created.
pub async fn ensure_organization(
    db: &DatabaseConnection,
    slug: &str,
    name: &str,
) -> ApiResult<(organization::Model, bool)> {
    if let Some(org) = organization::Model::find_by_slug(db, slug).await? {
        return Ok((org, false));
    }
    let valid = !slug.is_empty()
        && slug.len() <= 64
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !valid {
        return Err(ApiError::invalid_field("organization", "a slug is 1 to 64 of a-z, 0-9 and -"));
    }
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        auto_approve: Set(false),
        default_deadline_days: Set(30),
        default_extension_days: Set(0),
        due_soon_days: Set(organization::DEFAULT_DUE_SOON_DAYS),
        export_link_days: Set(None),
        mfa_required: Set(false),
        portal_logo: Set(None),
        portal_logo_type: Set(None),
        portal_colour: Set(None),
        privacy_policy_url: Set(None),
        portal_ask_phone: Set(false),
        portal_ask_customer_id: Set(false),
        controller: Set(None),
        dpo_contact: Set(None),
        supervisory_authority: Set(None),
        supervisory_authority_url: Set(None),
        automated_decisions: Set(None),
        portal_publish_metrics: Set(false),
        created_at: Set(OffsetDateTime::now_utc()),
    }
    .insert(db)
    .await?;
    Ok((org, true))
}

/// A new operator and, when no password was given, the generated one-time password.
pub struct CreatedOperator {
    /// The operator.
    pub operator: operator::Model,
    /// The generated password, to be shown once.
    pub generated_password: Option<String>,
}

/// Creates an operator. The address must be unused in the organization (`409 email_taken`);
/// another organization's use of it is neither refused nor revealed.
pub async fn create_operator(
    db: &DatabaseConnection,
    hashing: &Hashing,
    organization: Uuid,
    email: &str,
    role: Role,
    password: Option<String>,
) -> ApiResult<CreatedOperator> {
    let email = SubjectEmail::parse(email).map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
    let (password, generated) = match password {
        Some(p) => {
            password::validate(&p)?;
            (p, None)
        }
        None => {
            let p = random_token(18);
            (p.clone(), Some(p))
        }
    };
    if operator::Model::find_by_email(db, organization, email.as_str()).await?.is_some() {
        return Err(email_taken());
    }
    let now = OffsetDateTime::now_utc();
    let operator = operator::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(hashing.hash(password).await?),
        role: Set(role),
        disabled: Set(false),
        token_version: Set(0),
        failed_logins: Set(0),
        locked_until: Set(None),
        mfa_secret: Set(None),
        mfa_pending_secret: Set(None),
        mfa_enabled_at: Set(None),
        mfa_last_step: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        // Two admins adding the same address at once: the unique index decides.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => email_taken(),
        _ => e.into(),
    })?;
    Ok(CreatedOperator { operator, generated_password: generated })
}

fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "an operator of this organization already has this e-mail address")
}
