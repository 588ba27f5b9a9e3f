//! Every reason Lethe enqueues a job, and the one place job idempotency keys are made.
//!
//! Code that decides something should happen next (the API after a change, erasure that must
//! come back when a claim expires, a service call to retry later, the scheduler's due runs)
//! returns or passes a [`FollowUp`]; [`JobQueue::schedule`] turns it into the job, its key and
//! its delay. A key names the cause, so the same cause enqueued twice (by the API and the
//! reconciler, by two worker processes) is one job, and a new cause is a new job.

use std::time::Duration;

use lethe_entities::entity::{request, retention_run};
use time::OffsetDateTime;
use uuid::Uuid;

use super::payload::{
    Alert, Notice, RunRetention, SendAlert, SendHoldWarning, SendNotice, SendVerificationCode, StartFulfilment,
};
use super::{JobQueue, QueueError};

/// Something that should happen after a change is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// Send a request's first verification code (at intake; the reconciler for one that never
    /// got it).
    FirstCode {
        /// Tenant.
        organization_id: Uuid,
        /// The request.
        request_id: Uuid,
    },
    /// Send a fresh verification code because the person asked for one.
    ResentCode {
        /// Tenant.
        organization_id: Uuid,
        /// The request.
        request_id: Uuid,
        /// Tells this resend from every other one.
        resend: Uuid,
    },
    /// Tell the person that their request moved on.
    Notice {
        /// Tenant.
        organization_id: Uuid,
        /// The request.
        request_id: Uuid,
        /// What changed.
        notice: Notice,
    },
    /// Work a request's fulfilment (again), for `why`.
    Fulfil {
        /// Tenant.
        organization_id: Uuid,
        /// The request.
        request_id: Uuid,
        /// Why, which also says when.
        why: Fulfil,
    },
    /// Work a retention run, new or resumed.
    Retention {
        /// Tenant.
        organization_id: Uuid,
        /// The run.
        run_id: Uuid,
        /// How often the run was resumed: each resumption is its own job.
        resumes: i32,
    },
    /// Work a retention run again after a failure that may pass.
    RetentionRetry {
        /// Tenant.
        organization_id: Uuid,
        /// The run.
        run_id: Uuid,
        /// The failure's own id: each failure gets one retry.
        failure: Uuid,
        /// The attempt the retry is.
        attempt: u32,
        /// The backoff.
        after: Duration,
    },
    /// Tell the organization's admins that work gave up.
    Alert {
        /// Tenant.
        organization_id: Uuid,
        /// What gave up.
        alert: Alert,
        /// When it gave up: a request that fails again after a retry is a new alert.
        failed_at: OffsetDateTime,
    },
    /// Warn a legal hold's owner that it expires soon.
    HoldWarning {
        /// Tenant.
        organization_id: Uuid,
        /// The hold.
        hold_id: Uuid,
        /// 1 for the 7-day warning, 2 for the 1-day one.
        warning: i16,
    },
}

/// Why a request's fulfilment is worked (again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fulfil {
    /// It was approved (at `approved_at`: one job per approval).
    Approved {
        /// When the request last changed, i.e. was approved.
        approved_at: OffsetDateTime,
    },
    /// It was approved long ago and may have used up its job's attempts: one fresh job per
    /// reconciler period.
    ApprovalStuck {
        /// When the request was approved.
        approved_at: OffsetDateTime,
        /// The reconciler's period.
        period: i64,
    },
    /// An operator asked to locate its failed stores again (each ask is a new job).
    Relocate {
        /// Tells this ask from every other one.
        ask: Uuid,
    },
    /// Its store tasks are still pending long after fulfilment started.
    LocateStuck {
        /// The reconciler's period.
        period: i64,
    },
    /// An operator settled a task (completed or waived): the request may be finished.
    TaskSettled {
        /// The task.
        task: Uuid,
    },
    /// A service called back with its result.
    ServiceReturned {
        /// The task.
        task: Uuid,
    },
    /// Another worker holds a claim on a store's erasure: come back `after`, when it would
    /// expire.
    EraseClaimed {
        /// The task.
        task: Uuid,
        /// When the claim was last refreshed.
        claimed_at: OffsetDateTime,
        /// The wait.
        after: Duration,
    },
    /// Another worker is calling a service: come back `after`, when its claim would expire.
    ServiceClaimed {
        /// The task.
        task: Uuid,
        /// The task's calls so far.
        attempts: i32,
        /// The wait.
        after: Duration,
    },
    /// A service accepted the work: fail it `after` the callback deadline if it has not called
    /// back by then.
    ServiceDeadline {
        /// The task.
        task: Uuid,
        /// The wait.
        after: Duration,
    },
    /// A service call is scheduled for later than now: come back `after`.
    ServiceDue {
        /// The task.
        task: Uuid,
        /// The task's calls so far.
        attempts: i32,
        /// The wait.
        after: Duration,
    },
    /// The job failed in a way that may pass (a store unreachable, Lethe's database busy): work
    /// the request again `after` the backoff, as attempt `attempt`.
    Retry {
        /// The failure's own id: each failure gets one retry.
        failure: Uuid,
        /// The attempt the retry is.
        attempt: u32,
        /// The backoff.
        after: Duration,
    },
    /// A service call failed in a way that may pass: call again `after` the backoff.
    ServiceRetry {
        /// The task.
        task: Uuid,
        /// The attempt that failed.
        attempt: i32,
        /// The backoff.
        after: Duration,
    },
}

impl FollowUp {
    /// The first fulfilment job of `request`, just approved.
    pub fn approved(request: &request::Model) -> Self {
        Self::fulfil(request, Fulfil::Approved { approved_at: request.updated_at })
    }

    /// Fulfilment of `request` for `why`.
    pub fn fulfil(request: &request::Model, why: Fulfil) -> Self {
        Self::Fulfil { organization_id: request.organization_id, request_id: request.id, why }
    }

    /// The notice `notice` to the subject of `request`.
    pub fn notice(request: &request::Model, notice: Notice) -> Self {
        Self::Notice { organization_id: request.organization_id, request_id: request.id, notice }
    }

    /// The job that works `run` now.
    pub fn retention(run: &retention_run::Model) -> Self {
        Self::Retention { organization_id: run.organization_id, run_id: run.id, resumes: run.resumes }
    }

    /// The job's idempotency key: the same cause gives the same key.
    pub fn key(&self) -> String {
        match self {
            Self::FirstCode { request_id, .. } => format!("send-code:{request_id}:first"),
            Self::ResentCode { request_id, resend, .. } => format!("send-code:{request_id}:{resend}"),
            Self::Notice { request_id, notice, .. } => format!("notice:{}:{request_id}", notice.name()),
            Self::Fulfil { request_id, why, .. } => why.key(*request_id),
            Self::Retention { run_id, resumes: 0, .. } => format!("retention:{run_id}"),
            Self::Retention { run_id, resumes, .. } => format!("retention:{run_id}:resume:{resumes}"),
            Self::RetentionRetry { run_id, failure, .. } => format!("retention:{run_id}:retry:{failure}"),
            Self::HoldWarning { hold_id, warning, .. } => format!("hold-warning:{hold_id}:{warning}"),
            Self::Alert { alert: Alert::RequestFailed { request_id }, failed_at, .. } => {
                format!("alert:request-failed:{request_id}:{}", failed_at.unix_timestamp_nanos() / 1000)
            }
            Self::Alert { alert: Alert::RunFailed { run_id }, .. } => format!("alert:run-failed:{run_id}"),
            Self::Alert { alert: Alert::WebhookDisabled { endpoint_id }, failed_at, .. } => {
                format!("alert:webhook-disabled:{endpoint_id}:{}", failed_at.unix_timestamp_nanos() / 1000)
            }
        }
    }

    /// How long the job waits before it may run.
    pub fn delay(&self) -> Duration {
        match self {
            Self::Fulfil { why, .. } => why.delay(),
            Self::RetentionRetry { after, .. } => *after,
            _ => Duration::ZERO,
        }
    }
}

impl Fulfil {
    fn key(&self, request: Uuid) -> String {
        let micros = |at: &OffsetDateTime| at.unix_timestamp_nanos() / 1000;
        match self {
            Self::Approved { approved_at } => format!("start:{request}:{}", micros(approved_at)),
            Self::ApprovalStuck { approved_at, period } => {
                format!("start:{request}:{}:stuck:{period}", micros(approved_at))
            }
            Self::Relocate { ask } => format!("locate:{request}:{ask}"),
            Self::LocateStuck { period } => format!("locate:{request}:stuck:{period}"),
            Self::TaskSettled { task } => format!("task-settled:{task}"),
            Self::ServiceReturned { task } => format!("service-returned:{task}"),
            Self::EraseClaimed { task, claimed_at, .. } => format!("erase-claim:{task}:{}", micros(claimed_at)),
            Self::ServiceClaimed { task, attempts, .. } => format!("service-claim:{task}:{attempts}"),
            Self::ServiceDeadline { task, .. } => format!("service-timeout:{task}"),
            Self::ServiceDue { task, attempts, .. } => format!("service-wait:{task}:{attempts}"),
            Self::ServiceRetry { task, attempt, .. } => format!("service:{task}:{attempt}"),
            Self::Retry { failure, .. } => format!("retry:{request}:{failure}"),
        }
    }

    /// The attempt the job is (1 for the first).
    fn attempt(&self) -> u32 {
        match self {
            Self::Retry { attempt, .. } => *attempt,
            _ => 1,
        }
    }

    fn delay(&self) -> Duration {
        match self {
            Self::EraseClaimed { after, .. }
            | Self::ServiceClaimed { after, .. }
            | Self::ServiceDeadline { after, .. }
            | Self::ServiceDue { after, .. }
            | Self::ServiceRetry { after, .. }
            | Self::Retry { after, .. } => *after,
            _ => Duration::ZERO,
        }
    }
}

impl JobQueue {
    /// Enqueues the job of `follow_up` under its key (once per key) and delay.
    pub async fn schedule(&self, follow_up: &FollowUp) -> Result<(), QueueError> {
        let (key, delay) = (follow_up.key(), follow_up.delay());
        match *follow_up {
            FollowUp::FirstCode { organization_id, request_id }
            | FollowUp::ResentCode { organization_id, request_id, .. } => {
                self.enqueue_after(SendVerificationCode { organization_id, request_id }, &key, delay).await
            }
            FollowUp::Notice { organization_id, request_id, notice } => {
                self.enqueue_after(SendNotice { organization_id, request_id, notice }, &key, delay).await
            }
            FollowUp::Fulfil { organization_id, request_id, why } => {
                let job = StartFulfilment { organization_id, request_id, attempt: why.attempt() };
                self.enqueue_after(job, &key, delay).await
            }
            FollowUp::Retention { organization_id, run_id, .. } => {
                self.enqueue_after(RunRetention { organization_id, run_id, attempt: 1 }, &key, delay).await
            }
            FollowUp::RetentionRetry { organization_id, run_id, attempt, .. } => {
                self.enqueue_after(RunRetention { organization_id, run_id, attempt }, &key, delay).await
            }
            FollowUp::Alert { organization_id, alert, .. } => {
                self.enqueue_after(SendAlert { organization_id, alert }, &key, delay).await
            }
            FollowUp::HoldWarning { organization_id, hold_id, warning } => {
                self.enqueue_after(SendHoldWarning { organization_id, hold_id, warning }, &key, delay).await
            }
        }
    }

    /// Schedules every follow-up in turn; stops at the first failure.
    pub async fn schedule_all(&self, follow_ups: &[FollowUp]) -> Result<(), QueueError> {
        for follow_up in follow_ups {
            self.schedule(follow_up).await?;
        }
        Ok(())
    }

    /// Schedules `follow_up` after a committed change, logging a failure instead of returning
    /// it: the change itself stands, the reconciler enqueues what a request's state still needs,
    /// and a lost notice does not undo what it announces.
    pub async fn schedule_logged(&self, follow_up: &FollowUp) {
        if let Err(e) = self.schedule(follow_up).await {
            tracing::warn!(key = %follow_up.key(), error = %e, "follow-up job not enqueued");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys are stored in live queues: changing one would enqueue a second job for a cause
    /// already queued under the old key.
    #[test]
    fn keys_are_stable() {
        let (r, t) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let fulfil = |why| FollowUp::Fulfil { organization_id: Uuid::nil(), request_id: r, why };
        let r_ = r.to_string();
        let t_ = t.to_string();
        assert_eq!(
            FollowUp::FirstCode { organization_id: Uuid::nil(), request_id: r }.key(),
            format!("send-code:{r_}:first")
        );
        assert_eq!(fulfil(Fulfil::Approved { approved_at: at }).key(), format!("start:{r_}:1700000000123456"));
        assert_eq!(
            fulfil(Fulfil::ApprovalStuck { approved_at: at, period: 7 }).key(),
            format!("start:{r_}:1700000000123456:stuck:7")
        );
        assert_eq!(fulfil(Fulfil::LocateStuck { period: 7 }).key(), format!("locate:{r_}:stuck:7"));
        assert_eq!(fulfil(Fulfil::TaskSettled { task: t }).key(), format!("task-settled:{t_}"));
        let wait = Duration::from_secs(5);
        let claimed = fulfil(Fulfil::EraseClaimed { task: t, claimed_at: at, after: wait });
        assert_eq!((claimed.key(), claimed.delay()), (format!("erase-claim:{t_}:1700000000123456"), wait));
        assert_eq!(fulfil(Fulfil::ServiceRetry { task: t, attempt: 2, after: wait }).key(), format!("service:{t_}:2"));
        let notice = FollowUp::Notice { organization_id: Uuid::nil(), request_id: r, notice: Notice::Completed };
        assert_eq!((notice.key(), notice.delay()), (format!("notice:completed:{r_}"), Duration::ZERO));
        let run = FollowUp::Retention { organization_id: Uuid::nil(), run_id: t, resumes: 2 };
        assert_eq!(run.key(), format!("retention:{t_}:resume:2"));
        let retry = fulfil(Fulfil::Retry { failure: t, attempt: 3, after: wait });
        assert_eq!((retry.key(), retry.delay()), (format!("retry:{r_}:{t_}"), wait));
        let run_retry =
            FollowUp::RetentionRetry { organization_id: Uuid::nil(), run_id: t, failure: r, attempt: 2, after: wait };
        assert_eq!((run_retry.key(), run_retry.delay()), (format!("retention:{t_}:retry:{r_}"), wait));
        let failed = FollowUp::Alert {
            organization_id: Uuid::nil(),
            alert: Alert::RequestFailed { request_id: r },
            failed_at: at,
        };
        assert_eq!(failed.key(), format!("alert:request-failed:{r_}:1700000000123456"));
        let run_failed =
            FollowUp::Alert { organization_id: Uuid::nil(), alert: Alert::RunFailed { run_id: t }, failed_at: at };
        assert_eq!(run_failed.key(), format!("alert:run-failed:{t_}"));
    }
}
