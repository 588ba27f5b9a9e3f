//! E-mails an organization's admins that work gave up ([`crate::give_up`]): a request went
//! `failed`, or a retention run failed; or that a webhook endpoint was disabled because its
//! deliveries kept failing ([`crate::webhooks`]).
//!
//! Enqueued under one idempotency key per failure, so each failure is one message per admin
//! however many workers see it. The job re-reads the request or run: one that was retried and
//! is no longer failed gets no alert. Every active admin of the organization is written to;
//! one whose address is refused is skipped (logged), and a passing delivery failure retries the
//! job, which may write to an admin twice rather than to none.

use apalis::prelude::{BoxDynError, Data};
use lethe_entities::domain::enums::{EventKind, RequestState, Role};
use lethe_entities::entity::retention_run::{Model as Run, RunState};
use lethe_entities::entity::{operator, organization, request, request_event, retention_policy, webhook_endpoint};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter};

use crate::context::JobContext;
use crate::error::{JobError, Missing};
use crate::mail::{MailError, WorkFailedMail};
use crate::queue::{Alert, SendAlert};

/// apalis entry point.
pub async fn handle(job: SendAlert, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    run(&job, &ctx).await.map_err(JobError::into_apalis)
}

/// Does the work; separate from [`handle`] so tests can call it directly.
pub async fn run(job: &SendAlert, ctx: &JobContext) -> Result<(), JobError> {
    let org = organization::Entity::find_by_id(job.organization_id).one(&ctx.db).await?.ok_or(Missing::Organization)?;
    let base = ctx.exports.public_url.trim_end_matches('/');
    let (what, code, message, next_step, link) = match job.alert {
        Alert::RequestFailed { request_id } => {
            let Some(req) = request::Model::find_in_org(&ctx.db, org.id, request_id).await? else { return Ok(()) };
            if req.state != RequestState::Failed {
                return Ok(());
            }
            let (code, message) = last_failure(ctx, &req).await?;
            (
                format!("The {} request {} (due {})", req.kind.to_value(), req.id, req.due_at.date()),
                code,
                message,
                "Fix what failed (the store, its data map or its connection), then retry the request from the \
                 console or with POST /v1/requests/{id}/retry: stores already erased are not erased again."
                    .to_owned(),
                format!("{base}/console/requests/{}", req.id),
            )
        }
        Alert::RunFailed { run_id } => {
            let Some(run) = Run::find_in_org(&ctx.db, org.id, run_id).await? else { return Ok(()) };
            if run.state != RunState::Failed {
                return Ok(());
            }
            let policy = retention_policy::Model::find_in_org(&ctx.db, org.id, run.policy_id).await?;
            let name = policy.map(|p| p.name).unwrap_or_else(|| "(deleted policy)".to_owned());
            (
                format!("The retention run {} of policy `{name}`", run.id),
                run.error_code.clone().unwrap_or_else(|| "retention_failed".to_owned()),
                run.error_message.clone().unwrap_or_default(),
                "Fix what failed, then run the policy again (its next scheduled run also resumes the work).".to_owned(),
                format!("{base}/console/retention"),
            )
        }
        Alert::WebhookDisabled { endpoint_id } => {
            let Some(endpoint) = webhook_endpoint::Model::find_in_org(&ctx.db, org.id, endpoint_id).await? else {
                return Ok(());
            };
            if endpoint.enabled || endpoint.disabled_reason.as_deref() != Some(webhook_endpoint::disabled::FAILING) {
                return Ok(());
            }
            let name = endpoint.description.clone().unwrap_or_else(|| "(no description)".to_owned());
            (
                format!("The webhook endpoint {} ({name})", endpoint.id),
                "webhook_failing".to_owned(),
                "Its deliveries failed for the whole retry schedule (at least three days), so it was disabled. \
                 The events since are kept for it."
                    .to_owned(),
                "Fix the receiving side (its delivery log shows each attempt's answer), then enable the endpoint \
                 again in the console or with PATCH /v1/webhooks/{id} and `enabled: true`: the events it missed \
                 are delivered then, in order."
                    .to_owned(),
                format!("{base}/console/webhooks/{}", endpoint.id),
            )
        }
    };
    let mail = WorkFailedMail { organization: org.name, what, code, message, next_step, link };
    let admins = operator::Entity::find()
        .filter(operator::Column::OrganizationId.eq(org.id))
        .filter(operator::Column::Role.eq(Role::Admin))
        .filter(operator::Column::Disabled.eq(false))
        .all(&ctx.db)
        .await?;
    let mut sent = 0;
    for admin in &admins {
        match ctx.mailer.send(&admin.email, &mail).await {
            Ok(()) => sent += 1,
            Err(MailError::Build) => {
                tracing::warn!(operator_id = %admin.id, "failure alert not sent: the admin's address is refused");
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(organization_id = %org.id, sent, transport = ctx.mailer.transport_name(), "failure alert sent to the admins");
    Ok(())
}

/// The code and message of the request's latest `failed` event (its reason: `code: message`).
async fn last_failure(ctx: &JobContext, req: &request::Model) -> Result<(String, String), JobError> {
    let timeline = request_event::Model::timeline(&ctx.db, req.organization_id, req.id).await?;
    let failed = timeline.iter().rev().find(|e| e.kind == EventKind::Failed);
    let reason = match failed {
        Some(event) => event.reason(&ctx.keyring).map_err(|_| JobError::Crypto)?.unwrap_or_default(),
        None => String::new(),
    };
    Ok(match reason.split_once(": ") {
        Some((code, message)) => (code.to_owned(), message.to_owned()),
        None => ("request_failed".to_owned(), reason),
    })
}
