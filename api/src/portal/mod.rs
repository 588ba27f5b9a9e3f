//! The customer portal at `/p/<organization slug>/`: where a person asks for a copy of their
//! data, its deletion, correction or restriction, or objects, then confirms their e-mail
//! address, follows the request and downloads their export; where the organization publishes them, the
//! yearly request metrics ([`metrics`]). Server-rendered on the shared web
//! infrastructure ([`crate::web`]), working without JavaScript, in English, German and Swedish
//! ([`texts`], [`language`]), under the organization's name, logo and colour ([`brand`]).
//!
//! Every action calls the JSON API's own handler (intake, verification, resend, cancel,
//! export lookup), so validation, the state machine, rate limits and answers are the API's.
//! Addresses carry tokens only (the status link token, [`lethe_worker::portal_link`], and the
//! export link's token), never personal data; forms carry a CSRF token bound to a visitor
//! cookie ([`crate::web::visitor`]); every page has the strict security headers; requests are
//! rate-limited per client IP like the public API.

pub mod brand;
pub mod chrome;
pub mod countries;
pub mod download;
pub mod language;
pub mod metrics;
pub mod request_form;
pub mod start;
pub mod status;
pub mod subject;
pub mod texts;
pub mod verify;

use axum::extract::Path;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Router, middleware};

use crate::rate_limit;
use crate::state::AppState;
use crate::web::headers;

/// The portal's routes, with security headers and the per-IP rate limit.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/p/{slug}", get(|Path(slug): Path<String>| async move { Redirect::permanent(&format!("/p/{slug}/")) }))
        .route("/p/{slug}/", get(start::page))
        .route("/p/{slug}/request", get(request_form::page).post(request_form::submit))
        .route("/p/{slug}/verify/{token}", get(verify::page).post(verify::submit))
        .route("/p/{slug}/verify/{token}/resend", post(verify::resend))
        .route("/p/{slug}/status/{token}", get(status::page))
        .route("/p/{slug}/status/{token}/cancel", post(status::cancel))
        .route("/p/{slug}/download/{token}", get(download::page))
        .route("/p/{slug}/metrics", get(metrics::page))
        .route("/p/{slug}/brand.css", get(brand::stylesheet))
        .route("/p/{slug}/logo", get(brand::logo))
        .layer(middleware::from_fn_with_state(state.limits.clone(), rate_limit::per_ip))
        .layer(middleware::from_fn(headers::secure))
}
