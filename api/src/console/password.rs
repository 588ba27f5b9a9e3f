//! Changing one's own password: the current one and the new one twice, by the rules of account
//! creation. A wrong current password counts towards the sign-in lockout. On success the token
//! version is bumped, which ends the operator's other sessions and API tokens, and this browser
//! gets a new session cookie, so it stays signed in. The checks and account events are the
//! JSON API's (`crate::auth::credentials`).

use askama::Template;
use axum::extract::Query;
use axum::extract::State;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::{self, Session, Stage};
use super::sign_in::with_cookie;
use super::view::{DoneQuery, Nav};
use crate::auth::{credentials, password};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebResult, render};

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage<'a> {
    nav: Nav,
    notice: Option<&'static str>,
    error: Option<&'a str>,
    min: usize,
    max: usize,
}

/// The password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    repeat_password: String,
}
crate::opaque_debug!(PasswordForm);

fn show(
    session: &Session,
    notice: Option<&'static str>,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult<Response> {
    let page = PasswordPage {
        nav: Nav::new(session, "password"),
        notice,
        error,
        min: password::MIN_LENGTH,
        max: password::MAX_LENGTH,
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /console/password`.
pub async fn page(session: Session, query: Result<Query<DoneQuery>, QueryRejection>) -> WebResult<Response> {
    let notice = (DoneQuery::of(query).as_deref() == Some("changed"))
        .then_some("Your password is changed. Your other sessions and API tokens have ended.");
    show(&session, notice, None, StatusCode::OK)
}

/// `POST /console/password`.
pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<PasswordForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    if form.new_password != form.repeat_password {
        return show(&session, None, Some("The two new passwords differ."), StatusCode::UNPROCESSABLE_ENTITY);
    }
    if credentials::validate_new_password("new_password", &form.new_password).is_err() {
        let rule = format!("The new password needs {} to {} characters.", password::MIN_LENGTH, password::MAX_LENGTH);
        return show(&session, None, Some(&rule), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let op = &session.operator;
    if !credentials::confirm_password(&state, op, form.current_password, session.ip(), "password change").await? {
        let wrong = "The current password is wrong, or the account is locked after too many failures (for 15 minutes).";
        return show(&session, None, Some(wrong), StatusCode::UNAUTHORIZED);
    }
    let changed = credentials::change_password(&state, op, form.new_password, session.ip()).await?;
    let cookie = session::issue(&state, &changed, Stage::Full)?;
    Ok(with_cookie(Redirect::to("/console/password?done=changed").into_response(), Some(cookie)))
}
