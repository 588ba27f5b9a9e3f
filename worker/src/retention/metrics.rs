//! Retention figures for `/metrics`: rows purged, runs by state, and how late the schedules are.

use lethe_entities::entity::retention_policy;
use lethe_entities::entity::retention_run::{self, RunState};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use time::OffsetDateTime;

/// The figures, over every organization.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetentionMetrics {
    /// Rows deleted or anonymised by all runs (the stores' counts).
    pub rows: i64,
    /// Runs per state, in [`RunState`] order.
    pub runs: Vec<(RunState, u64)>,
    /// Seconds the most overdue enabled schedule is late (0 when none is).
    pub lag_seconds: f64,
}

/// Reads the figures at `now`.
pub async fn read(db: &DatabaseConnection, now: OffsetDateTime) -> Result<RetentionMetrics, DbErr> {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Expr, Func, Query};
    let mut runs = Vec::new();
    for state in [RunState::Queued, RunState::Running, RunState::Done, RunState::Failed, RunState::Canceled] {
        let n = sea_orm::PaginatorTrait::count(
            retention_run::Entity::find().filter(retention_run::Column::State.eq(state)),
            db,
        )
        .await?;
        runs.push((state, n));
    }
    // SUM is NUMERIC on PostgreSQL: cast back to a 64-bit integer on both backends.
    let sum = Query::select()
        .expr_as(
            Func::cast_as(
                Func::coalesce([Func::sum(Expr::col(retention_run::Column::Rows)).into(), Expr::val(0)]),
                Alias::new("BIGINT"),
            ),
            Alias::new("n"),
        )
        .from(retention_run::Entity)
        .to_owned();
    let rows = match db.query_one(&sum).await? {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    };
    let oldest = retention_policy::Entity::find()
        .filter(retention_policy::Column::Enabled.eq(true))
        .filter(retention_policy::Column::NextRunAt.lt(now))
        .order_by_asc(retention_policy::Column::NextRunAt)
        .one(db)
        .await?
        .and_then(|p| p.next_run_at);
    Ok(RetentionMetrics { rows, runs, lag_seconds: oldest.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0)) })
}
