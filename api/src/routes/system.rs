//! Health, readiness and metrics.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use lethe_entities::entity::webhook_endpoint;
use lethe_worker::queue::JobQueue;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use time::OffsetDateTime;

use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(
    get, path = "/readyz", tag = "system",
    responses(
        (status = 200, description = "Ready", body = String),
        (status = 503, description = "`database_unavailable`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, crate::error::ApiError> {
    state.db.ping().await.map_err(|_| {
        crate::error::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database does not answer",
        )
    })?;
    Ok("ready")
}

/// Prometheus metrics: requests by state, overdue requests, queue depth, job failures, the
/// ledger, retention and webhook deliveries.
///
/// Aggregates over all organizations; no labels carry personal data or tenant names.
#[utoipa::path(
    get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let mut out = String::new();
    request_metrics(&state.db, &mut out).await?;
    job_metrics(&state.queue, &state.db, &mut out).await?;
    ledger_metrics(&state.db, &mut out).await?;
    retention_metrics(&state.db, &mut out).await?;
    webhook_metrics(&state.db, &mut out).await?;
    work_metrics(&state.work.read(), &mut out);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out))
}

/// Requests by state, and the open ones past their due date.
async fn request_metrics(db: &DatabaseConnection, out: &mut String) -> ApiResult<()> {
    let backend = db.get_database_backend();
    let by_state = db
        .query_all_raw(Statement::from_string(backend, "SELECT state, COUNT(*) AS n FROM requests GROUP BY state"))
        .await?;
    out.push_str("# HELP lethe_requests Requests by lifecycle state.\n# TYPE lethe_requests gauge\n");
    for row in &by_state {
        let (s, n): (String, i64) = (row.try_get("", "state")?, row.try_get("", "n")?);
        let _ = writeln!(out, "lethe_requests{{state=\"{s}\"}} {n}");
    }
    let overdue = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DatabaseBackend::Postgres => {
                    "SELECT COUNT(*) AS n FROM requests WHERE due_at < $1 AND state NOT IN ('completed','denied','canceled')"
                }
                _ => "SELECT COUNT(*) AS n FROM requests WHERE due_at < ? AND state NOT IN ('completed','denied','canceled')",
            },
            [OffsetDateTime::now_utc().into()],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "# HELP lethe_requests_overdue Open requests past their due date.\n# TYPE lethe_requests_overdue gauge\nlethe_requests_overdue {overdue}"
    );
    Ok(())
}

/// Jobs by queue and status, queue depths and failures.
async fn job_metrics(queue: &JobQueue, db: &DatabaseConnection, out: &mut String) -> ApiResult<()> {
    let stats = queue.stats(db).await?;
    out.push_str("# HELP lethe_jobs Jobs by queue and status.\n# TYPE lethe_jobs gauge\n");
    for s in &stats {
        let _ = writeln!(out, "lethe_jobs{{queue=\"{}\",status=\"{}\"}} {}", s.queue, s.status, s.count);
    }
    let mut queues: Vec<&str> = stats.iter().map(|s| s.queue.as_str()).collect();
    queues.sort_unstable();
    queues.dedup();
    out.push_str("# HELP lethe_job_queue_depth Jobs waiting to run or running.\n# TYPE lethe_job_queue_depth gauge\n");
    for q in &queues {
        let depth: i64 = stats
            .iter()
            .filter(|s| s.queue == *q && matches!(s.status.as_str(), "Pending" | "Queued" | "Running"))
            .map(|s| s.count)
            .sum();
        let _ = writeln!(out, "lethe_job_queue_depth{{queue=\"{q}\"}} {depth}");
    }
    out.push_str("# HELP lethe_job_failures Jobs whose last attempt failed or that were given up.\n# TYPE lethe_job_failures gauge\n");
    for q in &queues {
        let failed: i64 = stats
            .iter()
            .filter(|s| s.queue == *q && matches!(s.status.as_str(), "Failed" | "Killed"))
            .map(|s| s.count)
            .sum();
        let _ = writeln!(out, "lethe_job_failures{{queue=\"{q}\"}} {failed}");
    }
    Ok(())
}

/// The deletion ledger: entries, entries not yet under a signed checkpoint, pending intents.
async fn ledger_metrics(db: &DatabaseConnection, out: &mut String) -> ApiResult<()> {
    let backend = db.get_database_backend();
    let ledger = db
        .query_one_raw(Statement::from_string(
            backend,
            // SUM is NUMERIC on PostgreSQL: cast back to a 64-bit integer on both backends.
            "SELECT CAST(COALESCE(SUM(tree_size), 0) AS BIGINT) AS entries, \
             CAST(COALESCE(SUM(tree_size - checkpointed_size), 0) AS BIGINT) AS unsigned, \
             (SELECT COUNT(*) FROM ledger_intents WHERE state = 'pending') AS pending FROM ledger_heads",
        ))
        .await?;
    let (entries, unsigned, pending): (i64, i64, i64) = match &ledger {
        Some(row) => (row.try_get("", "entries")?, row.try_get("", "unsigned")?, row.try_get("", "pending")?),
        None => (0, 0, 0),
    };
    let _ = writeln!(
        out,
        "# HELP lethe_ledger_entries Deletion-ledger entries, all organizations.\n# TYPE lethe_ledger_entries gauge\nlethe_ledger_entries {entries}\n\
         # HELP lethe_ledger_unsigned_entries Ledger entries not yet covered by a signed checkpoint.\n# TYPE lethe_ledger_unsigned_entries gauge\nlethe_ledger_unsigned_entries {unsigned}\n\
         # HELP lethe_ledger_intents_pending Destructions in customers' stores not yet settled in the ledger.\n# TYPE lethe_ledger_intents_pending gauge\nlethe_ledger_intents_pending {pending}"
    );
    Ok(())
}

/// This process's workers since it started: failed attempts, retries, work given up, restarts.
fn work_metrics(counts: &lethe_worker::counters::WorkCounts, out: &mut String) {
    let counters = [
        (
            "lethe_job_attempts_failed_total",
            "Attempts of this process's workers that failed in a way that may pass.",
            counts.failed_attempts,
        ),
        ("lethe_job_retries_total", "Retries this process's workers scheduled.", counts.retries),
        ("lethe_requests_failed_total", "Requests this process's workers moved to `failed`.", counts.requests_failed),
        ("lethe_retention_runs_failed_total", "Retention runs this process's workers failed.", counts.runs_failed),
        (
            "lethe_job_worker_restarts_total",
            "Job workers restarted because their queue could not be read.",
            counts.worker_restarts,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
    }
}

/// Webhooks: deliveries by status and endpoints disabled because they kept failing; nothing
/// else (no URL, no organization).
async fn webhook_metrics(db: &DatabaseConnection, out: &mut String) -> ApiResult<()> {
    let backend = db.get_database_backend();
    let by_status = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status",
        ))
        .await?;
    out.push_str("# HELP lethe_webhook_deliveries Webhook deliveries by status (kept 30 days after they end).\n# TYPE lethe_webhook_deliveries gauge\n");
    for row in &by_status {
        let (s, n): (String, i64) = (row.try_get("", "status")?, row.try_get("", "n")?);
        let _ = writeln!(out, "lethe_webhook_deliveries{{status=\"{s}\"}} {n}");
    }
    let failing = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::DisabledReason.eq(webhook_endpoint::disabled::FAILING))
        .count(db)
        .await?;
    let _ = writeln!(
        out,
        "# HELP lethe_webhook_endpoints_failing Endpoints disabled because their deliveries kept failing.\n# TYPE lethe_webhook_endpoints_failing gauge\nlethe_webhook_endpoints_failing {failing}"
    );
    Ok(())
}

/// Retention: rows purged, runs by state, the schedule lag.
async fn retention_metrics(db: &DatabaseConnection, out: &mut String) -> ApiResult<()> {
    let retention = lethe_worker::retention::metrics::read(db, OffsetDateTime::now_utc()).await?;
    let _ = writeln!(
        out,
        "# HELP lethe_retention_rows_purged Rows deleted or anonymised by retention runs (the stores' counts).\n# TYPE lethe_retention_rows_purged gauge\nlethe_retention_rows_purged {}",
        retention.rows
    );
    out.push_str("# HELP lethe_retention_runs Retention runs by state (`failed`: the failures).\n# TYPE lethe_retention_runs gauge\n");
    for (run_state, n) in &retention.runs {
        let name = serde_json::to_value(run_state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let _ = writeln!(out, "lethe_retention_runs{{state=\"{name}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP lethe_retention_lag_seconds How late the most overdue retention schedule is.\n# TYPE lethe_retention_lag_seconds gauge\nlethe_retention_lag_seconds {:.3}",
        retention.lag_seconds
    );
    Ok(())
}
