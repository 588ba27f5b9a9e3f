//! Starts fulfilling an approved request.
//!
//! This is the seam where locating, exporting and erasing across the registered stores plugs
//! in. For now the job moves the request from `approved` to `in_progress` and records that it
//! awaits its store tasks; it never marks a request completed on its own.

use apalis::prelude::{BoxDynError, Data};
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::request::{self, Actor, LifecycleError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::JobError;
use crate::context::JobContext;
use crate::queue::Job;

/// Start fulfilment of one approved request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartFulfilment {
    /// Tenant.
    pub organization_id: Uuid,
    /// The approved request.
    pub request_id: Uuid,
}

impl Job for StartFulfilment {
    const QUEUE: &'static str = "lethe.start_fulfilment";
    const MAX_ATTEMPTS: usize = 8;
}

impl StartFulfilment {
    /// The idempotency key of the job for `request` as it is now: one job per approval.
    pub fn idempotency_key(request: &request::Model) -> String {
        format!("start:{}:{}", request.id, request.updated_at.unix_timestamp_nanos() / 1000)
    }
}

/// apalis entry point.
pub async fn handle(job: StartFulfilment, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    run(&job, &ctx).await.map_err(JobError::into_apalis)
}

/// Does the work; separate from [`handle`] so tests can call it directly.
pub async fn run(job: &StartFulfilment, ctx: &JobContext) -> Result<(), JobError> {
    match request::Model::apply(
        &ctx.db,
        &ctx.keyring,
        job.organization_id,
        job.request_id,
        Action::Start,
        Actor::SYSTEM,
        None,
    )
    .await
    {
        Ok(updated) => {
            tracing::info!(request_id = %updated.id, kind = ?updated.kind, "fulfilment started; awaiting store tasks");
            Ok(())
        }
        // Already started, canceled, held...: nothing to do. Running twice never starts twice.
        Err(LifecycleError::Transition(e)) => {
            tracing::info!(request_id = %job.request_id, state = e.from.as_str(), "fulfilment not started: request is not approved");
            Ok(())
        }
        Err(LifecycleError::Concurrent) => Err(JobError::Conflict),
        Err(LifecycleError::Db(e)) => Err(e.into()),
        Err(other) => Err(JobError::Permanent(other.to_string())),
    }
}
