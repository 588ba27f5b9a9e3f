//! API keys on the settings page (admins): the list without secrets, creating a key and
//! regenerating its secret (each shown once, on its own page), and revoking. Through the
//! services the JSON API calls ([`crate::services::api_keys`]), with an audit event each.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::entity::operator_event::OperatorEventKind;
use uuid::Uuid;

use super::actions::CsrfForm;
use super::session::Session;
use super::sign_in::record;
use super::view::{Nav, SecretPage, when};
use crate::extract::PathParams;
use crate::services::api_keys::{self, ApiKeySecret, NewApiKey};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebResult, render};

/// A key as the settings page lists it.
pub struct Key {
    /// Id.
    pub id: String,
    /// Label.
    pub name: String,
    /// The public prefix of its secret.
    pub prefix: String,
    /// Its scopes, comma-separated.
    pub scopes: String,
    /// Created.
    pub created: String,
    /// Last used, if ever.
    pub last_used: Option<String>,
    /// Revoked, if it is.
    pub revoked: Option<String>,
}

/// The organization's keys, as `GET /v1/api-keys` lists them.
pub async fn keys(state: &AppState, session: &Session) -> WebResult<Vec<Key>> {
    let views = api_keys::list(state, &session.principal).await?;
    Ok(views
        .into_iter()
        .map(|k| Key {
            id: k.id.to_string(),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.join(", "),
            created: when(k.created_at),
            last_used: k.last_used_at.map(when),
            revoked: k.revoked_at.map(when),
        })
        .collect())
}

fn secret_page(session: &Session, what: &str, key: ApiKeySecret) -> WebResult<Response> {
    let page = SecretPage {
        nav: Nav::new(session, "settings"),
        what: format!(
            "{what} “{}” ({}). Store it now: it cannot be shown again.",
            key.key.name,
            key.key.scopes.join(", ")
        ),
        secret: key.secret,
        back: "/console/settings",
    };
    render(&page)
}

/// The form creating a key: a label and one or more scopes (repeated `scope` fields).
#[derive(Debug)]
pub struct NewKeyForm {
    csrf: String,
    name: String,
    scope: Vec<String>,
}

/// `POST /console/settings/api-keys`.
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = NewKeyForm::from_pairs(form);
    session.check_csrf(&state, &form.csrf)?;
    let body = NewApiKey { name: form.name, scopes: form.scope };
    let created = api_keys::create(&state, &session.principal, body).await?;
    let reason = format!("key {} ({})", created.key.id, created.key.scopes.join(" "));
    record(&state, &session.operator, OperatorEventKind::ApiKeyCreated, session.ip(), Some(&reason)).await;
    secret_page(&session, "The secret of the new API key", created)
}

impl NewKeyForm {
    /// The form from its fields (checkboxes repeat `scope`, which a struct cannot take from a
    /// URL-encoded body directly).
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self { csrf: String::new(), name: String::new(), scope: Vec::new() };
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "name" => form.name = value,
                "scope" => form.scope.push(value),
                _ => {}
            }
        }
        form
    }
}

/// `POST /console/settings/api-keys/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    api_keys::revoke(&state, &session.principal, id).await?;
    let reason = format!("key {id}");
    record(&state, &session.operator, OperatorEventKind::ApiKeyRevoked, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/settings?done=revoked").into_response())
}

/// `POST /console/settings/api-keys/{id}/regenerate`: a new secret, shown once; the old one
/// stops working at once.
pub async fn regenerate(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let fresh = api_keys::regenerate(&state, &session.principal, id).await?;
    let reason = format!("key {id}");
    record(&state, &session.operator, OperatorEventKind::ApiKeyRegenerated, session.ip(), Some(&reason)).await;
    secret_page(&session, "The new secret of the API key", fresh)
}
