//! Public intake: submitting a request, proving control of the e-mail address, asking for a
//! new code, and the person's own cancellation. Used by the JSON API (`/v1/requests...`) and
//! the portal alike.
//!
//! Nothing here needs a sign-in: the status token is the credential. Submissions are limited
//! per e-mail address; guessing a code is limited per request: [`MAX_CODES_PER_REQUEST`] codes
//! of five attempts each, after which the request takes no more guesses. Only the request's own
//! budget is spent by a wrong code: a request's id and token reach only whoever submitted it
//! and the mailbox its codes go to, so nobody can spend the budget of a request that is not
//! theirs, and nothing is shared between the requests for one address. The guesses against
//! one address are bounded by the submission limit: at most the budget of one request per
//! submission it lets through (docs/src/security.md has the arithmetic). The answers are the
//! same whether or not the organization holds any data about the person: nothing here looks at
//! the company's stores.

use axum::http::StatusCode;
use lethe_entities::domain::crypto::random_token;
use lethe_entities::domain::deadline::DeadlineRules;
use lethe_entities::domain::enums::{EventKind, IdentityKind, Regime, RequestKind, RequestState};
use lethe_entities::domain::identity::Identity;
use lethe_entities::domain::lifecycle::Action;
use lethe_entities::entity::request::Actor;
use lethe_entities::entity::{organization, request, request_event, subject_identity, verification_challenge};
use lethe_worker::i18n::Locale;
use lethe_worker::jobs::send_verification_code::code_scope;
use lethe_worker::portal_link;
use lethe_worker::queue::{FollowUp, Notice};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, UpdateMany};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, FieldError, request_not_found};
use crate::state::AppState;

/// Codes sent for one request at most (5 attempts each): bounds guessing on one request to 25
/// tries in all.
pub const MAX_CODES_PER_REQUEST: u64 = 5;

/// Longest accepted free-text message.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// A new data-subject request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "organization": "acme",
    "kind": "erasure",
    "regime": "gdpr",
    "email": "ann.lee@example.com",
    "customer_id": "C-1042",
    "message": "Please delete my account."
}))]
pub struct SubmitRequest {
    /// The organization's slug.
    pub organization: String,
    /// What is asked for.
    pub kind: RequestKind,
    /// The law that applies (the portal chooses it from the person's country or state).
    pub regime: Regime,
    /// The requester's e-mail address; the verification code is sent there.
    pub email: String,
    /// Optional phone number, international form.
    pub phone: Option<String>,
    /// Optional customer number at the organization.
    pub customer_id: Option<String>,
    /// Optional message to the privacy team (at most 2000 characters).
    pub message: Option<String>,
    /// The language of the e-mails to the requester: `en` (default), `de` or `sv`.
    #[schema(example = "de")]
    pub locale: Option<String>,
}
crate::opaque_debug!(SubmitRequest);

/// A request just submitted: its id, the status token (shown once) and its dates.
#[derive(Clone)]
pub struct Submission {
    /// The request's id.
    pub id: Uuid,
    /// The status token: the requester's credential for this request.
    pub status_token: String,
    /// When it was received.
    pub received_at: OffsetDateTime,
    /// When the answer is due.
    pub due_at: OffsetDateTime,
}
crate::opaque_debug!(Submission);

/// A submission's checked fields.
pub(crate) struct ValidSubmission {
    pub(crate) identities: Vec<Identity>,
    pub(crate) message: Option<String>,
    pub(crate) locale: Locale,
}

/// The person's identities, message and language as a submission gives them.
pub(crate) struct SubmissionFields<'a> {
    pub(crate) email: &'a str,
    pub(crate) phone: Option<&'a String>,
    pub(crate) customer_id: Option<&'a String>,
    pub(crate) message: Option<&'a str>,
    pub(crate) locale: Option<&'a str>,
}

impl<'a> From<&'a SubmitRequest> for SubmissionFields<'a> {
    fn from(body: &'a SubmitRequest) -> Self {
        Self {
            email: &body.email,
            phone: body.phone.as_ref(),
            customer_id: body.customer_id.as_ref(),
            message: body.message.as_deref(),
            locale: body.locale.as_deref(),
        }
    }
}

/// Checks a submission's fields; `errors` gets the others a caller found.
pub(crate) fn validate(body: SubmissionFields<'_>, mut errors: Vec<FieldError>) -> Result<ValidSubmission, ApiError> {
    let mut identities = Vec::new();
    let mut parse = |field: &str, kind: IdentityKind, raw: Option<&str>| {
        if let Some(raw) = raw {
            match Identity::parse(kind, raw) {
                Ok(id) => identities.push(id),
                Err(e) => errors.push(FieldError { field: field.into(), message: e.to_string() }),
            }
        }
    };
    parse("email", IdentityKind::Email, Some(body.email));
    parse("phone", IdentityKind::Phone, body.phone.map(String::as_str));
    parse("customer_id", IdentityKind::CustomerId, body.customer_id.map(String::as_str));
    let message = body.message.map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned);
    if message.as_ref().is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS) {
        errors.push(FieldError { field: "message".into(), message: format!("at most {MAX_MESSAGE_CHARS} characters") });
    }
    let locale = match body.locale {
        None => Locale::En,
        Some(code) => Locale::parse(code).unwrap_or_else(|| {
            errors.push(FieldError { field: "locale".into(), message: "one of en, de, sv".into() });
            Locale::En
        }),
    };
    if errors.is_empty() {
        Ok(ValidSubmission { identities, message, locale })
    } else {
        Err(ApiError::validation(errors))
    }
}

/// A request as it is inserted: in `identity_unverified`, with its identities and the
/// `submitted` event by `actor`, in the caller's transaction. Returns the submission (the
/// status token is in it, shown once).
pub(crate) async fn insert_submitted(
    txn: &sea_orm::DatabaseTransaction,
    state: &AppState,
    org: &organization::Model,
    (kind, regime): (RequestKind, Regime),
    valid: ValidSubmission,
    actor: Actor,
) -> ApiResult<Submission> {
    let email = valid.identities.iter().find(|i| i.kind() == IdentityKind::Email).expect("email is required");
    let email_index = state.keyring.blind_index(org.id, IdentityKind::Email, email.normalised());
    let id = Uuid::now_v7();
    let token = random_token(32);
    let now = OffsetDateTime::now_utc();
    let deadlines = DeadlineRules::for_regime(regime, org.deadline_defaults()).deadlines(now);
    request::ActiveModel::submitted(request::Submitted {
        id,
        organization_id: org.id,
        kind,
        regime,
        email_index,
        status_token_digest: state.keyring.token_digest(&status_scope(id), &token),
        received_at: now,
        due_at: deadlines.due_at,
        acknowledgement_due_at: deadlines.acknowledgement_due_at,
        message_ciphertext: valid
            .message
            .map(|m| state.keyring.encrypt(m.as_bytes(), &request::Model::message_context(org.id, id))),
        locale: valid.locale.code().to_owned(),
    })
    .insert(txn)
    .await?;
    for identity in &valid.identities {
        subject_identity::ActiveModel::seal(&state.keyring, org.id, id, identity, now).insert(txn).await?;
    }
    request_event::ActiveModel::record(
        org.id,
        id,
        actor,
        EventKind::Submitted,
        None,
        None,
        Some(serde_json::json!({ "identity_kinds": valid.identities.iter().map(Identity::kind).collect::<Vec<_>>() })),
    )
    .insert_announced(txn)
    .await?;
    Ok(Submission { id, status_token: token, received_at: now, due_at: deadlines.due_at })
}

/// Creates the request in `identity_unverified` and schedules the e-mail with its 6-digit code.
pub async fn submit(state: &AppState, body: &SubmitRequest) -> ApiResult<Submission> {
    let valid = validate(body.into(), Vec::new())?;
    let org = organization::Model::find_by_slug(&state.db, body.organization.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("organization_not_found", "no organization with this slug"))?;
    let email = valid.identities.iter().find(|i| i.kind() == IdentityKind::Email).expect("email is required");
    let email_index = state.keyring.blind_index(org.id, IdentityKind::Email, email.normalised());
    state.limits.check_email(&format!("{}:{email_index}", org.id))?;

    let txn = lethe_entities::entity::begin_write(&state.db).await?;
    let submission = insert_submitted(&txn, state, &org, (body.kind, body.regime), valid, Actor::SUBJECT).await?;
    txn.commit().await?;

    // Committed: from here on the request cannot be lost. If enqueueing fails, the reconciler
    // enqueues the same job (same idempotency key) within a minute.
    let id = submission.id;
    if let Err(e) = state.queue.schedule(&FollowUp::FirstCode { organization_id: org.id, request_id: id }).await {
        tracing::warn!(request_id = %id, error = %e, "verification job not enqueued; the reconciler will retry");
    }
    tracing::info!(request_id = %id, kind = ?body.kind, regime = ?body.regime, "request submitted");
    Ok(submission)
}

/// The digest scope of a request's status token.
pub fn status_scope(request: Uuid) -> String {
    format!("status-token:{request}")
}

/// Loads a request by id and token, across organizations (the token is the credential): the
/// status token returned at submission, or the status link token of the portal's e-mails
/// ([`lethe_worker::portal_link`]). A wrong token and an unknown id give the same answer.
pub async fn find_with_token(state: &AppState, id: Uuid, token: &str) -> ApiResult<request::Model> {
    let found = request::Entity::find_by_id(id).one(&state.db).await?;
    found
        .filter(|r| {
            state.keyring.token_matches(&status_scope(r.id), token, &r.status_token_digest)
                | portal_link::matches(&state.keyring, r.id, token)
        })
        .ok_or_else(request_not_found)
}

/// Checks the 6-digit `code` of request `id` (with its status `token`): five wrong attempts use
/// a code up, codes expire; a wrong code spends this request's attempts and nothing else. On
/// success the request moves to `pending_approval`, or straight to `approved` when the
/// organization approves verified requests automatically.
pub async fn verify(state: &AppState, id: Uuid, token: &str, code: &str) -> ApiResult<request::Model> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_field("code", "the code is 6 digits"));
    }
    let req = find_with_token(state, id, token).await?;
    if req.state != RequestState::IdentityUnverified {
        return Err(ApiError::conflict("already_verified", "this request is already past identity verification"));
    }
    let now = OffsetDateTime::now_utc();
    let challenge = active_challenge(state, &req, now).await?;
    let matches = state.keyring.token_matches(&code_scope(req.id), code, &challenge.code_digest);
    // Count the attempt (wrong) or consume the code (right) with a guarded update, so parallel
    // guesses cannot exceed the attempt limit and a code cannot be used twice.
    let guard = verification_challenge::Entity::update_many()
        .filter(verification_challenge::Column::Id.eq(challenge.id))
        .filter(verification_challenge::Column::ConsumedAt.is_null())
        .filter(verification_challenge::Column::Attempts.lt(challenge.max_attempts));
    if !matches {
        return Err(wrong_code(state, &req, &challenge, guard).await?);
    }
    let org =
        organization::Entity::find_by_id(req.organization_id).one(&state.db).await?.ok_or_else(request_not_found)?;
    let reason = org.auto_approve.then(|| "approved automatically by the organization's setting".to_owned());
    // Using up the code and verifying the request commit together: a crash between them can
    // neither spend a code without verifying nor verify twice with one code.
    let txn = lethe_entities::entity::begin_write(&state.db).await?;
    let consumed =
        guard.col_expr(verification_challenge::Column::ConsumedAt, Expr::value(Some(now))).exec(&txn).await?;
    if consumed.rows_affected != 1 {
        return Err(ApiError::conflict("code_exhausted", "this code can no longer be used: ask for a new code"));
    }
    let updated = request::Model::apply_in(
        &txn,
        &state.keyring,
        req.organization_id,
        req.id,
        Action::Verify { auto_approve: org.auto_approve },
        Actor::SUBJECT,
        reason,
    )
    .await?;
    txn.commit().await?;
    state.queue.schedule_logged(&FollowUp::notice(&updated, Notice::Received)).await;
    if updated.state == RequestState::Approved {
        super::requests::schedule_fulfilment(state, &updated).await;
    }
    tracing::info!(request_id = %req.id, state = updated.state.as_str(), "requester verified");
    Ok(updated)
}

/// The request's latest code, if it is still usable (not consumed, attempts left, not expired).
async fn active_challenge(
    state: &AppState,
    req: &request::Model,
    now: OffsetDateTime,
) -> ApiResult<verification_challenge::Model> {
    let challenge = verification_challenge::Model::latest(&state.db, req.organization_id, req.id)
        .await?
        .filter(|c| c.consumed_at.is_none())
        .ok_or_else(|| {
            ApiError::conflict("no_code_sent", "no code is active yet: wait for the e-mail or ask for a new code")
        })?;
    if challenge.attempts >= challenge.max_attempts {
        return Err(ApiError::conflict("code_exhausted", "too many wrong attempts: ask for a new code"));
    }
    if challenge.expires_at <= now {
        return Err(ApiError::new(StatusCode::GONE, "code_expired", "the code has expired: ask for a new code"));
    }
    Ok(challenge)
}

/// A wrong code: the attempt is counted (guarded, so parallel guesses cannot exceed the limit)
/// and recorded on the timeline. Returns the error to answer with, which says how many attempts
/// are left.
async fn wrong_code(
    state: &AppState,
    req: &request::Model,
    challenge: &verification_challenge::Model,
    guard: UpdateMany<verification_challenge::Entity>,
) -> ApiResult<ApiError> {
    let counted = guard
        .col_expr(
            verification_challenge::Column::Attempts,
            sea_orm::sea_query::ExprTrait::add(Expr::col(verification_challenge::Column::Attempts), 1),
        )
        .exec(&state.db)
        .await?;
    if counted.rows_affected != 1 {
        return Ok(ApiError::conflict("code_exhausted", "too many wrong attempts: ask for a new code"));
    }
    let left = challenge.attempts_left() - 1;
    request_event::ActiveModel::record(
        req.organization_id,
        req.id,
        Actor::SUBJECT,
        EventKind::VerificationFailed,
        None,
        None,
        Some(serde_json::json!({ "attempts_left": left })),
    )
    .insert_announced(&state.db)
    .await?;
    Ok(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_code", "the code is not right")
        .with_attempts_left(left))
}

/// Schedules a new code for request `id` (with its status `token`): once per cool-down period,
/// at most [`MAX_CODES_PER_REQUEST`] per request.
pub async fn resend(state: &AppState, id: Uuid, token: &str) -> ApiResult<()> {
    let req = find_with_token(state, id, token).await?;
    if req.state != RequestState::IdentityUnverified {
        return Err(ApiError::conflict("already_verified", "this request is already past identity verification"));
    }
    let last_sent = verification_challenge::Model::latest(&state.db, req.organization_id, req.id)
        .await?
        .map_or(req.received_at, |c| c.created_at);
    let next_allowed = last_sent + state.settings.resend_cooldown;
    let now = OffsetDateTime::now_utc();
    if next_allowed > now {
        let wait = (next_allowed - now).whole_seconds().max(1) as u64;
        return Err(ApiError::too_many(
            "resend_too_soon",
            "a code was sent moments ago; wait before asking again",
            wait,
        ));
    }
    let sent = verification_challenge::Entity::find()
        .filter(verification_challenge::Column::RequestId.eq(req.id))
        .count(&state.db)
        .await?;
    if sent >= MAX_CODES_PER_REQUEST {
        return Err(ApiError::too_many(
            "too_many_codes",
            "no more codes are sent for this request; submit a new request later",
            3600,
        ));
    }
    let resend = Uuid::new_v4();
    state
        .queue
        .schedule(&FollowUp::ResentCode { organization_id: req.organization_id, request_id: req.id, resend })
        .await?;
    Ok(())
}

/// The person cancels request `id` with its status `token`, before it is approved.
pub async fn cancel_by_subject(state: &AppState, id: Uuid, token: &str) -> ApiResult<request::Model> {
    let req = find_with_token(state, id, token).await?;
    let updated = request::Model::apply(
        &state.db,
        &state.keyring,
        req.organization_id,
        req.id,
        Action::Cancel { by_subject: true },
        Actor::SUBJECT,
        None,
    )
    .await?;
    tracing::info!(request_id = %id, "request canceled by the subject");
    Ok(updated)
}
