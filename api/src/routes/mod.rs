//! The HTTP surface: one module per endpoint group, wired here with `utoipa_axum` so that the
//! OpenAPI document is generated from the same code that routes.

pub mod api_keys;
pub mod auth;
pub mod callbacks;
pub mod drp;
pub mod exports;
pub mod holds;
pub mod ledger;
pub mod no_store;
pub mod operators;
pub mod organization;
pub mod reports;
pub mod requests;
pub mod retention;
pub mod stores;
pub mod system;
pub mod throttle;
pub mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::state::AppState;
use crate::web::WebError;

/// The API's routes (`/v1/...`) and their OpenAPI document, before state and layers are
/// attached: the endpoints data subjects call, then those operators and API keys call.
fn api_routes() -> OpenApiRouter<AppState> {
    let public = OpenApiRouter::new()
        .routes(routes!(requests::intake::submit))
        .routes(routes!(requests::intake::verify))
        .routes(routes!(requests::intake::resend))
        .routes(routes!(requests::read::get_one))
        .routes(routes!(requests::wait::wait))
        .routes(routes!(requests::actions::cancel))
        .routes(routes!(auth::login))
        .routes(routes!(ledger::public_key))
        .routes(routes!(ledger::lookup))
        .routes(routes!(callbacks::task_report))
        .routes(routes!(exports::download))
        .routes(routes!(drp::protocol::setup, drp::protocol::agent))
        .routes(routes!(drp::protocol::exercise))
        .routes(routes!(drp::protocol::status, drp::protocol::revoke));
    let operator = OpenApiRouter::new()
        .routes(routes!(requests::read::list))
        .routes(routes!(requests::attested::submit))
        .routes(routes!(requests::actions::approve))
        .routes(routes!(requests::actions::deny))
        .routes(routes!(requests::actions::extend))
        .routes(routes!(requests::actions::retry))
        .routes(routes!(requests::actions::hold))
        .routes(routes!(requests::actions::resume))
        .routes(routes!(auth::change_password))
        .routes(routes!(operators::list, operators::create))
        .routes(routes!(operators::update))
        .routes(routes!(operators::reset_mfa))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(api_keys::regenerate))
        .routes(routes!(ledger::entries))
        .routes(routes!(ledger::checkpoints, ledger::sign_checkpoint))
        .routes(routes!(ledger::latest_checkpoint))
        .routes(routes!(ledger::inclusion))
        .routes(routes!(ledger::consistency))
        .routes(routes!(stores::crud::list, stores::crud::create))
        .routes(routes!(stores::crud::get_one, stores::crud::update, stores::crud::delete))
        .routes(routes!(stores::datamap::save))
        .routes(routes!(stores::datamap::import_fides))
        .routes(routes!(stores::actions::test))
        .routes(routes!(stores::actions::discover))
        .routes(routes!(stores::actions::preview))
        .routes(routes!(requests::certificate::get_certificate))
        .routes(routes!(requests::tasks::list))
        .routes(routes!(requests::tasks::relocate))
        .routes(routes!(requests::tasks::waive))
        .routes(routes!(requests::recipients::list))
        .routes(routes!(requests::recipients::complete))
        .routes(routes!(requests::recipients::waive))
        .routes(routes!(organization::get_settings, organization::update_settings))
        .routes(routes!(retention::policies::list, retention::policies::create))
        .routes(routes!(retention::policies::get_one, retention::policies::update, retention::policies::delete))
        .routes(routes!(retention::actions::preview))
        .routes(routes!(retention::actions::run_now))
        .routes(routes!(retention::runs::list))
        .routes(routes!(retention::runs::stop))
        .routes(routes!(retention::runs::resume))
        .routes(routes!(holds::list, holds::place))
        .routes(routes!(holds::release))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get_one, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(reports::metrics))
        .routes(routes!(drp::agents::list, drp::agents::create))
        .routes(routes!(drp::agents::update, drp::agents::delete));
    // Completing a manual task may carry a file: a larger body limit for this route only (the
    // innermost `DefaultBodyLimit` wins over the global one).
    let attachments = OpenApiRouter::new()
        .routes(routes!(requests::tasks::complete))
        .layer(DefaultBodyLimit::max(requests::tasks::COMPLETE_BODY_BYTES));
    public.merge(operator).merge(attachments)
}

/// The probes and metrics.
fn system_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::metrics))
}

/// The OpenAPI document.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    parts(api_routes()).1
}

/// The router and its complete OpenAPI document: `api` (the API's routes, with their layers)
/// and the probes, never cached; the handlers' annotations, plus the answers the extractors
/// give before a handler runs, with flattened closed types opened.
fn parts(api: OpenApiRouter<AppState>) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api)
        .merge(system_routes())
        .layer(middleware::from_fn(no_store::no_store))
        .split_for_parts();
    crate::openapi::rejections::document(&mut openapi);
    crate::openapi::flattened::document(&mut openapi);
    (router, openapi)
}

/// The complete application: API routes (rate-limited per caller, never cached), `/openapi.json`,
/// `/docs`, problem+json fallbacks, body limit, panic catcher and request tracing (method and
/// route only: no query strings, which can carry tokens).
pub fn app(state: AppState) -> Router {
    let api = api_routes().layer(middleware::from_fn_with_state(state.clone(), throttle::per_caller));
    let (router, openapi) = parts(api);
    let max_body = state.settings.max_body_bytes;
    router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .merge(crate::web::assets::router())
        .merge(crate::console::router(state.clone()))
        .merge(crate::portal::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or("unmatched", axum::extract::MatchedPath::as_str)
                .to_owned();
            tracing::info_span!("http", method = %request.method(), route = %route)
        }))
}

/// Whether `uri` is a page (answered with HTML errors) rather than an API endpoint.
fn is_page(uri: &Uri) -> bool {
    uri.path() == "/console" || uri.path().starts_with("/console/") || uri.path().starts_with("/p/")
}

async fn not_found(uri: Uri) -> Response {
    if is_page(&uri) {
        return WebError::not_found().into_response();
    }
    ApiError::not_found("not_found", "no such endpoint; see /openapi.json").into_response()
}

async fn method_not_allowed(uri: Uri) -> Response {
    if is_page(&uri) {
        return WebError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This page does not take that.")
            .into_response();
    }
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not accept this method")
        .into_response()
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(&"handler panicked").into_response()
}
