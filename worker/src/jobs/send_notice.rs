//! E-mails the data subject that their request moved on: received (verified), deadline
//! extended, denied or completed ([`crate::notices`]); an answer mails the acknowledgement first
//! when it has not gone yet ([`crate::acknowledge`]).
//!
//! Enqueued once per request and kind of notice ([`crate::queue::FollowUp::Notice`]) after the
//! change is committed; the job re-reads the request, so a notice that no longer fits (the
//! request moved on again) says what is true now, and one for a request whose identities are
//! gone (closed long ago) is dropped.

use apalis::prelude::{BoxDynError, Data};
use lethe_entities::entity::request;

use crate::context::JobContext;
use crate::error::{JobError, Missing};
use crate::queue::{Notice, SendNotice};

/// apalis entry point.
pub async fn handle(job: SendNotice, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    run(&job, &ctx).await.map_err(JobError::into_apalis)
}

/// Does the work; separate from [`handle`] so tests can call it directly. An answer (any
/// notice but the acknowledgement) settles the acknowledgement first
/// ([`crate::acknowledge::before_answer`]).
pub async fn run(job: &SendNotice, ctx: &JobContext) -> Result<(), JobError> {
    let Some(req) = request::Model::find_in_org(&ctx.db, job.organization_id, job.request_id).await? else {
        return Err(Missing::Request.into());
    };
    if job.notice != Notice::Received {
        crate::acknowledge::before_answer(ctx, &req).await?;
    }
    crate::notices::deliver(ctx, &req, job.notice).await
}
