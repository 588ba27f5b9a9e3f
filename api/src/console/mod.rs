//! The operator console: server-rendered pages for the privacy team, on the shared web
//! infrastructure ([`crate::web`]): sign-in with a TOTP second factor (enrolled, replaced, reset
//! by an admin), the password change, the queue, the request
//! page with its checklist and actions, stores with discovery and data maps, retention and
//! legal holds, the ledger, webhooks, the dashboard, settings (operators, API keys, defaults) and the audit log.
//!
//! Every page loads the session from its cookie and checks role and organization on the server:
//! actions call the services the JSON API's handlers call ([`crate::services`]) with the operator
//! as principal, so permissions, tenant scoping, validation and the state machine are the API's
//! own. Auditors see no action forms, and their POSTs are refused by those same checks. Every
//! operator action outside a request also writes an audit event (`operator_events`: who, what,
//! when, from which address).

pub mod actions;
pub mod audit;
pub mod charts;
pub mod dashboard;
pub mod datamap;
pub mod fields;
pub mod hold_form;
pub mod holds;
pub mod keys;
pub mod ledger;
pub mod mfa;
pub mod password;
pub mod policies;
pub mod policy_form;
pub mod privacy;
pub mod queue;
pub mod request;
pub mod retention;
pub mod review;
pub mod session;
pub mod settings;
pub mod sign_in;
pub mod stores;
pub mod view;
pub mod webhooks;
pub mod yaml;

use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Router, middleware};

use crate::routes::requests::tasks::COMPLETE_BODY_BYTES;
use crate::state::AppState;
use crate::web::headers;

/// The console's routes, with security headers and session renewal.
pub fn router(state: AppState) -> Router<AppState> {
    let uploads = Router::new()
        .route("/console/requests/{id}/tasks/{task}/complete", post(actions::complete_task))
        .layer(DefaultBodyLimit::max(COMPLETE_BODY_BYTES));
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(queue::queue))
        .route("/console/search", post(queue::search))
        .route("/console/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/console/sign-in/code", get(sign_in::code_page).post(sign_in::code_submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/sign-out-everywhere", post(sign_in::sign_out_everywhere))
        .route("/console/mfa", get(mfa::page).post(mfa::confirm))
        .route("/console/mfa/qr.svg", get(mfa::qr))
        .route("/console/mfa/reset", post(mfa::reset))
        .route("/console/password", get(password::page).post(password::submit))
        .route("/console/requests/{id}", get(request::page))
        .route("/console/requests/{id}/certificate", get(request::certificate_page))
        .route("/console/requests/{id}/certificate.json", get(request::certificate_json))
        .route("/console/requests/{id}/{action}", post(actions::act))
        .route("/console/requests/{id}/locate", post(actions::locate))
        .route("/console/requests/{id}/tasks/{task}/waive", post(actions::waive_task))
        .route("/console/requests/{id}/recipients/{task}/complete", post(actions::notify_recipient))
        .route("/console/requests/{id}/recipients/{task}/waive", post(actions::waive_recipient))
        .route("/console/stores", get(stores::list).post(stores::register))
        .route("/console/stores/{id}", get(stores::page))
        .route("/console/stores/{id}/test", post(stores::test))
        .route("/console/stores/{id}/discover", post(stores::discover))
        .route("/console/stores/{id}/review", post(datamap::save_review))
        .route("/console/stores/{id}/datamap", get(datamap::edit).post(datamap::save_yaml))
        .route("/console/requests/{id}/legal-hold", post(holds::on_request))
        .route("/console/retention", get(retention::page))
        .route("/console/retention/policies", post(policies::create))
        .route("/console/retention/policies/{id}", get(policies::page).post(policies::update))
        .route("/console/retention/policies/{id}/delete", post(policies::delete))
        .route("/console/retention/policies/{id}/preview", post(retention::preview))
        .route("/console/retention/policies/{id}/run", post(retention::run_now))
        .route("/console/retention/runs/{id}/stop", post(retention::stop))
        .route("/console/retention/runs/{id}/resume", post(retention::resume))
        .route("/console/retention/holds", get(holds::page).post(holds::place))
        .route("/console/retention/holds/{id}/release", post(holds::release))
        .route("/console/ledger", get(ledger::page))
        .route("/console/ledger/verify", post(ledger::verify))
        .route("/console/ledger/export", post(ledger::export))
        .route("/console/ledger/lookup", post(ledger::lookup))
        .route("/console/settings", get(settings::page))
        .route("/console/settings/operators", post(settings::create_operator))
        .route("/console/settings/operators/{id}", post(settings::change_operator))
        .route("/console/settings/operators/{id}/mfa-reset", post(settings::reset_mfa))
        .route("/console/settings/organization", post(settings::organization))
        .route("/console/settings/privacy", post(privacy::save))
        .route("/console/settings/retention/{id}", post(settings::builtin_age))
        .route("/console/settings/api-keys", post(keys::create))
        .route("/console/settings/api-keys/{id}/revoke", post(keys::revoke))
        .route("/console/settings/api-keys/{id}/regenerate", post(keys::regenerate))
        .route("/console/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/console/webhooks/{id}", get(webhooks::page).post(webhooks::update))
        .route("/console/webhooks/{id}/test", post(webhooks::test))
        .route("/console/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/console/webhooks/{id}/delete", post(webhooks::delete))
        .route("/console/webhooks/{id}/deliveries/{delivery}/redeliver", post(webhooks::redeliver))
        .route("/console/dashboard", get(dashboard::page))
        .route("/console/dashboard/metrics.csv", get(dashboard::metrics_csv))
        .route("/console/audit", get(audit::page))
        .route("/console/audit.csv", get(audit::export))
        .merge(uploads)
        .layer(middleware::from_fn_with_state(state, session::renew))
        .layer(middleware::from_fn(headers::secure))
}
