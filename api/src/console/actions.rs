//! The request page's forms: lifecycle actions (approve, deny, extend, cancel, retry, hold,
//! resume) and the checklist (locate again, complete or waive a store task, notify or waive a
//! recipient). Each checks the session's CSRF token and then calls the service the JSON API
//! calls ([`crate::services`]) with the operator as principal: the same permission checks,
//! validation, state machine and timeline events, with the operator's address recorded. Success
//! returns to the request page.

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::session::Session;
use lethe_entities::entity::recipient_task::RecipientStep;

use crate::extract::PathParams;
use crate::services::tasks::{MAX_ATTACHMENT_BYTES, Upload};
use crate::services::{self, requests::DenialGround, requests::RequestAction};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebError, WebResult};

/// A form with a note or reason (and, for a denial, a ground and a detail instead).
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ground: String,
    #[serde(default)]
    detail: String,
}

/// A form with a required reason.
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    csrf: String,
    reason: String,
}

/// A form with only its CSRF token (every page's buttons).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    pub csrf: String,
}

fn back(id: Uuid, done: &str) -> Response {
    Redirect::to(&format!("/console/requests/{id}?done={done}")).into_response()
}

/// A form's text, `None` when left blank.
pub(super) fn optional(text: String) -> Option<String> {
    Some(text).filter(|t| !t.trim().is_empty())
}

/// `POST /console/requests/{id}/{action}`: approve, deny, extend, cancel, retry, hold or
/// resume, through [`services::requests::act`]; back to the request page with `?done=<action>`.
pub async fn act(
    State(state): State<AppState>,
    session: Session,
    PathParams((id, action)): PathParams<(Uuid, String)>,
    Form(form): Form<ActionForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let note = optional(form.reason);
    let action = match action.as_str() {
        "approve" => RequestAction::Approve(note.as_deref()),
        "deny" => {
            let ground: DenialGround = serde_json::from_value(serde_json::Value::String(form.ground))
                .map_err(|_| WebError::invalid_form("Choose one of the listed grounds."))?;
            RequestAction::Deny(ground, Some(form.detail.as_str()).filter(|d| !d.trim().is_empty()))
        }
        "extend" => RequestAction::Extend(note.as_deref().unwrap_or_default()),
        "cancel" => RequestAction::Cancel(note.as_deref()),
        "retry" => RequestAction::Retry(note.as_deref()),
        "hold" => RequestAction::Hold(note.as_deref().unwrap_or_default()),
        "resume" => RequestAction::Resume(note.as_deref()),
        _ => return Err(WebError::not_found()),
    };
    let name = action.name();
    services::requests::act(&state, &session.principal, id, action).await?;
    Ok(back(id, name))
}

/// `POST /console/requests/{id}/locate`: failed stores are located again.
pub async fn locate(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    services::tasks::relocate(&state, &session.principal, id).await?;
    Ok(back(id, "locate"))
}

/// The fields of the completion form (multipart: it may carry a file).
#[derive(Default)]
struct CompleteFields {
    csrf: String,
    note: String,
    done: bool,
    file: Option<(String, Vec<u8>)>,
}

fn unreadable(error: axum::extract::multipart::MultipartError) -> WebError {
    if crate::server::body_timeout::is_body_timeout(&error) {
        return crate::error::ApiError::request_timeout().into();
    }
    WebError::invalid_form("The form could not be read; send it again from the request page.")
}

async fn complete_fields(mut multipart: Multipart) -> WebResult<CompleteFields> {
    let mut fields = CompleteFields::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or_default() {
            "csrf" => fields.csrf = field.text().await.map_err(unreadable)?,
            "note" => fields.note = field.text().await.map_err(unreadable)?,
            "done" => fields.done = !field.text().await.map_err(unreadable)?.is_empty(),
            "attachment" => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(unreadable)?;
                if bytes.len() > MAX_ATTACHMENT_BYTES {
                    return Err(WebError::invalid_form("The file is larger than 10 MiB."));
                }
                // A file input left empty sends a part with no name and no bytes.
                if !(name.is_empty() && bytes.is_empty()) {
                    fields.file = Some((name, bytes.to_vec()));
                }
            }
            _ => return Err(WebError::invalid_form("The form has a field it should not have.")),
        }
    }
    Ok(fields)
}

/// `POST /console/requests/{id}/tasks/{task}/complete`: a manual task done, with a note and,
/// for an access request, an optional file for the package.
pub async fn complete_task(
    State(state): State<AppState>,
    session: Session,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    multipart: Multipart,
) -> WebResult<Response> {
    let fields = complete_fields(multipart).await?;
    session.check_csrf(&state, &fields.csrf)?;
    if !fields.done {
        return Err(WebError::invalid_form("Tick “Done” to confirm the step is finished."));
    }
    let upload = fields.file.map(|(file_name, content)| Upload::Bytes { file_name, content });
    services::tasks::complete(&state, &session.principal, id, task, &fields.note, upload).await?;
    Ok(back(id, "task"))
}

/// `POST /console/requests/{id}/tasks/{task}/waive` (admin).
pub async fn waive_task(
    State(state): State<AppState>,
    session: Session,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    Form(form): Form<ReasonForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    services::tasks::waive(&state, &session.principal, id, task, &form.reason).await?;
    Ok(back(id, "task"))
}

/// `POST /console/requests/{id}/recipients/{task}/complete`: the recipient was notified.
pub async fn notify_recipient(
    State(state): State<AppState>,
    session: Session,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    Form(form): Form<ReasonForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    services::recipients::settle(&state, &session.principal, id, task, RecipientStep::Notify, &form.reason).await?;
    Ok(back(id, "recipient"))
}

/// `POST /console/requests/{id}/recipients/{task}/waive` (admin).
pub async fn waive_recipient(
    State(state): State<AppState>,
    session: Session,
    PathParams((id, task)): PathParams<(Uuid, Uuid)>,
    Form(form): Form<ReasonForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    services::recipients::settle(&state, &session.principal, id, task, RecipientStep::Waive, &form.reason).await?;
    Ok(back(id, "recipient"))
}
