//! The published metrics: for organizations that switch it on (`portal.publish_metrics`), the
//! yearly request metrics CCPA regulations § 7102(b) ask businesses to disclose, per kind of
//! request, in the portal's languages. Any other organization's address is the portal's `404`.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use lethe_entities::reports::Year;
use lethe_entities::reports::yearly::{Figures, YearlyMetrics};
use lethe_worker::i18n::fill;
use time::OffsetDateTime;

use super::chrome::{self, Chrome};
use super::language::Language;
use crate::services::reports::{self, YearQuery, invalid_year, shown_days};
use crate::state::AppState;
use crate::web::visitor::Visitor;
use crate::web::{WebError, render};

/// A row of the table.
struct Row {
    kind: String,
    figures: Figures,
    median: String,
    mean: String,
}

impl Row {
    fn of(kind: String, figures: &Figures) -> Self {
        let (median, mean) = (shown_days(figures.median_days), shown_days(figures.mean_days));
        Self { kind, median, mean, figures: figures.clone() }
    }
}

#[derive(Template)]
#[template(path = "portal/metrics.html")]
struct MetricsPage {
    chrome: Chrome,
    title: String,
    intro: String,
    none: String,
    year: i32,
    years: Vec<i32>,
    rows: Vec<Row>,
    total: Row,
}

/// `GET /p/{slug}/metrics?year=` (default: last year).
pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    query: Result<Query<YearQuery>, QueryRejection>,
    visitor: Visitor,
    language: Language,
) -> Response {
    let locale = language.locale(None);
    let path = format!("/p/{slug}/metrics");
    let org = chrome::organization(&state, &slug).await;
    let result = match &org {
        Err(_) => Err(WebError::not_found()),
        Ok(org) => {
            async {
                let now = OffsetDateTime::now_utc();
                let asked = query.map(|Query(q)| q).unwrap_or_default().asked()?;
                let year = reports::year(asked, Year::of(now).previous(), now).map_err(|_| invalid_year())?;
                let metrics = reports::published(&state, org, year).await?.ok_or_else(WebError::not_found)?;
                let chrome = Chrome::new(Some(org), locale, &path, &visitor);
                render(&page_of(chrome, &org.name, &metrics, Year::of(now).number()))
            }
            .await
        }
    };
    chrome::respond(result, org.as_ref().ok(), locale, &path, &visitor, &language)
}

fn page_of(chrome: Chrome, org: &str, metrics: &YearlyMetrics, this_year: i32) -> MetricsPage {
    let year = metrics.year.to_string();
    let t = &chrome.t.metrics;
    MetricsPage {
        title: fill(&t.title, &[("year", &year)]),
        intro: fill(&t.intro, &[("org", org), ("year", &year)]),
        none: fill(&t.none, &[("year", &year)]),
        year: metrics.year,
        years: (this_year - 4..=this_year).rev().collect(),
        rows: metrics.kinds.iter().map(|k| Row::of(chrome.terms.kind(k.kind).name.clone(), &k.figures)).collect(),
        total: Row::of(t.total.clone(), &metrics.total),
        chrome,
    }
}
