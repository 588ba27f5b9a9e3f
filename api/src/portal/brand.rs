//! The organization's colour as a stylesheet (`/p/<slug>/brand.css`: pages carry no inline
//! style, so the Content-Security-Policy needs no exception) and its logo (`/p/<slug>/logo`,
//! served from Lethe so `img-src 'self'` covers it). The text colour on the brand colour is
//! black or white, whichever contrasts more.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lethe_entities::domain::branding::{self, ink_on};

use super::chrome;
use crate::state::AppState;
use crate::web::WebError;

/// Lethe's own blue, for organizations without a colour.
pub const DEFAULT_COLOUR: &str = "#0b5cad";

fn cached(mut response: Response, content_type: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// `GET /p/{slug}/brand.css`.
pub async fn stylesheet(State(state): State<AppState>, Path(slug): Path<String>) -> Result<Response, WebError> {
    let org = chrome::organization(&state, &slug).await?;
    let colour = org.portal_colour.as_deref().filter(|c| branding::is_colour(c)).unwrap_or(DEFAULT_COLOUR);
    let css = format!(":root {{ --brand: {colour}; --brand-ink: {}; }}\n", ink_on(colour));
    Ok(cached(css.into_response(), "text/css; charset=utf-8"))
}

/// `GET /p/{slug}/logo`.
pub async fn logo(State(state): State<AppState>, Path(slug): Path<String>) -> Result<Response, WebError> {
    let org = chrome::organization(&state, &slug).await?;
    let (Some(bytes), Some(media_type)) = (org.portal_logo, org.portal_logo_type) else {
        return Err(WebError::not_found());
    };
    let content_type = match media_type.as_str() {
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        "image/webp" => "image/webp",
        _ => return Err(WebError::not_found()),
    };
    Ok(cached(bytes.into_response(), content_type))
}
