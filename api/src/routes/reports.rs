//! Reports (`/v1/reports/...`): the yearly request metrics CCPA regulations § 7102 ask large
//! businesses to publish, as JSON or CSV. Every operator role and API keys with `reports:read`;
//! counts and days only, no personal data. The HTTP side of [`crate::services::reports`].

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lethe_entities::Regime;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::QueryParams;
use crate::openapi::responses::{Authenticated, InvalidQuery, ValidationFailed};
use crate::services;
use crate::state::AppState;
pub use lethe_entities::reports::yearly::{Figures, KindFigures, YearlyMetrics};

/// How the metrics are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricsFormat {
    /// `application/json`.
    Json,
    /// `text/csv`: a header line, a line per kind, a `total` line.
    Csv,
}

/// Query of `GET /v1/reports/metrics`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// The calendar year (UTC) the requests were received in, up to the current one (the
    /// figures of the current year are so far); default: last year.
    pub year: Option<i32>,
    /// Only requests under this law; default: every law.
    #[param(inline)]
    pub regime: Option<Regime>,
    /// `json` or `csv`. Without it, CSV when `Accept` names `text/csv`, JSON otherwise.
    #[param(inline)]
    pub format: Option<MetricsFormat>,
}

/// Get the yearly request metrics.
///
/// For the requests received in a calendar year, per kind (with the CCPA's name for the right:
/// know, delete, correct, opt-out, limit) and in total: received, complied with in whole,
/// complied with in part (a store waived), denied (and of those, never verified), withdrawn,
/// still open, and the median and mean days from receipt to the response (completed or
/// denied). These are the figures CCPA regulations § 7102(a) ask of businesses that handle the
/// personal information of 10,000,000 or more consumers; the portal can publish them
/// (`portal.publish_metrics`).
#[utoipa::path(
    get, path = "/v1/reports/metrics", tag = "reports",
    params(MetricsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The metrics", content(
            (YearlyMetrics = "application/json"),
            (String = "text/csv"),
        )),
        InvalidQuery,
        Authenticated,
        ValidationFailed,
    )
)]
pub async fn metrics(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<MetricsQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let metrics = services::reports::yearly(&state, &principal, query.year, query.regime).await?;
    let format =
        query.format.unwrap_or_else(|| if accepts_csv(&headers) { MetricsFormat::Csv } else { MetricsFormat::Json });
    let mut response = match format {
        MetricsFormat::Json => Json(metrics).into_response(),
        MetricsFormat::Csv => {
            let name = format!("attachment; filename=\"lethe-metrics-{}.csv\"", metrics.year);
            let mut response = services::reports::csv(&metrics).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(value) = HeaderValue::from_str(&name) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
    };
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(response)
}

/// Whether `Accept` names `text/csv`.
fn accepts_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"))
}
