//! Runs one retention run (see [`crate::retention::run`]): created by the API (`run` now) or
//! the scheduler (one per policy and tick), resumed from its cursor when delivered again.

use apalis::prelude::{BoxDynError, Data};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::JobError;
use crate::context::JobContext;
use crate::queue::Job;

/// Work one retention run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRetention {
    /// Tenant.
    pub organization_id: Uuid,
    /// The run.
    pub run_id: Uuid,
}

impl Job for RunRetention {
    const QUEUE: &'static str = "lethe.run_retention";
    const MAX_ATTEMPTS: usize = 8;
}

impl RunRetention {
    /// The job that works `run` now, with its idempotency key (one per run and resumption).
    pub fn of(run: &lethe_entities::entity::retention_run::Model) -> (Self, String) {
        (Self { organization_id: run.organization_id, run_id: run.id }, run.job_key())
    }
}

/// apalis entry point.
pub async fn handle(job: RunRetention, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    crate::retention::run::run(&ctx, job.organization_id, job.run_id).await.map_err(JobError::into_apalis)
}
