//! Runs one retention run (see [`crate::retention::run`]): created by the API (`run` now) or
//! the scheduler (one per policy and tick), resumed from its cursor when delivered again or
//! retried after a failure that may pass.

use apalis::prelude::{BoxDynError, Data};

use crate::context::JobContext;
use crate::error::JobError;
use crate::queue::RunRetention;

/// apalis entry point.
pub async fn handle(job: RunRetention, ctx: Data<JobContext>) -> Result<(), BoxDynError> {
    let attempt = crate::queue::payload::attempt_number(job.attempt);
    crate::retention::run::run(&ctx, job.organization_id, job.run_id, attempt).await.map_err(JobError::into_apalis)
}
