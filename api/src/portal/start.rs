//! The start page: what a person can ask for, in plain words, under the organization's name,
//! logo and colour.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use lethe_entities::domain::enums::RequestKind;
use lethe_worker::i18n::{Terms, fill};

use super::chrome::{self, Chrome};
use super::language::Language;
use crate::state::AppState;
use crate::web::render;
use crate::web::visitor::Visitor;

/// The kinds of request, in the order offered.
pub const KINDS: [RequestKind; 6] = [
    RequestKind::Access,
    RequestKind::Erasure,
    RequestKind::Rectification,
    RequestKind::Restriction,
    RequestKind::Objection,
    RequestKind::OptOut,
];

/// One kind of request as the pages offer it.
#[derive(Debug)]
pub struct KindChoice {
    /// The form value (`access`, `erasure`, ...).
    pub code: String,
    /// Its name.
    pub name: String,
    /// What it means.
    pub description: String,
    /// Whether the form has it chosen.
    pub checked: bool,
}

/// The kinds in `terms`' language, `chosen` checked.
pub fn kind_choices(terms: &Terms, chosen: Option<&str>) -> Vec<KindChoice> {
    KINDS
        .iter()
        .map(|k| {
            let code = crate::console::view::name(k);
            let text = terms.kind(*k);
            KindChoice {
                checked: chosen == Some(code.as_str()),
                code,
                name: text.name.clone(),
                description: text.description.clone(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "portal/start.html")]
struct StartPage {
    chrome: Chrome,
    title: String,
    intro: String,
    kinds: Vec<KindChoice>,
    metrics: bool,
}

/// `GET /p/{slug}/`.
pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    visitor: Visitor,
    language: Language,
) -> Response {
    let locale = language.locale(None);
    let path = format!("/p/{slug}/");
    let org = chrome::organization(&state, &slug).await;
    let result = org.as_ref().map_err(|_| crate::web::WebError::not_found()).and_then(|org| {
        let chrome = Chrome::new(Some(org), locale, &path, &visitor);
        let start = &chrome.t.start;
        let page = StartPage {
            title: fill(&start.title, &[("org", &org.name)]),
            intro: fill(&start.intro, &[("org", &org.name)]),
            kinds: kind_choices(chrome.terms, None),
            metrics: org.portal_publish_metrics,
            chrome,
        };
        render(&page)
    });
    chrome::respond(result, org.as_ref().ok(), locale, &path, &visitor, &language)
}
