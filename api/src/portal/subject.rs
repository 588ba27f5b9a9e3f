//! The request a portal page is about, found by the status link token in its address.

use axum::response::Response;
use lethe_entities::entity::{organization, request};
use lethe_worker::i18n::Locale;
use lethe_worker::portal_link;
use uuid::Uuid;

use super::chrome::{self, Chrome};
use super::language::Language;
use crate::services::intake::find_with_token;
use crate::state::AppState;
use crate::web::WebError;
use crate::web::visitor::Visitor;

/// The request of status link token `token` at `org`; anything else (an altered token, another
/// organization's request) is the same `404` as an unknown page.
pub async fn request(state: &AppState, org: &organization::Model, token: &str) -> Result<request::Model, WebError> {
    let id: Uuid = portal_link::request_of(&state.keyring, token).ok_or_else(WebError::not_found)?;
    let req = find_with_token(state, id, token).await.map_err(|_| WebError::not_found())?;
    if req.organization_id != org.id {
        return Err(WebError::not_found());
    }
    Ok(req)
}

/// The language a request was made in.
pub fn locale_of(req: &request::Model) -> Locale {
    Locale::from_stored(&req.locale)
}

/// Loads the organization and the request of the page `/p/<slug>/<page>/<token>`, runs
/// `render` on them with the page's frame, and answers in the request's language (or the one
/// chosen); errors become pages in that language.
pub async fn run(
    state: &AppState,
    slug: &str,
    token: &str,
    page: &str,
    visitor: &Visitor,
    language: &Language,
    render: impl AsyncFnOnce(&organization::Model, &request::Model, Chrome) -> Result<Response, WebError>,
) -> Response {
    let path = format!("/p/{slug}/{page}/{token}");
    let org = match chrome::organization(state, slug).await {
        Ok(org) => org,
        Err(e) => return chrome::respond(Err(e), None, language.locale(None), &path, visitor, language),
    };
    let (result, locale) = match request(state, &org, token).await {
        Ok(req) => {
            let locale = language.locale(Some(locale_of(&req)));
            (render(&org, &req, Chrome::new(Some(&org), locale, &path, visitor)).await, locale)
        }
        Err(e) => (Err(e), language.locale(None)),
    };
    chrome::respond(result, Some(&org), locale, &path, visitor, language)
}
