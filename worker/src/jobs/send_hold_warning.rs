//! E-mails a legal hold's owner that the hold expires soon (7 days and 1 day before).
//!
//! Enqueued by the retention scheduler's pass ([`crate::retention::hold_warnings`]) under one
//! idempotency key per hold and warning, so each warning is one job however many worker
//! processes see it due. The job re-reads the hold: a hold released (or already expired) in
//! the meantime gets no warning, nor one already sent (`expiry_warnings_sent`: a job queued
//! again by a racing pass after the first one finished). The warning is recorded as sent after
//! the message went out, so a crash in between sends it again rather than never.

use apalis::prelude::{BoxDynError, Data};
use lethe_entities::entity::legal_hold::{self, HoldScope};
use lethe_entities::entity::{operator, organization, store};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::context::JobContext;
use crate::error::{JobError, Missing};
use crate::mail::HoldExpiryMail;
use crate::queue::SendHoldWarning;

/// apalis entry point.
pub async fn handle(job: SendHoldWarning, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    run(&job, &ctx).await.map_err(JobError::into_apalis)
}

/// Does the work; separate from [`handle`] so tests can call it directly.
pub async fn run(job: &SendHoldWarning, ctx: &JobContext) -> Result<(), JobError> {
    let Some(hold) = legal_hold::Model::find_in_org(&ctx.db, job.organization_id, job.hold_id).await? else {
        return Ok(());
    };
    let now = OffsetDateTime::now_utc();
    let Some(expires_at) = hold.expires_at.filter(|_| hold.is_active(now)) else {
        tracing::info!(hold_id = %hold.id, "no expiry warning sent: the hold is no longer active");
        return Ok(());
    };
    if hold.expiry_warnings_sent >= job.warning {
        return Ok(());
    }
    let org =
        organization::Entity::find_by_id(hold.organization_id).one(&ctx.db).await?.ok_or(Missing::Organization)?;
    let to = recipient(ctx, &hold).await?;
    let store_name = match hold.store_id {
        Some(id) => store::Model::find_in_org(&ctx.db, hold.organization_id, id).await?.map(|s| s.name),
        None => None,
    };
    let store_name = store_name.unwrap_or_else(|| "(deleted store)".to_owned());
    let covers = match hold.scope {
        HoldScope::Subject => "one data subject (their identity is not repeated here)".to_owned(),
        HoldScope::Table => format!("table `{}` of store `{store_name}`", hold.table_name.clone().unwrap_or_default()),
        HoldScope::Store => format!("all of store `{store_name}`"),
        HoldScope::Organization => "everything of the organization".to_owned(),
    };
    let mail = HoldExpiryMail {
        organization: org.name,
        hold_id: hold.id.to_string(),
        covers,
        matter: hold.matter(&ctx.keyring).map_err(|_| JobError::Crypto)?,
        reason: hold.reason(&ctx.keyring).map_err(|_| JobError::Crypto)?,
        expires: expires_at
            .format(time::macros::format_description!(
                "[day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"
            ))
            .unwrap_or_default(),
        days_left: if job.warning >= 2 { 1 } else { 7 },
    };
    ctx.mailer.send(&to, &mail).await?;
    legal_hold::Entity::update_many()
        .col_expr(legal_hold::Column::ExpiryWarningsSent, Expr::value(job.warning))
        .filter(legal_hold::Column::Id.eq(hold.id))
        .filter(legal_hold::Column::ExpiryWarningsSent.lt(job.warning))
        .exec(&ctx.db)
        .await?;
    tracing::info!(hold_id = %hold.id, warning = job.warning, transport = ctx.mailer.transport_name(), "hold expiry warning sent");
    Ok(())
}

/// Where the warning goes: the hold's owner address, or (for a hold whose owner is not an
/// address) the operator who placed it.
async fn recipient(ctx: &JobContext, hold: &legal_hold::Model) -> Result<String, JobError> {
    if lethe_entities::domain::identity::SubjectEmail::parse(&hold.owner).is_ok() {
        return Ok(hold.owner.clone());
    }
    if let Some(id) = hold.placed_by
        && let Some(placer) = operator::Model::find_in_org(&ctx.db, hold.organization_id, id).await?
    {
        return Ok(placer.email);
    }
    Err(Missing::HoldRecipient.into())
}
