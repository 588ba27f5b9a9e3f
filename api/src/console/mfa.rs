//! Enrolling a TOTP second factor: a secret generated and kept encrypted until confirmed, its
//! QR code served as an SVG image from this origin (the CSP allows same-origin images, and an
//! SVG shown through `<img>` runs nothing), the secret also as text, confirmation with a first
//! code, then ten recovery codes shown once. An enrolled operator can remove their own second
//! factor to enrol a new one (a new phone), confirmed with their password and a current code or
//! a recovery code; a wrong one counts towards the sign-in lockout, and their other sessions
//! and tokens end.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::entity::operator;
use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::entity::operator_recovery_code;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use time::OffsetDateTime;

use super::session::{self, PartialSession, Session, Stage};
use super::sign_in::{record, with_cookie};
use super::view::when;
use crate::auth::{credentials, totp};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebError, WebResult, render};

#[derive(Template)]
#[template(path = "console/enrol.html")]
struct EnrolPage<'a> {
    csrf: &'a str,
    secret: &'a str,
    error: Option<&'a str>,
    required: bool,
}

#[derive(Template)]
#[template(path = "console/mfa_status.html")]
struct StatusPage<'a> {
    csrf: &'a str,
    since: String,
    codes_left: u64,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console/recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    codes: &'a [String],
}

/// The form removing one's own second factor to enrol a new one.
#[derive(Deserialize)]
pub struct ResetForm {
    csrf: String,
    password: String,
    code: String,
}
crate::opaque_debug!(ResetForm);

/// The confirmation form.
#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    code: String,
}
crate::opaque_debug!(ConfirmForm);

/// The pending secret of `op`, created (and stored encrypted) when there is none.
async fn pending_secret(state: &AppState, op: &operator::Model) -> WebResult<zeroize::Zeroizing<Vec<u8>>> {
    if let Some(sealed) = op.mfa_pending_secret.as_deref() {
        return Ok(totp::open(&state.keyring, op, sealed)?);
    }
    let secret = totp::new_secret();
    let mut active = op.clone().into_active_model();
    active.mfa_pending_secret = Set(Some(totp::seal(&state.keyring, op, &secret)));
    active.update(&state.db).await?;
    Ok(secret)
}

fn at_code_stage(session: &Session) -> Option<Response> {
    (session.stage == Stage::Code).then(|| Redirect::to("/console/sign-in/code").into_response())
}

/// `GET /console/mfa`: enrolment, or the second factor's status once enrolled.
pub async fn page(State(state): State<AppState>, PartialSession(session): PartialSession) -> WebResult<Response> {
    if let Some(redirect) = at_code_stage(&session) {
        return Ok(redirect);
    }
    let op = &session.operator;
    if op.has_mfa() {
        return status_page(&state, &session, None).await;
    }
    let secret = pending_secret(&state, op).await?;
    let text = totp::base32(&secret);
    let required = session.organization.mfa_required;
    render(&EnrolPage { csrf: &session.csrf, secret: &text, error: None, required })
}

/// The enrolled second factor's status, with the form to replace it (and why it was refused).
async fn status_page(state: &AppState, session: &Session, error: Option<&str>) -> WebResult<Response> {
    let op = &session.operator;
    let codes_left = operator_recovery_code::Entity::find()
        .filter(operator_recovery_code::Column::OperatorId.eq(op.id))
        .filter(operator_recovery_code::Column::UsedAt.is_null())
        .count(&state.db)
        .await?;
    let since = op.mfa_enabled_at.map(when).unwrap_or_default();
    let mut response = render(&StatusPage { csrf: &session.csrf, since, codes_left, error })?;
    if error.is_some() {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    Ok(response)
}

/// `POST /console/mfa/reset`: removes the operator's own second factor once their password
/// and a current code (or a recovery code) confirm it, ends their other sessions and tokens
/// (this browser gets a new cookie) and opens the enrolment of a new one.
pub async fn reset(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ResetForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let op = &session.operator;
    if !op.has_mfa() {
        return Ok(Redirect::to("/console/mfa").into_response());
    }
    let (ip, during) = (session.ip(), "second-factor reset");
    let confirmed = credentials::confirm_password(&state, op, form.password, ip, during).await?
        && credentials::confirm_code(&state, op, &form.code, ip, during).await?;
    if !confirmed {
        let refused = "Wrong password or code, or the account is locked after too many failures (for 15 minutes).";
        return status_page(&state, &session, Some(refused)).await;
    }
    let why = "own second factor, to enrol a new one".to_owned();
    let removed = credentials::remove_second_factor(&state, op, op.id, ip, why).await?;
    let cookie = session::issue(&state, &removed, Stage::Full)?;
    Ok(with_cookie(Redirect::to("/console/mfa").into_response(), Some(cookie)))
}

/// `GET /console/mfa/qr.svg`: the pending secret's QR code.
pub async fn qr(State(state): State<AppState>, PartialSession(session): PartialSession) -> WebResult<Response> {
    let op = &session.operator;
    let sealed = op.mfa_pending_secret.as_deref().filter(|_| !op.has_mfa()).ok_or_else(WebError::not_found)?;
    let secret = totp::open(&state.keyring, op, sealed)?;
    let svg = totp::qr_svg(&secret, &op.email)?;
    let mut response = svg.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    Ok(response)
}

/// `POST /console/mfa`: confirms the pending secret with a code; shows the recovery codes once.
pub async fn confirm(
    State(state): State<AppState>,
    PartialSession(session): PartialSession,
    Form(form): Form<ConfirmForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    if let Some(redirect) = at_code_stage(&session) {
        return Ok(redirect);
    }
    let op = &session.operator;
    if op.has_mfa() {
        return Err(WebError::new(StatusCode::CONFLICT, "mfa_enrolled", "A second factor is already enrolled."));
    }
    let secret = pending_secret(&state, op).await?;
    let Some(step) = totp::matching_step(&secret, &op.email, &form.code)? else {
        let text = totp::base32(&secret);
        let page = EnrolPage {
            csrf: &session.csrf,
            secret: &text,
            error: Some("That code is not right. Check the time on your phone and enter the current code."),
            required: session.organization.mfa_required,
        };
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    };
    let txn = lethe_entities::entity::begin_write(&state.db).await?;
    let enrolled = operator::Entity::update_many()
        .col_expr(operator::Column::MfaSecret, Expr::value(op.mfa_pending_secret.clone()))
        .col_expr(operator::Column::MfaPendingSecret, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(operator::Column::MfaEnabledAt, Expr::value(Some(OffsetDateTime::now_utc())))
        .col_expr(operator::Column::MfaLastStep, Expr::value(i64::try_from(step).ok()))
        .filter(operator::Column::Id.eq(op.id))
        .filter(operator::Column::MfaEnabledAt.is_null())
        .exec(&txn)
        .await?;
    if enrolled.rows_affected != 1 {
        return Err(WebError::new(StatusCode::CONFLICT, "mfa_enrolled", "A second factor is already enrolled."));
    }
    let codes = totp::issue_recovery_codes(&txn, &state.keyring, op).await?;
    txn.commit().await?;
    record(&state, op, OperatorEventKind::MfaEnrolled, session.ip(), None).await;
    tracing::info!(operator_id = %op.id, "operator enrolled a second factor");
    let mut response = render(&RecoveryCodesPage { codes: &codes })?;
    let enrolled = operator::Model::find_in_org(&state.db, op.organization_id, op.id).await?.unwrap_or(op.clone());
    response.headers_mut().append(header::SET_COOKIE, session::issue(&state, &enrolled, Stage::Full)?);
    Ok(response)
}
