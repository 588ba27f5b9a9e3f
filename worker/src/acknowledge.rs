//! A request's acknowledgement ("we received your request") reaches the person before its
//! answer ("your data is ready", "completed", "refused", "extended"). Both are mailed by jobs,
//! which the queue runs in no fixed order: when approval follows verification at once, the
//! answer can be quicker than the acknowledgement's job. So every answer first settles the
//! acknowledgement ([`before_answer`]): if its job still waits in the queue, the answer takes it
//! out and mails it in place (no worker sends it again); if a worker holds it, the answer waits
//! until it is done: a worker may hold a fetched job for a while before it runs it (on
//! PostgreSQL jobs were seen waiting 10 to 30 s after a worker's start), so the wait is up to
//! [`WAIT`], then the answer goes on.

use std::time::{Duration, Instant};

use lethe_entities::entity::request;

use crate::context::JobContext;
use crate::error::JobError;
use crate::queue::claim::Claim;
use crate::queue::{FollowUp, Job, Notice, SendNotice};

/// How long an answer waits for an acknowledgement a worker holds.
const WAIT: Duration = Duration::from_secs(60);

/// How often it looks again meanwhile.
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// Makes sure `request`'s acknowledgement is mailed (or will never be) before its answer.
pub async fn before_answer(ctx: &JobContext, request: &request::Model) -> Result<(), JobError> {
    let key = FollowUp::notice(request, Notice::Received).key();
    let deadline = Instant::now() + WAIT;
    loop {
        match ctx.queue.take(&ctx.db, SendNotice::QUEUE, &key).await? {
            Claim::Taken => {
                let sent = crate::notices::deliver(ctx, request, Notice::Received).await;
                if sent.is_err() {
                    // Its job mails it later, as it would have; this answer is retried.
                    ctx.queue.give_back(&ctx.db, SendNotice::QUEUE, &key).await?;
                }
                return sent;
            }
            Claim::Absent | Claim::Finished => return Ok(()),
            Claim::Busy if Instant::now() >= deadline => {
                tracing::warn!(request_id = %request.id, "answer sent while the acknowledgement was still being mailed");
                return Ok(());
            }
            Claim::Busy => tokio::time::sleep(LOOK_AGAIN).await,
        }
    }
}
