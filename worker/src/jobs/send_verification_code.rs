//! Generates a fresh verification code for a request and e-mails it to the requester.
//!
//! The code is generated here, not in the HTTP handler, so it never sits in clear text in the
//! queue. Each run supersedes any earlier open code of the request; running twice sends two
//! messages of which only the newer code works, which is safe.

use apalis::prelude::{BoxDynError, Data};
use lethe_entities::domain::enums::{EventKind, IdentityKind, RequestState};
use lethe_entities::entity::request::Actor;
use lethe_entities::entity::{organization, request, request_event, subject_identity, verification_challenge};
use rand::Rng;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::context::JobContext;
use crate::error::{JobError, Missing};
use crate::i18n::Locale;
use crate::mail::{Branding, VerificationCodeMail};
use crate::portal_link;
use crate::queue::SendVerificationCode;

/// The scope under which a request's codes are digested.
pub fn code_scope(request_id: Uuid) -> String {
    format!("verification-code:{request_id}")
}

/// apalis entry point.
pub async fn handle(job: SendVerificationCode, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    run(&job, &ctx).await.map_err(JobError::into_apalis)
}

/// Does the work; separate from [`handle`] so tests can call it directly.
pub async fn run(job: &SendVerificationCode, ctx: &JobContext) -> Result<(), JobError> {
    let Some(req) = request::Model::find_in_org(&ctx.db, job.organization_id, job.request_id).await? else {
        return Err(Missing::Request.into());
    };
    if req.state != RequestState::IdentityUnverified {
        tracing::info!(request_id = %req.id, state = req.state.as_str(), "no code sent: request is already past verification");
        return Ok(());
    }
    let org = organization::Entity::find_by_id(req.organization_id).one(&ctx.db).await?.ok_or(Missing::Organization)?;
    let email = subject_identity::Model::of_request(&ctx.db, req.organization_id, req.id)
        .await?
        .into_iter()
        .find(|i| i.kind == IdentityKind::Email)
        .ok_or(Missing::EmailIdentity)?
        .open(&ctx.keyring)
        .map_err(|_| JobError::Crypto)?;

    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    let now = OffsetDateTime::now_utc();
    let expires_at = now + ctx.verification.code_ttl;
    let txn = lethe_entities::entity::begin_write(&ctx.db).await?;
    verification_challenge::Entity::update_many()
        .col_expr(verification_challenge::Column::ConsumedAt, Expr::value(Some(now)))
        .filter(verification_challenge::Column::OrganizationId.eq(req.organization_id))
        .filter(verification_challenge::Column::RequestId.eq(req.id))
        .filter(verification_challenge::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await?;
    verification_challenge::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(req.organization_id),
        request_id: Set(req.id),
        code_digest: Set(ctx.keyring.token_digest(&code_scope(req.id), &code)),
        expires_at: Set(expires_at),
        attempts: Set(0),
        max_attempts: Set(ctx.verification.max_attempts),
        consumed_at: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;

    let public_url = &ctx.exports.public_url;
    let link_token = portal_link::status_token(&ctx.keyring, req.id);
    let mail = VerificationCodeMail {
        branding: Branding::of(&org, public_url, Locale::from_stored(&req.locale)),
        verify_url: Some(portal_link::verify_url(public_url, &org.slug, &link_token, &code)),
        code,
        ttl_minutes: ctx.verification.code_ttl.as_secs().div_ceil(60),
    };
    ctx.mailer.send(&email, &mail).await?;
    request_event::ActiveModel::record(
        req.organization_id,
        req.id,
        Actor::SYSTEM,
        EventKind::VerificationSent,
        None,
        None,
        Some(
            serde_json::json!({ "expires_at": expires_at.unix_timestamp(), "transport": ctx.mailer.transport_name() }),
        ),
    )
    .insert_announced(&ctx.db)
    .await?;
    tracing::info!(request_id = %req.id, transport = ctx.mailer.transport_name(), "verification code sent");
    Ok(())
}
