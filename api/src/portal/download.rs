//! The page of an access export's link (`/p/<slug>/download/<token>`, e-mailed with the direct
//! download link): until when the link works, how many downloads are left and what the
//! package holds (stores, kinds of record, counts: no values), with the download button
//! (`GET /v1/exports/<token>`). Opening this page counts no download. An expired or used-up
//! link says so and how to ask again.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lethe_entities::entity::{export, organization, request};
use lethe_worker::export::download::{self, DownloadError};
use lethe_worker::i18n::{Locale, fill};
use time::OffsetDateTime;

use super::chrome::{self, Chrome};
use super::language::Language;
use super::subject;
use super::texts::DownloadTexts;
use crate::state::AppState;
use crate::web::visitor::Visitor;
use crate::web::{WebError, render};

/// A package that can be downloaded.
#[derive(Debug)]
pub struct Ready {
    intro: String,
    expires: String,
    downloads_left: i32,
    href: String,
    rows: Vec<(String, String, u64)>,
}

#[derive(Template)]
#[template(path = "portal/download.html")]
struct DownloadPage {
    chrome: Chrome,
    d: &'static DownloadTexts,
    title: String,
    ready: Option<Ready>,
    message: String,
}

/// `GET /p/{slug}/download/{token}`.
pub async fn page(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    visitor: Visitor,
    language: Language,
) -> Response {
    let path = format!("/p/{slug}/download/{token}");
    let org = chrome::organization(&state, &slug).await;
    let (result, locale) = match &org {
        Ok(org) => build(&state, org, &token, &path, &visitor, &language).await,
        Err(_) => (Err(WebError::not_found()), language.locale(None)),
    };
    chrome::respond(result, org.as_ref().ok(), locale, &path, &visitor, &language)
}

async fn build(
    state: &AppState,
    org: &organization::Model,
    token: &str,
    path: &str,
    visitor: &Visitor,
    language: &Language,
) -> (Result<Response, WebError>, Locale) {
    let now = OffsetDateTime::now_utc();
    let found = download::inspect(&state.db, &state.keyring, token, now).await;
    let row = match &found {
        Ok(row) => Some(row.clone()),
        Err(_) => None,
    };
    let locale = match &row {
        Some(row) => request_locale(state, row).await.map_or(language.locale(None), |l| language.locale(Some(l))),
        None => language.locale(None),
    };
    if row.as_ref().is_some_and(|r| r.organization_id != org.id) {
        return (Err(WebError::not_found()), locale);
    }
    let chrome = Chrome::new(Some(org), locale, path, visitor);
    let d = &chrome.t.download;
    let (status, title, ready, message) = match found {
        Ok(row) => {
            let ready = Ready {
                intro: fill(&d.intro, &[("org", &org.name)]),
                expires: row.expires_at.map(|at| chrome.terms.date_time(at)).unwrap_or_default(),
                downloads_left: row.max_downloads - row.downloads,
                href: format!("/v1/exports/{token}"),
                rows: row
                    .count_map()
                    .into_iter()
                    .flat_map(|(store, tables)| tables.into_iter().map(move |(table, n)| (store.clone(), table, n)))
                    .collect(),
            };
            (StatusCode::OK, d.title.clone(), Some(ready), String::new())
        }
        Err(DownloadError::Expired) => (StatusCode::GONE, d.expired_title.clone(), None, d.expired.clone()),
        Err(DownloadError::LimitReached) => (StatusCode::GONE, d.used_up_title.clone(), None, d.used_up.clone()),
        Err(DownloadError::NotFound) => return (Err(WebError::not_found()), locale),
        Err(e @ DownloadError::Failed(_)) => return (Err(WebError::internal(&e)), locale),
    };
    let page = DownloadPage { d, title, ready, message, chrome };
    (render(&page).map(|r| (status, r).into_response()), locale)
}

/// The language of the export's request.
async fn request_locale(state: &AppState, row: &export::Model) -> Option<Locale> {
    let req = request::Model::find_in_org(&state.db, row.organization_id, row.request_id).await.ok()??;
    Some(subject::locale_of(&req))
}
