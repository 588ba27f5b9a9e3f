//! Signing in (password, then the second factor), signing out, signing out everywhere.
//!
//! The password check and its lockout are the JSON login's (`crate::auth::sign_in`); a wrong
//! second-factor code counts towards the same lockout. Every outcome is an account event in
//! the audit log; the page never says whether the account exists or is locked.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::entity::operator;
use lethe_entities::entity::operator_event::{self, OperatorEventKind};
use lethe_entities::entity::organization;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde::Deserialize;

use super::session::{self, PartialSession, Session, Stage};
use crate::auth::sign_in::{self, Refused};
use crate::auth::totp;
use crate::state::AppState;
use crate::web::client::ClientIp;
use crate::web::form::Form;
use crate::web::{WebResult, csrf, render};

const FAILED: &str = "Wrong e-mail address, password or code, or the account is locked after too many failures \
(for 15 minutes). If your address has accounts in several organizations, name the organization too.";
const CODE_FAILED: &str = "Wrong code, or the account is locked after too many failures (for 15 minutes).";

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console/code.html")]
struct CodePage<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    csrf: String,
    email: String,
    password: String,
    /// The organization's slug, when the address has accounts in several.
    #[serde(default)]
    organization: String,
}
crate::opaque_debug!(SignInForm);

/// The second-factor form.
#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    code: String,
}
crate::opaque_debug!(CodeForm);

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    /// The token.
    pub csrf: String,
}

/// Records an account event; a failure to record is logged, never shown.
pub async fn record(
    state: &AppState,
    op: &operator::Model,
    kind: OperatorEventKind,
    ip: Option<std::net::IpAddr>,
    reason: Option<&str>,
) {
    let event = operator_event::ActiveModel::record(&state.keyring, op.organization_id, op.id, kind, ip, reason);
    if let Err(e) = event.insert(&state.db).await {
        tracing::error!(operator_id = %op.id, error = %e, "could not record an account event");
    }
}

/// `response` with `cookie` set, when there is one.
pub fn with_cookie(mut response: Response, cookie: Option<header::HeaderValue>) -> Response {
    if let Some(value) = cookie {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /console/sign-in`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> WebResult<Response> {
    let (sid, cookie) = session::pre_session(&state, &headers);
    let token = csrf::token(&state.keyring, &sid);
    Ok(with_cookie(render(&SignInPage { csrf: &token, error: None })?, cookie))
}

async fn refused(state: &AppState, ip: ClientIp, refused: Refused, sid: &str) -> WebResult<Response> {
    if let Some(op) = &refused.operator {
        record(state, op, OperatorEventKind::SignInFailed, ip.0, Some(refused.refusal.as_str())).await;
        if refused.locked_now {
            record(state, op, OperatorEventKind::Locked, ip.0, Some("too many failed sign-ins")).await;
        }
    } else {
        tracing::info!(why = refused.refusal.as_str(), "console sign-in refused without an account to name");
    }
    let token = csrf::token(&state.keyring, sid);
    let mut response = render(&SignInPage { csrf: &token, error: Some(FAILED) })?;
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    Ok(response)
}

/// `POST /console/sign-in`: the password; then the code, enrolment or the console.
pub async fn submit(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> WebResult<Response> {
    let sid = session::posted_pre_session(&headers).unwrap_or_default().to_owned();
    csrf::check(&state.keyring, &sid, Some(&form.csrf).filter(|_| !sid.is_empty()).map(String::as_str))?;
    let op = match sign_in::check_password(&state, ip.0, &form.email, Some(&form.organization), form.password).await? {
        Ok(op) => op,
        Err(r) => return refused(&state, ip, r, &sid).await,
    };
    let mfa_required =
        organization::Entity::find_by_id(op.organization_id).one(&state.db).await?.is_some_and(|o| o.mfa_required);
    let (stage, next) = if op.has_mfa() {
        (Stage::Code, "/console/sign-in/code")
    } else if mfa_required {
        (Stage::Enrol, "/console/mfa")
    } else {
        (Stage::Full, "/console/")
    };
    if stage == Stage::Full {
        sign_in::succeeded(&state.db, &op).await?;
        record(&state, &op, OperatorEventKind::SignedIn, ip.0, Some("password")).await;
    }
    let cookie = session::issue(&state, &op, stage)?;
    Ok(with_cookie(Redirect::to(next).into_response(), Some(cookie)))
}

/// `GET /console/sign-in/code`.
pub async fn code_page(PartialSession(session): PartialSession) -> WebResult<Response> {
    if session.stage != Stage::Code {
        return Ok(Redirect::to("/console/").into_response());
    }
    render(&CodePage { csrf: &session.csrf, error: None })
}

/// `POST /console/sign-in/code`: a TOTP code (each accepted once) or a recovery code (each
/// usable once). A wrong one counts towards the lockout.
pub async fn code_submit(
    State(state): State<AppState>,
    PartialSession(session): PartialSession,
    Form(form): Form<CodeForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    if session.stage != Stage::Code {
        return Ok(Redirect::to("/console/").into_response());
    }
    let ip = session.ip();
    sign_in::admit(&state, ip)?;
    let op = match sign_in::usable(session.operator.clone()) {
        Ok(op) => op,
        Err(r) => return code_refused(&state, &session, r.refusal.as_str(), false).await,
    };
    let by_totp = totp::verify_code(&state.db, &state.keyring, &op, &form.code).await?;
    let by_recovery = !by_totp && totp::use_recovery_code(&state.db, &state.keyring, &op, &form.code).await?;
    if !by_totp && !by_recovery {
        let locked = sign_in::failed(&state.db, &op).await?;
        return code_refused(&state, &session, "wrong code", locked).await;
    }
    sign_in::succeeded(&state.db, &op).await?;
    if by_recovery {
        record(&state, &op, OperatorEventKind::RecoveryCodeUsed, ip, None).await;
    }
    let how = if by_totp { "password and TOTP" } else { "password and recovery code" };
    record(&state, &op, OperatorEventKind::SignedIn, ip, Some(how)).await;
    let cookie = session::issue(&state, &op, Stage::Full)?;
    Ok(with_cookie(Redirect::to("/console/").into_response(), Some(cookie)))
}

async fn code_refused(state: &AppState, session: &Session, why: &str, locked: bool) -> WebResult<Response> {
    record(state, &session.operator, OperatorEventKind::SignInFailed, session.ip(), Some(why)).await;
    if locked {
        record(state, &session.operator, OperatorEventKind::Locked, session.ip(), Some("too many failed sign-ins"))
            .await;
    }
    let mut response = render(&CodePage { csrf: &session.csrf, error: Some(CODE_FAILED) })?;
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    Ok(response)
}

/// `POST /console/sign-out`: ends this browser's session.
pub async fn sign_out(
    State(state): State<AppState>,
    PartialSession(session): PartialSession,
    Form(form): Form<CsrfOnly>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    record(&state, &session.operator, OperatorEventKind::SignedOut, session.ip(), None).await;
    Ok(with_cookie(Redirect::to("/console/sign-in").into_response(), Some(session::clear(&state))))
}

/// `POST /console/sign-out-everywhere`: bumps the operator's token version, which ends every
/// console session and revokes every API token of theirs.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CsrfOnly>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let version = session.operator.token_version + 1;
    let mut active = session.operator.clone().into_active_model();
    active.token_version = Set(version);
    active.updated_at = Set(time::OffsetDateTime::now_utc());
    active.update(&state.db).await?;
    record(&state, &session.operator, OperatorEventKind::SignedOutEverywhere, session.ip(), None).await;
    tracing::info!(operator_id = %session.operator.id, "operator signed out everywhere");
    Ok(with_cookie(Redirect::to("/console/sign-in").into_response(), Some(session::clear(&state))))
}
