//! Rendering a template into a response.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use super::WebError;

/// Renders `page` as `text/html`; the security headers are added by the router's layer.
pub fn render(page: &impl Template) -> Result<Response, WebError> {
    let body = page.render().map_err(|e| WebError::internal(&e))?;
    Ok(Html(body).into_response())
}
