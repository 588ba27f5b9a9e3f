//! Enrolling a TOTP second factor: a secret generated and kept encrypted until confirmed, its
//! QR code served as an SVG image from this origin (the CSP allows same-origin images, and an
//! SVG shown through `<img>` runs nothing), the secret also as text, confirmation with a first
//! code, then ten recovery codes shown once.

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
use super::sign_in::record;
use super::view::when;
use crate::auth::totp;
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
struct StatusPage {
    since: String,
    codes_left: u64,
}

#[derive(Template)]
#[template(path = "console/recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    codes: &'a [String],
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    code: String,
}

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
        let codes_left = operator_recovery_code::Entity::find()
            .filter(operator_recovery_code::Column::OperatorId.eq(op.id))
            .filter(operator_recovery_code::Column::UsedAt.is_null())
            .count(&state.db)
            .await?;
        let since = op.mfa_enabled_at.map(when).unwrap_or_default();
        return render(&StatusPage { since, codes_left });
    }
    let secret = pending_secret(&state, op).await?;
    let text = totp::base32(&secret);
    let required = session.organization.mfa_required;
    render(&EnrolPage { csrf: &session.csrf, secret: &text, error: None, required })
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
