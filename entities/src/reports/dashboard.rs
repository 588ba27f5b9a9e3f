//! The figures behind the console's dashboard, for one organization and year: requests
//! received per week by kind, days to complete per law against its deadline, requests overdue
//! now, rows purged by retention per week, and webhook deliveries failing.
//!
//! Weeks are 7-day periods from 1 January (UTC), numbered from 0. Webhook attempts and ended
//! deliveries are pruned 30 days after they end, so the webhook figures reach back 30 days.

use std::collections::BTreeMap;

use sea_orm::{ActiveEnum, ConnectionTrait, DbErr, Iterable, Value};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::percentiles::{Ranking, spreads};
use super::{Year, sql, tenths};
use crate::domain::enums::{Regime, RequestKind};

/// Requests received per week, one series per kind (every kind, each `Year::weeks()` long).
pub type WeeklyByKind = Vec<(RequestKind, Vec<i64>)>;

/// How long the requests completed under one law took.
#[derive(Debug, Clone, PartialEq)]
pub struct DaysToComplete {
    /// The law.
    pub regime: Regime,
    /// Requests completed in the year.
    pub completed: i64,
    /// Median days from receipt to completion.
    pub median_days: f64,
    /// 90th percentile of the days (nearest rank).
    pub p90_days: f64,
    /// The mean days the law allowed them before any extension (the deadline).
    pub deadline_days: f64,
    /// Of `completed`: completed after their due date (after any extension).
    pub late: i64,
}

/// Requests open past their due date now, under one law.
#[derive(Debug, Clone, PartialEq)]
pub struct Overdue {
    /// The law.
    pub regime: Regime,
    /// How many.
    pub requests: i64,
}

/// Webhook deliveries failing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookHealth {
    /// Endpoints disabled because their deliveries kept failing.
    pub endpoints_disabled: i64,
    /// Deliveries failed at least once and waiting for their next try.
    pub retrying: i64,
    /// Deliveries given up on (every try failed) in the last 30 days.
    pub failed_last_30_days: i64,
    /// Attempts per week of the year: `(failed, all)`.
    pub attempts_per_week: Vec<(i64, i64)>,
}

/// Everything the dashboard draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// The year drawn.
    pub year: Year,
    /// Requests received per week by kind.
    pub received: WeeklyByKind,
    /// Days to complete, per law with requests completed in the year.
    pub days_to_complete: Vec<DaysToComplete>,
    /// Requests overdue now, per law with any.
    pub overdue: Vec<Overdue>,
    /// Rows purged by retention runs ended in each week.
    pub purged_per_week: Vec<i64>,
    /// Webhook deliveries failing.
    pub webhooks: WebhookHealth,
}

impl Dashboard {
    /// The dashboard of `organization` for `year`, as of `now`.
    pub async fn compute(
        db: &impl ConnectionTrait,
        organization: Uuid,
        year: Year,
        now: OffsetDateTime,
    ) -> Result<Self, DbErr> {
        Ok(Self {
            year,
            received: received(db, organization, year).await?,
            days_to_complete: days_to_complete(db, organization, year).await?,
            overdue: overdue(db, organization, now).await?,
            purged_per_week: purged(db, organization, year).await?,
            webhooks: webhooks(db, organization, year, now).await?,
        })
    }
}

/// The values of a year's query: organization, start, end.
fn year_values(organization: Uuid, year: Year) -> Vec<Value> {
    vec![organization.into(), year.start().into(), year.end().into()]
}

/// Runs `sql` and reads rows of `(group as text, week, value...)` into weekly series.
async fn weekly(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
    weeks: usize,
    columns: &[&str],
) -> Result<BTreeMap<String, Vec<Vec<i64>>>, DbErr> {
    let rows = db.query_all_raw(sql::statement(db.get_database_backend(), sql, values)).await?;
    let mut series: BTreeMap<String, Vec<Vec<i64>>> = BTreeMap::new();
    for row in rows {
        let group: String = row.try_get("", "g")?;
        let week = usize::try_from(row.try_get::<i64>("", "week")?).unwrap_or(usize::MAX);
        let per_column = series.entry(group).or_insert_with(|| vec![vec![0; weeks]; columns.len()]);
        if week < weeks {
            for (i, column) in columns.iter().enumerate() {
                per_column[i][week] = row.try_get::<Option<i64>>("", column)?.unwrap_or_default();
            }
        }
    }
    Ok(series)
}

async fn received(db: &impl ConnectionTrait, organization: Uuid, year: Year) -> Result<WeeklyByKind, DbErr> {
    let week = sql::week(db.get_database_backend(), "received_at", "$2");
    let sql = format!(
        "SELECT CAST(kind AS TEXT) AS g, {week} AS week, COUNT(*) AS n FROM requests
         WHERE organization_id = $1 AND received_at >= $2 AND received_at < $3 GROUP BY 1, 2"
    );
    let mut series = weekly(db, &sql, year_values(organization, year), year.weeks(), &["n"]).await?;
    Ok(RequestKind::iter()
        .map(|kind| {
            let counts = series.remove(&kind.to_value()).and_then(|mut c| c.pop()).unwrap_or(vec![0; year.weeks()]);
            (kind, counts)
        })
        .collect())
}

async fn days_to_complete(
    db: &impl ConnectionTrait,
    organization: Uuid,
    year: Year,
) -> Result<Vec<DaysToComplete>, DbErr> {
    let backend = db.get_database_backend();
    let from = "FROM requests r WHERE r.organization_id = $1 AND r.state = 'completed'
        AND r.closed_at >= $2 AND r.closed_at < $3";
    let days = sql::days(backend, "r.received_at", "r.closed_at");
    let allowed = sql::days(backend, "r.received_at", "r.original_due_at");
    let ranking = Ranking { from, values: year_values(organization, year), group: "r.regime", value: &days };
    let (spread, _) = spreads(db, ranking, false).await?;
    let sql = format!(
        "SELECT CAST(r.regime AS TEXT) AS regime, AVG({allowed}) AS allowed,
           SUM(CASE WHEN r.closed_at > r.due_at THEN 1 ELSE 0 END) AS late
         {from} GROUP BY r.regime"
    );
    let rows = db.query_all_raw(sql::statement(backend, &sql, year_values(organization, year))).await?;
    let mut deadlines = BTreeMap::new();
    for row in rows {
        let regime: String = row.try_get("", "regime")?;
        deadlines.insert(regime, (row.try_get::<f64>("", "allowed")?, row.try_get::<i64>("", "late")?));
    }
    Ok(Regime::iter()
        .filter_map(|regime| {
            let name = regime.to_value();
            let (s, (allowed, late)) = (spread.get(&name)?, deadlines.get(&name)?);
            Some(DaysToComplete {
                regime,
                completed: s.count,
                median_days: tenths(s.median),
                p90_days: tenths(s.p90),
                deadline_days: tenths(*allowed),
                late: *late,
            })
        })
        .collect())
}

async fn overdue(db: &impl ConnectionTrait, organization: Uuid, now: OffsetDateTime) -> Result<Vec<Overdue>, DbErr> {
    let sql = "SELECT CAST(regime AS TEXT) AS regime, COUNT(*) AS n FROM requests
        WHERE organization_id = $1 AND due_at < $2 AND state NOT IN ('completed', 'denied', 'canceled')
        GROUP BY regime";
    let backend = db.get_database_backend();
    let rows = db.query_all_raw(sql::statement(backend, sql, vec![organization.into(), now.into()])).await?;
    let mut counts = BTreeMap::new();
    for row in rows {
        counts.insert(row.try_get::<String>("", "regime")?, row.try_get::<i64>("", "n")?);
    }
    Ok(Regime::iter()
        .filter_map(|regime| counts.get(&regime.to_value()).map(|n| Overdue { regime, requests: *n }))
        .collect())
}

async fn purged(db: &impl ConnectionTrait, organization: Uuid, year: Year) -> Result<Vec<i64>, DbErr> {
    let week = sql::week(db.get_database_backend(), "finished_at", "$2");
    let sql = format!(
        "SELECT '' AS g, {week} AS week, CAST(SUM(\"rows\") AS BIGINT) AS n FROM retention_runs
         WHERE organization_id = $1 AND finished_at >= $2 AND finished_at < $3 GROUP BY 1, 2"
    );
    let mut series = weekly(db, &sql, year_values(organization, year), year.weeks(), &["n"]).await?;
    Ok(series.remove("").and_then(|mut c| c.pop()).unwrap_or(vec![0; year.weeks()]))
}

async fn webhooks(
    db: &impl ConnectionTrait,
    organization: Uuid,
    year: Year,
    now: OffsetDateTime,
) -> Result<WebhookHealth, DbErr> {
    let backend = db.get_database_backend();
    let week = sql::week(backend, "at", "$2");
    let sql = format!(
        "SELECT '' AS g, {week} AS week,
           SUM(CASE WHEN http_status BETWEEN 200 AND 299 THEN 0 ELSE 1 END) AS failed, COUNT(*) AS n
         FROM webhook_attempts WHERE organization_id = $1 AND at >= $2 AND at < $3 GROUP BY 1, 2"
    );
    let mut series = weekly(db, &sql, year_values(organization, year), year.weeks(), &["failed", "n"]).await?;
    let (failed, all) = match series.remove("") {
        Some(mut columns) => (columns.remove(0), columns.remove(0)),
        None => (vec![0; year.weeks()], vec![0; year.weeks()]),
    };
    let counts = "SELECT
        (SELECT COUNT(*) FROM webhook_endpoints
          WHERE organization_id = $1 AND NOT enabled AND disabled_reason = 'failing') AS disabled,
        (SELECT COUNT(*) FROM webhook_deliveries
          WHERE organization_id = $1 AND status = 'pending' AND attempts > 0) AS retrying,
        (SELECT COUNT(*) FROM webhook_deliveries
          WHERE organization_id = $1 AND status = 'failed' AND finished_at >= $2) AS failed";
    let since = now - Duration::days(30);
    let row = db
        .query_one_raw(sql::statement(backend, counts, vec![organization.into(), since.into()]))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("webhook counts".into()))?;
    Ok(WebhookHealth {
        endpoints_disabled: row.try_get("", "disabled")?,
        retrying: row.try_get("", "retrying")?,
        failed_last_30_days: row.try_get("", "failed")?,
        attempts_per_week: failed.into_iter().zip(all).collect(),
    })
}
