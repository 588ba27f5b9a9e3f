//! The dashboard: a year of the organization's requests in pictures drawn on the server
//! ([`super::charts`]): requests received per week by kind, days to complete per law against
//! its deadline, requests overdue now, rows purged by retention per week and webhook deliveries
//! failing; below them the year's metrics as CCPA regulations § 7102 ask (with their CSV).
//! Every operator role; counts and days only.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lethe_entities::reports::Year;
use lethe_entities::reports::dashboard::Dashboard;
use lethe_entities::reports::yearly::{Figures, YearlyMetrics};
use time::OffsetDateTime;

use super::charts::{self, Range, Series};
use super::session::Session;
use super::view::{Nav, name, words};
use crate::auth::Permission;
use crate::services::reports::{self, YearQuery, invalid_year, shown_days};
use crate::state::AppState;
use crate::web::{WebResult, render};

/// A table row of days to complete.
struct DaysRow {
    regime: String,
    completed: i64,
    median: f64,
    p90: f64,
    deadline: f64,
    late: i64,
}

/// A row of the yearly metrics table.
struct MetricsRow {
    kind: String,
    right: String,
    figures: Figures,
    median: String,
    mean: String,
}

impl MetricsRow {
    fn of(kind: String, right: String, figures: &Figures) -> Self {
        let (median, mean) = (shown_days(figures.median_days), shown_days(figures.mean_days));
        Self { kind, right, median, mean, figures: figures.clone() }
    }
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    nav: Nav,
    year: i32,
    years: Vec<i32>,
    received_chart: String,
    received_totals: Vec<(String, i64)>,
    received_sum: i64,
    days_chart: Option<String>,
    days: Vec<DaysRow>,
    overdue: Vec<(String, String, i64)>,
    purged_chart: String,
    purged_sum: i64,
    webhooks: bool,
    webhook_chart: String,
    webhook_failed_attempts: i64,
    webhook_attempts: i64,
    endpoints_disabled: i64,
    retrying: i64,
    failed_last_30_days: i64,
    metrics: Vec<MetricsRow>,
    total: MetricsRow,
    published: Option<String>,
}

/// The year of the query: a number from the year selector; anything else is a 400 page.
fn asked_year(query: Result<Query<YearQuery>, QueryRejection>) -> WebResult<Option<i32>> {
    let Query(query) = query.map_err(|_| invalid_year())?;
    Ok(query.asked()?)
}

/// `GET /console/dashboard`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<YearQuery>, QueryRejection>,
) -> WebResult<Response> {
    let asked = asked_year(query)?;
    let board = reports::dashboard(&state, &session.principal, asked).await?;
    let year = board.year;
    let metrics = reports::yearly(&state, &session.principal, Some(year.number()), None).await?;
    let org = &session.organization;
    let page =
        page_of(&session, &board, &metrics, org.portal_publish_metrics.then(|| format!("/p/{}/metrics", org.slug)));
    render(&page)
}

/// `GET /console/dashboard/metrics.csv?year=`: the year's metrics as CSV (default: last year).
pub async fn metrics_csv(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<YearQuery>, QueryRejection>,
) -> WebResult<Response> {
    let metrics = reports::yearly(&state, &session.principal, asked_year(query)?, None).await?;
    let mut response = reports::csv(&metrics).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"lethe-metrics-{}.csv\"", metrics.year)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn page_of(session: &Session, board: &Dashboard, metrics: &YearlyMetrics, published: Option<String>) -> DashboardPage {
    let year = board.year;
    let labels: Vec<String> = board.received.iter().map(|(kind, _)| words(kind)).collect();
    let series: Vec<Series> =
        board.received.iter().zip(&labels).map(|((_, values), label)| Series { label, values }).collect();
    let received_totals: Vec<(String, i64)> =
        board.received.iter().map(|(kind, values)| (words(kind), values.iter().sum())).collect();
    let ranges: Vec<Range> = board
        .days_to_complete
        .iter()
        .map(|d| Range {
            label: regime_label(&d.regime),
            median: d.median_days,
            p90: d.p90_days,
            deadline: d.deadline_days,
        })
        .collect();
    let (failed, all): (Vec<i64>, Vec<i64>) = board.webhooks.attempts_per_week.iter().copied().unzip();
    let this_year = Year::of(OffsetDateTime::now_utc()).number();
    DashboardPage {
        nav: Nav::new(session, "dashboard"),
        year: year.number(),
        years: (this_year - 4..=this_year).rev().collect(),
        received_chart: charts::weekly_bars(
            "chart-received",
            &format!("Requests received per week in {}", year.number()),
            year,
            &series,
        ),
        received_sum: received_totals.iter().map(|(_, n)| n).sum(),
        received_totals,
        days_chart: (!ranges.is_empty()).then(|| charts::ranges("chart-days", "Days to complete, per law", &ranges)),
        days: board
            .days_to_complete
            .iter()
            .map(|d| DaysRow {
                regime: regime_label(&d.regime),
                completed: d.completed,
                median: d.median_days,
                p90: d.p90_days,
                deadline: d.deadline_days,
                late: d.late,
            })
            .collect(),
        overdue: board.overdue.iter().map(|o| (regime_label(&o.regime), name(&o.regime), o.requests)).collect(),
        purged_chart: charts::weekly_bars(
            "chart-purged",
            &format!("Rows purged by retention per week in {}", year.number()),
            year,
            &[Series { label: "rows purged", values: &board.purged_per_week }],
        ),
        purged_sum: board.purged_per_week.iter().sum(),
        webhooks: session.can(Permission::ReadWebhooks),
        webhook_chart: charts::weekly_bars(
            "chart-webhooks",
            &format!("Failed webhook attempts per week in {}", year.number()),
            year,
            &[Series { label: "failed attempts", values: &failed }],
        ),
        webhook_failed_attempts: failed.iter().sum(),
        webhook_attempts: all.iter().sum(),
        endpoints_disabled: board.webhooks.endpoints_disabled,
        retrying: board.webhooks.retrying,
        failed_last_30_days: board.webhooks.failed_last_30_days,
        metrics: metrics
            .kinds
            .iter()
            .map(|k| MetricsRow::of(words(&k.kind), k.ccpa_right.unwrap_or("—").replace('_', "-"), &k.figures))
            .collect(),
        total: MetricsRow::of("All".to_owned(), String::new(), &metrics.total),
        published,
    }
}

/// A law's short name: `GDPR`, `UK GDPR`, `CCPA`, ...
fn regime_label(regime: &lethe_entities::Regime) -> String {
    match name(regime).as_str() {
        "other" => "Other".to_owned(),
        other => other.replace('_', " ").to_uppercase(),
    }
}
