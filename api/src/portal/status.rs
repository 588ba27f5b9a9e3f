//! The status page of one request (the address in every e-mail): what was asked, where it is
//! in plain words, what happens now, the legal due date, an extension and its reason, a
//! denial with its reason and the right to complain, and "cancel my request" while the
//! privacy team has not accepted it ([`crate::services::intake::cancel_by_subject`], as the JSON
//! API's cancel with a status token). An access request's copy is described once it is ready
//! (when its link was mailed, until when it works, how many downloads are left) or gone; the
//! page never links to the download itself: this page's token is known to whoever submitted the
//! request, the download link only to the verified address.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::domain::enums::RequestState;
use lethe_entities::entity::export::{self, ExportState};
use lethe_worker::i18n::fill;
use serde::Deserialize;

use super::chrome::Chrome;
use super::language::Language;
use super::subject;
use super::texts::StatusTexts;
use super::verify::CsrfForm;
use crate::routes::requests::views::SubjectStatus;
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::render;
use crate::web::visitor::Visitor;

#[derive(Template)]
#[template(path = "portal/status.html")]
struct StatusPage {
    chrome: Chrome,
    s: &'static StatusTexts,
    action: String,
    verify_href: String,
    notice: Option<String>,
    kind: String,
    state: String,
    state_code: &'static str,
    next: String,
    received: String,
    due: String,
    reference: String,
    unverified: bool,
    extension: Option<String>,
    denial: Option<String>,
    export: Option<ExportNotice>,
    can_cancel: bool,
}

/// What the page says of an access request's copy.
enum ExportNotice {
    /// Ready: when its link was mailed, until when it works, how many downloads are left.
    Ready(String),
    /// Its link ran out (expired or used up): purged, or about to be.
    Gone,
}

/// The notice for `request`'s export, if it has one that is ready or gone.
async fn export_notice(
    state: &AppState,
    chrome: &Chrome,
    organization: uuid::Uuid,
    request: uuid::Uuid,
) -> Result<Option<ExportNotice>, sea_orm::DbErr> {
    let Some(row) = export::Model::of_request(&state.db, organization, request).await? else { return Ok(None) };
    let left = (row.max_downloads - row.downloads).max(0);
    let expired = row.expires_at.is_none_or(|at| at <= time::OffsetDateTime::now_utc());
    Ok(match row.state {
        ExportState::Building => None,
        // Purged, or about to be: its link no longer works.
        ExportState::Purged => Some(ExportNotice::Gone),
        ExportState::Ready if expired || left == 0 => Some(ExportNotice::Gone),
        // Not mailed yet (or the mail is being retried): nothing to point the person to.
        ExportState::Ready if row.mailed_at.is_none() => None,
        ExportState::Ready => {
            let when = |at: Option<time::OffsetDateTime>| at.map(|at| chrome.terms.date_time(at)).unwrap_or_default();
            let left = left.to_string();
            let values = [("mailed", when(row.mailed_at)), ("expires", when(row.expires_at)), ("left", left)];
            let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Some(ExportNotice::Ready(fill(&chrome.t.status.export_ready, &values)))
        }
    })
}

/// Query of the page: what was just done (`verified`, `canceled`).
#[derive(Debug, Default, Deserialize)]
pub struct StatusQuery {
    done: Option<String>,
}

/// `GET /p/{slug}/status/{token}`.
pub async fn page(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    Query(query): Query<StatusQuery>,
    visitor: Visitor,
    language: Language,
) -> Response {
    subject::run(&state, &slug, &token, "status", &visitor, &language, async |org, req, chrome| {
        let view = SubjectStatus::new(req, &state.keyring)?;
        let export = export_notice(&state, &chrome, org.id, req.id).await?;
        let (terms, s) = (chrome.terms, &chrome.t.status);
        let notice = match query.done.as_deref() {
            Some("verified") => Some(s.verified.clone()),
            Some("canceled") => Some(s.canceled.clone()),
            _ => None,
        };
        let state_text = terms.state(view.state);
        let page = StatusPage {
            s,
            action: format!("/p/{}/status/{token}", org.slug),
            verify_href: format!("/p/{}/verify/{token}", org.slug),
            notice,
            kind: terms.kind(view.kind).name.clone(),
            state: state_text.name.clone(),
            state_code: view.state.as_str(),
            next: state_text.next.clone(),
            received: terms.date(view.received_at),
            due: terms.date(view.due_at),
            reference: view.id.to_string(),
            unverified: view.state == RequestState::IdentityUnverified,
            extension: view
                .extended
                .then(|| fill(&s.extension_reason, &[("reason", view.extension_reason.as_deref().unwrap_or("-"))])),
            denial: (view.state == RequestState::Denied)
                .then(|| terms.denial(view.denial_reason.as_deref().unwrap_or("other"))),
            export,
            can_cancel: view.can_cancel,
            chrome,
        };
        render(&page)
    })
    .await
}

/// `POST /p/{slug}/status/{token}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    visitor: Visitor,
    language: Language,
    Form(form): Form<CsrfForm>,
) -> Response {
    subject::run(&state, &slug, &token, "status", &visitor, &language, async |org, req, _| {
        visitor.check(&state.keyring, &form.csrf)?;
        crate::services::intake::cancel_by_subject(&state, req.id, &token).await?;
        Ok(Redirect::to(&format!("/p/{}/status/{token}?done=canceled", org.slug)).into_response())
    })
    .await
}
