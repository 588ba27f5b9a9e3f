//! Console sessions: an HS512 JWT in an HttpOnly, SameSite=Strict cookie (`Secure` when the
//! public URL is https), signed with the keyring's session secret (never accepted as an API
//! token, nor an API token as a session).
//!
//! A session carries a random id (the CSRF tokens are bound to it), the operator's
//! `token_version` (bumped by "sign out everywhere", a password change, a role change or
//! disabling: every older session and token stops working) and a stage: after the password an
//! operator with a second factor is at `code`, one who must enrol is at `enrol`, and only a
//! `full` session opens the console's pages. It lives `LETHE_TOKEN_TTL_SECS` and each page
//! renews it once half of that has passed.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lethe_entities::domain::crypto::random_token;
use lethe_entities::entity::{operator, organization};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::principal::{Caller, client_ip};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::web::cookie::{self, CookiePolicy};
use crate::web::{WebError, WebResult, csrf};

/// The session cookie.
pub const COOKIE: &str = "lethe_console";
/// The cookie of a browser that has not signed in yet: its id binds the sign-in form's CSRF
/// token.
pub const PRE_COOKIE: &str = "lethe_console_pre";
/// The path both cookies are sent to.
pub const PATH: &str = "/console";
/// How long the sign-in form's cookie lives.
const PRE_COOKIE_SECS: u64 = 3600;
const ISSUER: &str = "lethe-console";

/// How far a sign-in has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The password was right; the second-factor code is next.
    Code,
    /// The password was right; the organization requires a second factor not yet enrolled.
    Enrol,
    /// Signed in.
    Full,
}

/// What the session cookie says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The operator.
    pub sub: Uuid,
    /// The operator's organization.
    pub org: Uuid,
    /// The operator's token version when the session began.
    pub ver: i32,
    /// The session's random id.
    pub sid: String,
    /// How far the sign-in has come.
    pub stage: Stage,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Always `lethe-console`.
    pub iss: String,
}

fn policy(state: &AppState) -> CookiePolicy {
    CookiePolicy { secure: state.settings.secure_cookies }
}

fn ttl_secs(state: &AppState) -> i64 {
    i64::try_from(state.settings.session_ttl.as_secs()).unwrap_or(900).max(60)
}

fn encode(state: &AppState, claims: &SessionClaims) -> ApiResult<HeaderValue> {
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        claims,
        &EncodingKey::from_secret(state.keyring.session_secret()),
    )
    .map_err(|e| ApiError::internal(&e))?;
    let max_age = u64::try_from(claims.exp - claims.iat).unwrap_or(0);
    Ok(policy(state).set(COOKIE, &token, PATH, max_age))
}

/// A `Set-Cookie` for a new session of `op` at `stage`, with a fresh id.
pub fn issue(state: &AppState, op: &operator::Model, stage: Stage) -> ApiResult<HeaderValue> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = SessionClaims {
        sub: op.id,
        org: op.organization_id,
        ver: op.token_version,
        sid: random_token(18),
        stage,
        iat: now,
        exp: now + ttl_secs(state),
        iss: ISSUER.into(),
    };
    encode(state, &claims)
}

/// A `Set-Cookie` that ends the session in this browser.
pub fn clear(state: &AppState) -> HeaderValue {
    policy(state).clear(COOKIE, PATH)
}

/// The session cookie's claims, when it is present, signed by us and not expired.
pub fn claims(state: &AppState, headers: &HeaderMap) -> Option<SessionClaims> {
    let token = cookie::read(headers, COOKIE)?;
    let mut validation = Validation::new(Algorithm::HS512);
    validation.set_issuer(&[ISSUER]);
    validation.leeway = 5;
    let key = DecodingKey::from_secret(state.keyring.session_secret());
    jsonwebtoken::decode::<SessionClaims>(token, &key, &validation).ok().map(|data| data.claims)
}

/// The sign-in form's session id: the browser's pre-session cookie, or a new one with the
/// `Set-Cookie` that stores it.
pub fn pre_session(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie::read(headers, PRE_COOKIE) {
        Some(sid) => (sid.to_owned(), None),
        None => {
            let sid = random_token(18);
            let set = policy(state).set(PRE_COOKIE, &sid, PATH, PRE_COOKIE_SECS);
            (sid, Some(set))
        }
    }
}

/// The pre-session id a sign-in form was posted with (none: the form did not come from us).
pub fn posted_pre_session(headers: &HeaderMap) -> Option<&str> {
    cookie::read(headers, PRE_COOKIE)
}

/// A signed-in operator: the loaded session behind a console page.
#[derive(Debug, Clone)]
pub struct Session {
    /// The operator, as stored now.
    pub operator: operator::Model,
    /// Their organization.
    pub organization: organization::Model,
    /// The operator as the API's principal (role from the database, client address).
    pub principal: Principal,
    /// The stage the cookie says.
    pub stage: Stage,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    sid: String,
}

impl Session {
    /// Whether the operator may do `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.principal.can(permission)
    }

    /// Checks a posted form's CSRF token.
    pub fn check_csrf(&self, state: &AppState, presented: &str) -> WebResult<()> {
        csrf::check(&state.keyring, &self.sid, Some(presented))
    }

    /// The client's address.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.principal.ip
    }
}

fn to_sign_in() -> Response {
    Redirect::to("/console/sign-in").into_response()
}

/// Loads the session of a request at any stage; `None` when there is none or it was revoked.
async fn load(state: &AppState, parts: &Parts) -> Result<Option<Session>, WebError> {
    let Some(claims) = claims(state, &parts.headers) else { return Ok(None) };
    let Some(op) = operator::Model::find_in_org(&state.db, claims.org, claims.sub).await? else { return Ok(None) };
    if op.disabled || op.token_version != claims.ver {
        return Ok(None);
    }
    let Some(org) = organization::Entity::find_by_id(op.organization_id).one(&state.db).await? else {
        return Ok(None);
    };
    let principal = Principal {
        organization_id: op.organization_id,
        caller: Caller::Operator { id: op.id, role: op.role },
        ip: client_ip(parts),
    };
    let csrf = csrf::token(&state.keyring, &claims.sid);
    Ok(Some(Session { operator: op, organization: org, principal, stage: claims.stage, csrf, sid: claims.sid }))
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    /// A complete session; otherwise a redirect to where the sign-in continues.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = load(state, parts).await.map_err(IntoResponse::into_response)?.ok_or_else(to_sign_in)?;
        match session.stage {
            Stage::Code => Err(Redirect::to("/console/sign-in/code").into_response()),
            Stage::Enrol => Err(Redirect::to("/console/mfa").into_response()),
            // An organization may require a second factor after the operator signed in.
            Stage::Full if session.organization.mfa_required && !session.operator.has_mfa() => {
                Err(Redirect::to("/console/mfa").into_response())
            }
            Stage::Full => Ok(session),
        }
    }
}

/// A session at any stage after the password (the code and enrolment pages).
#[derive(Debug, Clone)]
pub struct PartialSession(pub Session);

impl FromRequestParts<AppState> for PartialSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = load(state, parts).await.map_err(IntoResponse::into_response)?.ok_or_else(to_sign_in)?;
        Ok(Self(session))
    }
}

/// Middleware: renews a complete session cookie once half its lifetime has passed, unless the
/// response sets (or clears) the cookie itself.
pub async fn renew(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let due = claims(&state, request.headers()).filter(|c| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        c.stage == Stage::Full && c.exp - now < ttl_secs(&state) / 2
    });
    let mut response = next.run(request).await;
    let sets_own = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with(&format!("{COOKIE}="))));
    if let Some(mut claims) = due.filter(|_| !sets_own && response.status().is_success()) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        claims.iat = now;
        claims.exp = now + ttl_secs(&state);
        if let Ok(value) = encode(&state, &claims) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
