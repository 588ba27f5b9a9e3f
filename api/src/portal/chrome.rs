//! What every portal page shows around its content: the organization's name, logo and colour,
//! the language switch, the privacy-policy link, in the page's language; and the pages for
//! errors, in the same language.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lethe_entities::entity::organization;
use lethe_worker::i18n::{Locale, Terms};

use super::language::Language;
use super::texts::PortalTexts;
use crate::state::AppState;
use crate::web::visitor::Visitor;
use crate::web::{WebError, render};

/// One entry of the language switch.
#[derive(Debug, Clone)]
pub struct LanguageLink {
    /// `en`, `de`, `sv`.
    pub code: &'static str,
    /// The language's own name.
    pub name: &'static str,
    /// The current page in that language.
    pub href: String,
    /// Whether it is the page's language.
    pub current: bool,
}

/// The frame of a page.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The `lang` attribute.
    pub lang: &'static str,
    /// The portal's texts in the page's language.
    pub t: &'static PortalTexts,
    /// The shared terms in the page's language.
    pub terms: &'static Terms,
    /// The organization's name (empty on the error page of an unknown organization).
    pub org_name: String,
    /// The portal's base path, `/p/<slug>/` (empty when unknown).
    pub base: String,
    /// The organization has a logo (served at `<base>logo`).
    pub logo: bool,
    /// The organization's privacy policy.
    pub privacy_policy_url: Option<String>,
    /// The language switch.
    pub languages: Vec<LanguageLink>,
    /// The CSRF token of the visitor's forms.
    pub csrf: String,
}

impl Chrome {
    /// The frame for `org`'s page at `path` in `locale`.
    pub fn new(org: Option<&organization::Model>, locale: Locale, path: &str, visitor: &Visitor) -> Self {
        Self {
            lang: locale.code(),
            t: PortalTexts::of(locale),
            terms: Terms::of(locale),
            org_name: org.map(|o| o.name.clone()).unwrap_or_default(),
            base: org.map(|o| format!("/p/{}/", o.slug)).unwrap_or_default(),
            logo: org.is_some_and(|o| o.portal_logo.is_some()),
            privacy_policy_url: org.and_then(|o| o.privacy_policy_url.clone()),
            languages: Locale::ALL
                .into_iter()
                .map(|l| LanguageLink {
                    code: l.code(),
                    name: l.native_name(),
                    href: format!("{path}?lang={}", l.code()),
                    current: l == locale,
                })
                .collect(),
            csrf: visitor.csrf.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    code: &'a str,
    title: &'a str,
    message: &'a str,
    reference: Option<&'a str>,
}

/// Loads the organization of a portal address; an unknown one is the same `404` as any
/// unknown page.
pub async fn organization(state: &AppState, slug: &str) -> Result<organization::Model, WebError> {
    organization::Model::find_by_slug(&state.db, slug).await?.ok_or_else(WebError::not_found)
}

/// The page of `result`, or its error as a page in `locale`, with the visitor's and the
/// language's cookies.
pub fn respond(
    result: Result<Response, WebError>,
    org: Option<&organization::Model>,
    locale: Locale,
    path: &str,
    visitor: &Visitor,
    language: &Language,
) -> Response {
    let response = match result {
        Ok(response) => response,
        Err(e) => error_page(&e, org, locale, path, visitor),
    };
    language.attach(visitor.attach(response))
}

fn error_page(
    e: &WebError,
    org: Option<&organization::Model>,
    locale: Locale,
    path: &str,
    visitor: &Visitor,
) -> Response {
    let chrome = Chrome::new(org, locale, path, visitor);
    let t = &chrome.t.errors;
    let (title, message) = match (e.status(), e.code()) {
        (StatusCode::NOT_FOUND, _) => (t.not_found_title.clone(), t.not_found.clone()),
        (_, "csrf_failed") => (t.csrf_title.clone(), t.csrf.clone()),
        (StatusCode::TOO_MANY_REQUESTS, _) => (t.too_many_title.clone(), t.too_many.clone()),
        _ => (t.other_title.clone(), t.other.clone()),
    };
    let page = ErrorPage {
        chrome,
        status: e.status().as_u16(),
        code: e.code(),
        title: &title,
        message: &message,
        reference: e.reference(),
    };
    match render(&page) {
        Ok(body) => (e.status(), body).into_response(),
        Err(fallback) => fallback.into_response(),
    }
}
