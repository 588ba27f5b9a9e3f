//! Reports over the organization's requests: the yearly metrics (CCPA regulations § 7102: as
//! JSON, as CSV, and on the portal when the organization publishes them) and the console's
//! dashboard. The figures are computed in SQL by [`lethe_entities::reports`].

use std::fmt::Write;

use lethe_entities::Regime;
use lethe_entities::entity::organization;
use lethe_entities::reports::dashboard::Dashboard;
use lethe_entities::reports::yearly::{Figures, YearlyMetrics};
use lethe_entities::reports::{YEARS, Year};
use sea_orm::ActiveEnum;
use time::OffsetDateTime;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The `?year=` of the dashboard and the portal's metrics page, as typed (other parameters,
/// such as the portal's `lang`, are the pages' own).
#[derive(Debug, Default, serde::Deserialize)]
pub struct YearQuery {
    /// The year to show.
    pub year: Option<String>,
}

impl YearQuery {
    /// The year asked for, if any; one that is not a number is [`invalid_year`].
    pub fn asked(&self) -> ApiResult<Option<i32>> {
        match self.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
            None => Ok(None),
            Some(y) => y.parse().map(Some).map_err(|_| invalid_year()),
        }
    }
}

/// `400 invalid_year`: the pages' answer to a year that is not one of their list.
pub fn invalid_year() -> ApiError {
    ApiError::bad_request("invalid_year", "Choose a year from the list.")
}

/// Days as the pages show them: one decimal, a dash when there are none.
pub fn shown_days(days: Option<f64>) -> String {
    days.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".to_owned())
}

/// The year asked for: `year`, which must not lie ahead, or, left out, `default`.
pub fn year(asked: Option<i32>, default: Year, now: OffsetDateTime) -> ApiResult<Year> {
    let Some(asked) = asked else { return Ok(default) };
    let current = Year::of(now);
    match Year::new(asked) {
        Some(year) if year.number() <= current.number() => Ok(year),
        _ => Err(ApiError::invalid_field(
            "year",
            format!("a calendar year from {} to {}", YEARS.start(), current.number()),
        )),
    }
}

/// The yearly metrics of the caller's organization for `year` (default: last year, the year
/// the CCPA asks businesses to publish), of requests under `regime` or every law.
pub async fn yearly(
    state: &AppState,
    principal: &Principal,
    year: Option<i32>,
    regime: Option<Regime>,
) -> ApiResult<YearlyMetrics> {
    principal.require(Permission::ReadReports)?;
    let now = OffsetDateTime::now_utc();
    let year = self::year(year, Year::of(now).previous(), now)?;
    Ok(YearlyMetrics::compute(&state.db, principal.organization_id, year, regime).await?)
}

/// The metrics an organization publishes on its portal (every law), for `year`; `None` when it
/// does not publish them.
pub async fn published(state: &AppState, org: &organization::Model, year: Year) -> ApiResult<Option<YearlyMetrics>> {
    if !org.portal_publish_metrics {
        return Ok(None);
    }
    Ok(Some(YearlyMetrics::compute(&state.db, org.id, year, None).await?))
}

/// The dashboard of the caller's organization for `year` (default: this year).
pub async fn dashboard(state: &AppState, principal: &Principal, year: Option<i32>) -> ApiResult<Dashboard> {
    principal.require(Permission::ReadReports)?;
    let now = OffsetDateTime::now_utc();
    let year = self::year(year, Year::of(now), now)?;
    Ok(Dashboard::compute(&state.db, principal.organization_id, year, now).await?)
}

/// The CSV columns, in order.
const COLUMNS: &str = "year,regime,kind,ccpa_right,received,complied_in_whole,complied_in_part,denied,\
                       denied_unverified,canceled,open,responded,median_days,mean_days";

/// The metrics as CSV (RFC 4180, CRLF line ends): a header, one line per kind and a `total`
/// line. Every value is a number or a fixed word, so none needs quoting.
pub fn csv(metrics: &YearlyMetrics) -> String {
    let regime = metrics.regime.map(|r| r.to_value()).unwrap_or_default();
    let mut out = format!("{COLUMNS}\r\n");
    let mut line = |kind: &str, right: &str, f: &Figures| {
        let days = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_default();
        let _ = write!(
            out,
            "{},{regime},{kind},{right},{},{},{},{},{},{},{},{},{},{}\r\n",
            metrics.year,
            f.received,
            f.complied_in_whole,
            f.complied_in_part,
            f.denied,
            f.denied_unverified,
            f.canceled,
            f.open,
            f.responded,
            days(f.median_days),
            days(f.mean_days),
        );
    };
    for row in &metrics.kinds {
        line(&row.kind.to_value(), row.ccpa_right.unwrap_or_default(), &row.figures);
    }
    line("total", "", &metrics.total);
    out
}

#[cfg(test)]
mod tests {
    use lethe_entities::RequestKind;
    use lethe_entities::reports::yearly::KindFigures;

    use super::*;

    #[test]
    fn the_csv_has_a_line_per_kind_and_a_total() {
        let figures = Figures {
            received: 4,
            complied_in_whole: 2,
            complied_in_part: 1,
            denied: 1,
            denied_unverified: 1,
            canceled: 0,
            open: 0,
            responded: 4,
            median_days: Some(3.0),
            mean_days: Some(12.25),
        };
        let metrics = YearlyMetrics {
            year: 2025,
            regime: Some(Regime::Ccpa),
            kinds: vec![KindFigures {
                kind: RequestKind::Erasure,
                ccpa_right: Some("delete"),
                figures: figures.clone(),
            }],
            total: figures,
        };
        let csv = csv(&metrics);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], COLUMNS);
        assert_eq!(lines[1], "2025,ccpa,erasure,delete,4,2,1,1,1,0,0,4,3.0,12.2");
        assert_eq!(lines[2], "2025,ccpa,total,,4,2,1,1,1,0,0,4,3.0,12.2");
        assert_eq!(lines[3], "", "the last line ends in CRLF");
    }

    #[test]
    fn a_year_ahead_or_out_of_range_is_refused_and_none_is_the_default() {
        let now = OffsetDateTime::now_utc();
        let this = Year::of(now);
        assert_eq!(year(None, this.previous(), now).unwrap(), this.previous());
        assert_eq!(year(Some(this.number()), this, now).unwrap(), this);
        for bad in [this.number() + 1, 1999, -5] {
            let e = year(Some(bad), this, now).unwrap_err();
            assert_eq!(e.field_errors()[0].field, "year", "{bad}");
        }
    }
}
