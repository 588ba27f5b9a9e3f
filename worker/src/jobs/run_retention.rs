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
    /// The idempotency key: one job per run.
    pub fn idempotency_key(&self) -> String {
        format!("retention:{}", self.run_id)
    }
}

/// apalis entry point.
pub async fn handle(job: RunRetention, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    crate::retention::run::run(&ctx, job.organization_id, job.run_id).await.map_err(JobError::into_apalis)
}
