//! Webhooks in the console: the organization's endpoints (admins create them, the secret shown
//! once), and each endpoint's page with its settings, the delivery log (every attempt's status,
//! latency and first bytes) and the actions: send a test event, rotate the secret, enable or
//! disable, delete, redeliver. Through the services the JSON API calls
//! ([`crate::services::webhooks`]), which also write the audit events.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::webhook::EventType;
use uuid::Uuid;

use super::actions::CsrfForm;
use super::session::Session;
use super::view::{DoneQuery, Nav, SecretPage, name, when};
use crate::auth::Permission;
use crate::extract::PathParams;
use crate::services::webhooks::{self, NewWebhook, RotateSecret, WebhookChange, WebhookSecret, WebhookView};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebResult, render};

/// An endpoint as the pages show it.
struct Endpoint {
    id: String,
    url: String,
    description: String,
    events: String,
    state: String,
    enabled: bool,
    overlap: Option<String>,
    created: String,
}

impl Endpoint {
    fn of(view: &WebhookView) -> Self {
        let state = match (view.enabled, view.disabled_reason.as_deref()) {
            (true, _) => "enabled".to_owned(),
            (false, Some("failing")) => format!(
                "disabled since {}: its deliveries kept failing (events are kept for it)",
                view.disabled_at.map(when).unwrap_or_default()
            ),
            (false, _) => "disabled by an admin".to_owned(),
        };
        Self {
            id: view.id.to_string(),
            url: view.url.clone(),
            description: view.description.clone().unwrap_or_default(),
            events: view.event_types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
            state,
            enabled: view.enabled,
            overlap: view.previous_secret_expires_at.map(when),
            created: when(view.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    nav: Nav,
    endpoints: Vec<Endpoint>,
    manage: bool,
    event_types: Vec<&'static str>,
    notice: Option<&'static str>,
}

/// `GET /console/webhooks`.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    let notice = match DoneQuery::of(query).as_deref() {
        Some("deleted") => Some("The endpoint is deleted."),
        _ => None,
    };
    let views = webhooks::list(&state, &session.principal).await?;
    let page = WebhooksPage {
        nav: Nav::new(&session, "webhooks"),
        endpoints: views.iter().map(Endpoint::of).collect(),
        manage: session.can(Permission::ManageWebhooks),
        event_types: EventType::SUBSCRIBABLE.iter().map(|t| t.as_str()).collect(),
        notice,
    };
    render(&page)
}

/// The form creating an endpoint (checkboxes repeat `event`).
fn new_webhook(pairs: Vec<(String, String)>) -> (String, NewWebhook) {
    let (mut csrf, mut body) =
        (String::new(), NewWebhook { url: String::new(), description: None, event_types: Vec::new() });
    for (key, value) in pairs {
        match key.as_str() {
            "csrf" => csrf = value,
            "url" => body.url = value,
            "description" => body.description = Some(value),
            "event" => body.event_types.push(value),
            _ => {}
        }
    }
    (csrf, body)
}

fn secret_page(session: &Session, what: &str, created: WebhookSecret) -> WebResult<Response> {
    let page = SecretPage {
        nav: Nav::new(session, "webhooks"),
        what: format!(
            "{what} for {}. Receivers check signatures with it (Standard Webhooks). Store it now: it cannot be \
             shown again.",
            created.webhook.url
        ),
        secret: created.secret,
        back: "/console/webhooks",
    };
    render(&page)
}

/// `POST /console/webhooks`.
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let (csrf, body) = new_webhook(form);
    session.check_csrf(&state, &csrf)?;
    let created = webhooks::create(&state, &session.principal, body).await?;
    secret_page(&session, "The signing secret of the new endpoint", created)
}

/// One delivery as the log shows it.
struct Delivery {
    id: String,
    event_type: String,
    request: Option<String>,
    status: String,
    pending: bool,
    created: String,
    attempts: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/webhook.html")]
struct WebhookPage {
    nav: Nav,
    endpoint: Endpoint,
    deliveries: Vec<Delivery>,
    manage: bool,
    event_types: Vec<(&'static str, bool)>,
    notice: Option<&'static str>,
}

/// `GET /console/webhooks/{id}`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    let notice = match DoneQuery::of(query).as_deref() {
        Some("changed") => Some("The endpoint is changed."),
        Some("test") => Some("A test event is on its way; it shows below."),
        Some("redeliver") => Some("The delivery is sent again; it shows below."),
        _ => None,
    };
    let view = webhooks::get(&state, &session.principal, id).await?;
    let log = webhooks::deliveries(&state, &session.principal, id).await?;
    let deliveries = log
        .iter()
        .map(|d| Delivery {
            id: d.id.to_string(),
            event_type: d.event_type.clone(),
            request: d.request_id.map(|r| r.to_string()),
            status: match d.next_attempt_at {
                Some(next) => format!("{}, next attempt {}", name(&d.status), when(next)),
                None => name(&d.status),
            },
            pending: d.next_attempt_at.is_some(),
            created: when(d.created_at),
            attempts: d
                .attempt_log
                .iter()
                .map(|a| {
                    let answer = match (a.http_status, &a.error_code) {
                        (Some(status), _) => format!("HTTP {status}"),
                        (None, Some(code)) => code.clone(),
                        (None, None) => "no answer".to_owned(),
                    };
                    let excerpt = a.response_excerpt.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                    format!("{}: {answer} in {} ms{excerpt}", when(a.at), a.latency_ms)
                })
                .collect(),
        })
        .collect();
    let page = WebhookPage {
        nav: Nav::new(&session, "webhooks"),
        event_types: EventType::SUBSCRIBABLE.iter().map(|t| (t.as_str(), view.event_types.contains(t))).collect(),
        endpoint: Endpoint::of(&view),
        deliveries,
        manage: session.can(Permission::ManageWebhooks),
        notice,
    };
    render(&page)
}

/// `POST /console/webhooks/{id}`: URL, description, events, enabled.
pub async fn update(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let (csrf, new) = new_webhook(form.clone());
    session.check_csrf(&state, &csrf)?;
    let enabled = form.iter().any(|(k, v)| k == "enabled" && v == "on");
    let change = WebhookChange {
        url: Some(new.url),
        description: Some(new.description.unwrap_or_default()),
        event_types: Some(new.event_types),
        enabled: Some(enabled),
    };
    webhooks::update(&state, &session.principal, id, change).await?;
    Ok(Redirect::to(&format!("/console/webhooks/{id}?done=changed")).into_response())
}

/// `POST /console/webhooks/{id}/test`.
pub async fn test(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    webhooks::test(&state, &session.principal, id).await?;
    Ok(Redirect::to(&format!("/console/webhooks/{id}?done=test")).into_response())
}

/// `POST /console/webhooks/{id}/rotate`: a new secret shown once; the old one is still signed
/// with for 24 hours.
pub async fn rotate(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let rotated = webhooks::rotate(&state, &session.principal, id, RotateSecret::default()).await?;
    secret_page(&session, "The new signing secret (the old one is still signed with for 24 hours)", rotated)
}

/// `POST /console/webhooks/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    webhooks::delete(&state, &session.principal, id).await?;
    Ok(Redirect::to("/console/webhooks?done=deleted").into_response())
}

/// `POST /console/webhooks/{id}/deliveries/{delivery}/redeliver`.
pub async fn redeliver(
    State(state): State<AppState>,
    session: Session,
    PathParams((id, delivery)): PathParams<(Uuid, Uuid)>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    webhooks::redeliver(&state, &session.principal, id, delivery).await?;
    Ok(Redirect::to(&format!("/console/webhooks/{id}?done=redeliver")).into_response())
}
