//! Confirming the e-mail address: the 6-digit code from the e-mail (the e-mail's link fills it
//! in; the person still presses the button, so a mail scanner following links confirms
//! nothing), and a new code once the cool-down has passed. Both go through the services the JSON
//! API uses ([`intake::verify`], [`intake::resend`]): attempts per code, codes per request, the
//! cool-down and the limits per e-mail address are theirs.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::domain::enums::RequestState;
use lethe_entities::entity::organization;
use lethe_worker::i18n::fill;
use serde::Deserialize;

use super::chrome::Chrome;
use super::language::Language;
use super::subject;
use super::texts::VerifyTexts;
use crate::error::ApiError;
use crate::services::intake;
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::visitor::Visitor;
use crate::web::{WebError, render};

#[derive(Template)]
#[template(path = "portal/verify.html")]
struct VerifyPage {
    chrome: Chrome,
    v: &'static VerifyTexts,
    action: String,
    code: String,
    error: Option<String>,
    notice: Option<String>,
}

/// Query of the page: the code, when the e-mail's link is followed.
#[derive(Default, Deserialize)]
pub struct VerifyQuery {
    code: Option<String>,
}
crate::opaque_debug!(VerifyQuery);

/// The code form.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}
crate::opaque_debug!(CodeForm);

/// A form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

struct View<'a> {
    chrome: Chrome,
    org: &'a organization::Model,
    token: &'a str,
}

impl View<'_> {
    fn page(
        self,
        status: StatusCode,
        code: String,
        error: Option<String>,
        notice: Option<String>,
    ) -> Result<Response, WebError> {
        let page = VerifyPage {
            v: &self.chrome.t.verify,
            action: format!("/p/{}/verify/{}", self.org.slug, self.token),
            code,
            error,
            notice,
            chrome: self.chrome,
        };
        render(&page).map(|r| (status, r).into_response())
    }
}

fn status_page(org: &organization::Model, token: &str, done: &str) -> Response {
    Redirect::to(&format!("/p/{}/status/{token}?done={done}", org.slug)).into_response()
}

/// `GET /p/{slug}/verify/{token}`.
pub async fn page(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    Query(query): Query<VerifyQuery>,
    visitor: Visitor,
    language: Language,
) -> Response {
    subject::run(&state, &slug, &token, "verify", &visitor, &language, async |org, req, chrome| {
        if req.state != RequestState::IdentityUnverified {
            return Ok(status_page(org, &token, "verified"));
        }
        let code = query.code.filter(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())).unwrap_or_default();
        View { chrome, org, token: &token }.page(StatusCode::OK, code, None, None)
    })
    .await
}

/// `POST /p/{slug}/verify/{token}`: checks the code.
pub async fn submit(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    visitor: Visitor,
    language: Language,
    Form(form): Form<CodeForm>,
) -> Response {
    subject::run(&state, &slug, &token, "verify", &visitor, &language, async |org, req, chrome| {
        visitor.check(&state.keyring, &form.csrf)?;
        match intake::verify(&state, req.id, &token, &form.code).await {
            Ok(_) => Ok(status_page(org, &token, "verified")),
            Err(e) if e.code() == "already_verified" => Ok(status_page(org, &token, "verified")),
            Err(e) => {
                let (status, message) = explain(&e, &chrome.t.verify).ok_or(WebError::from(e))?;
                View { chrome, org, token: &token }.page(status, form.code.trim().to_owned(), Some(message), None)
            }
        }
    })
    .await
}

/// `POST /p/{slug}/verify/{token}/resend`: asks for a new code.
pub async fn resend(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    visitor: Visitor,
    language: Language,
    Form(form): Form<CsrfForm>,
) -> Response {
    subject::run(&state, &slug, &token, "verify", &visitor, &language, async |org, req, chrome| {
        visitor.check(&state.keyring, &form.csrf)?;
        match intake::resend(&state, req.id, &token).await {
            Ok(_) => {
                let notice = chrome.t.verify.resent.clone();
                View { chrome, org, token: &token }.page(StatusCode::OK, String::new(), None, Some(notice))
            }
            Err(e) if e.code() == "already_verified" => Ok(status_page(org, &token, "verified")),
            Err(e) => {
                let (status, message) = explain(&e, &chrome.t.verify).ok_or(WebError::from(e))?;
                View { chrome, org, token: &token }.page(status, String::new(), Some(message), None)
            }
        }
    })
    .await
}

/// The API's verification errors in the page's words; `None` for anything else.
fn explain(e: &ApiError, v: &VerifyTexts) -> Option<(StatusCode, String)> {
    let message = match e.code() {
        "validation_failed" => v.err_format.clone(),
        "invalid_code" => fill(&v.err_wrong, &[("left", &e.attempts_left().unwrap_or(0).to_string())]),
        "code_expired" => v.err_expired.clone(),
        "code_exhausted" => v.err_exhausted.clone(),
        "no_code_sent" => v.err_no_code.clone(),
        "resend_too_soon" => fill(&v.err_wait, &[("seconds", &e.retry_after().unwrap_or(60).to_string())]),
        "too_many_codes" => v.err_too_many_codes.clone(),
        _ => return None,
    };
    Some((e.status(), message))
}
