//! What a job does after one of its attempts failed: one policy for every job that retries
//! (a request's fulfilment, a retention run).
//!
//! A failure that may pass is retried by a job of its own, enqueued after the backoff of
//! [`crate::settings::RetrySettings`], until the attempts are spent; a concurrent change on the
//! last attempt is left to whoever made it; anything else gives the work up
//! ([`crate::give_up`]).

use std::time::Duration;

use crate::context::JobContext;
use crate::queue::{FollowUp, QueueError};

/// What failed, as the policy needs to know it.
#[derive(Debug, Clone, Copy)]
pub struct Failed {
    /// Which attempt failed (1 for the first).
    pub attempt: u32,
    /// Whether a later attempt may get past it.
    pub transient: bool,
    /// Whether it was another actor's concurrent change.
    pub conflict: bool,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Another worker or an operator changed the work on its last attempt: it is theirs now.
    LeftToOthers,
    /// The next attempt is enqueued to run after this wait.
    Retried(Duration),
    /// The work gives up.
    GiveUp,
}

/// Decides what follows `failed` and, for a retry, enqueues the job `retry(next attempt, wait)`
/// builds. Counts failed attempts and retries. An error means the retry could not be enqueued
/// (the queue is Lethe's database): the caller's job should fail so that apalis runs it again.
pub async fn decide(
    ctx: &JobContext,
    failed: Failed,
    retry: impl FnOnce(u32, Duration) -> FollowUp,
) -> Result<Decision, QueueError> {
    let last = ctx.retry.is_last(failed.attempt);
    if failed.conflict && last {
        return Ok(Decision::LeftToOthers);
    }
    if !failed.transient {
        return Ok(Decision::GiveUp);
    }
    ctx.counters.attempt_failed();
    if last {
        return Ok(Decision::GiveUp);
    }
    let after = ctx.retry.delay(failed.attempt);
    ctx.queue.schedule(&retry(failed.attempt + 1, after)).await?;
    ctx.counters.retried();
    Ok(Decision::Retried(after))
}
