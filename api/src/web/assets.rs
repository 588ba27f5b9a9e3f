//! The embedded stylesheet and script, served from `/assets/`.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The one stylesheet of every page.
pub const STYLESHEET: &str = include_str!("../../assets/style.css");
/// The one script: small progressive enhancements; every page works without it.
pub const SCRIPT: &str = include_str!("../../assets/app.js");

/// Where pages link the stylesheet (cached for an hour: a new version shows within that).
pub const STYLESHEET_PATH: &str = "/assets/style.css";
/// Where pages load the script.
pub const SCRIPT_PATH: &str = "/assets/app.js";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The asset routes.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(STYLESHEET_PATH, get(|| async { asset(STYLESHEET, "text/css; charset=utf-8") }))
        .route(SCRIPT_PATH, get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }))
}
