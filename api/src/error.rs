//! The error policy.
//!
//! * Each layer has its own typed errors (thiserror): `entities` (lifecycle, identity, crypto),
//!   `worker` (queue, mail, jobs). Handlers return [`ApiResult`], and the layer errors become
//!   [`ApiError`] through the `From` impls below: **this file is the one place where errors are
//!   mapped to HTTP**.
//! * Every failure answers with RFC 9457 `application/problem+json` carrying a stable,
//!   machine-readable `code` (snake_case; clients switch on it, never on `title` or `detail`).
//! * A client mistake is always a 4xx with a specific code. A 500 (`internal_error`) is only
//!   for our own faults; its body never carries internal details, and the cause is logged with
//!   a reference that the body repeats so support can find it.
//! * Error texts never contain personal data: no identity, address or token is ever echoed
//!   back or logged.
//! * The one exception to problem+json: the Data Rights Protocol's endpoints answer in the
//!   protocol's own error shape ([`drp`]), mapped there from these same errors.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lethe_entities::domain::deadline::ExtensionError;
use lethe_entities::entity::request::LifecycleError;
use lethe_entities::ledger::LedgerError;
use lethe_entities::ledger::certificate::CertificateError;
use serde::Serialize;
use utoipa::ToSchema;

pub mod drp;

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

/// One invalid field in a request body or query.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name (JSON path for nested fields).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:lethe:problem:invalid_transition",
    "title": "Conflict",
    "status": 409,
    "detail": "a request in state `completed` cannot be approved",
    "code": "invalid_transition"
}))]
pub struct Problem {
    /// A URI naming the problem type: `urn:lethe:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the HTTP status.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    pub detail: String,
    /// Stable machine-readable code.
    pub code: String,
    /// Invalid fields, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Wrong verification attempts left, where relevant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<i32>,
    /// Reference of an internal error in the server log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    attempts_left: Option<i32>,
    retry_after: Option<u64>,
    reference: Option<String>,
}

impl ApiError {
    /// A problem with an explicit status, code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            attempts_left: None,
            retry_after: None,
            reference: None,
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 422 `validation_failed` listing the invalid fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e =
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "some fields are invalid; see `errors`");
        e.errors = errors;
        e
    }

    /// 422 `validation_failed` for a single field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError { field: field.to_owned(), message: message.into() }])
    }

    /// 404 with `code`.
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 401 with `code`.
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// 403 `forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 429 with `code` and a Retry-After in seconds.
    pub fn too_many(code: &'static str, detail: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, code, detail);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 503 with `code` and a Retry-After in seconds: the server cannot take this now.
    pub fn unavailable(code: &'static str, detail: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 500 `internal_error`: logs `cause` under a fresh reference that the response repeats.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        tracing::error!(reference = %reference, error = %cause, "internal error");
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed to handle this request; it was logged with the reference below",
        );
        e.reference = Some(reference);
        e
    }

    /// Adds the number of verification attempts left.
    pub fn with_attempts_left(mut self, left: i32) -> Self {
        self.attempts_left = Some(left);
        self
    }

    /// The stable code (for tests and logs).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The explanation (never personal data or internals).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The reference of an internal error in the server log.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// The invalid fields of a validation error.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Wrong verification attempts left, where relevant.
    pub fn attempts_left(&self) -> Option<i32> {
        self.attempts_left
    }

    /// Seconds to wait before trying again, for 429s and 503s.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The problem document this error is answered with (without the response's headers).
    pub fn into_problem(self) -> Problem {
        Problem {
            kind: format!("urn:lethe:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_owned(),
            errors: self.errors,
            attempts_left: self.attempts_left,
            reference: self.reference,
        }
    }

    /// 408 `request_timeout`: the request body did not arrive within the body read timeout
    /// (the server closes the connection after this answer).
    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time; send it again, without pauses",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, retry_after) = (self.status, self.retry_after);
        let mut response = (status, Json(self.into_problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<sea_orm::DbErr> for ApiError {
    /// Lethe's database failing is Lethe's fault (500), except when every connection is busy
    /// past the pool's wait: then the server is overloaded and says so (`503 overloaded`).
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::{ConnAcquireErr, DbErr};
        match e {
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => {
                tracing::warn!("no database connection became free in time; answering 503");
                Self::unavailable("overloaded", "the server is busy; try again in a moment", 1)
            }
            e => Self::internal(&e),
        }
    }
}

impl From<lethe_entities::domain::crypto::CryptoError> for ApiError {
    /// A stored ciphertext that does not open (wrong key, tampered): Lethe's fault, a 500.
    fn from(e: lethe_entities::domain::crypto::CryptoError) -> Self {
        Self::internal(&e)
    }
}

impl From<lethe_worker::queue::QueueError> for ApiError {
    fn from(e: lethe_worker::queue::QueueError) -> Self {
        Self::internal(&e)
    }
}

impl From<lethe_entities::entity::store_task::TaskError> for ApiError {
    fn from(e: lethe_entities::entity::store_task::TaskError) -> Self {
        use lethe_entities::entity::store_task::TaskError;
        match e {
            TaskError::Refused(t) => Self::conflict("invalid_transition", t.to_string()),
            TaskError::Db(e) => e.into(),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::NotFound => request_not_found(),
            LifecycleError::Transition(t) => Self::conflict("invalid_transition", t.to_string()),
            LifecycleError::Extension(ExtensionError::NotAllowed) => {
                Self::conflict("extension_not_allowed", ExtensionError::NotAllowed.to_string())
            }
            LifecycleError::Extension(ExtensionError::AlreadyExtended) => {
                Self::conflict("already_extended", ExtensionError::AlreadyExtended.to_string())
            }
            LifecycleError::Extension(ExtensionError::TooLate) => {
                Self::conflict("extension_too_late", ExtensionError::TooLate.to_string())
            }
            LifecycleError::Concurrent => Self::conflict(
                "concurrent_modification",
                "the request was changed at the same moment; reload and retry",
            ),
            LifecycleError::Ledger(e) => e.into(),
            LifecycleError::Db(e) => e.into(),
        }
    }
}

impl From<CertificateError> for ApiError {
    fn from(e: CertificateError) -> Self {
        match e {
            CertificateError::NotCompleted => Self::conflict(
                "not_completed",
                "only an erasure request in state `completed` has a certificate of erasure",
            ),
            other => Self::internal(&other),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        Self::internal(&e)
    }
}

impl From<lethe_worker::stores::StoreError> for ApiError {
    fn from(e: lethe_worker::stores::StoreError) -> Self {
        use lethe_worker::stores::StoreError::*;
        match &e {
            // The store (not the client, not Lethe) failed: 502 with the store's code.
            Unreachable(_) | AuthFailed | UnknownDatabase | Query(_) | Protocol(_) | Rejected(_) | TooLarge(_) => {
                Self::new(StatusCode::BAD_GATEWAY, e.code(), e.to_string())
            }
            Config(_) | TargetRefused | Refused(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
            }
            Schema(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_data_map", e.to_string()),
            NoDataMap => Self::conflict(e.code(), e.to_string()),
        }
    }
}

impl From<lethe_worker::retention::preview::PreviewError> for ApiError {
    fn from(e: lethe_worker::retention::preview::PreviewError) -> Self {
        match e {
            lethe_worker::retention::preview::PreviewError::Store(e) => e.into(),
            // A store on the way to the table is down: the held rows are unknown for now.
            lethe_worker::retention::preview::PreviewError::Holds(
                e @ lethe_worker::retention::holds::HoldsError::Unresolved(_),
            ) => Self::new(StatusCode::BAD_GATEWAY, "legal_hold_unresolved", e.to_string()),
            other => Self::internal(&other),
        }
    }
}

impl From<lethe_worker::export::download::DownloadError> for ApiError {
    fn from(e: lethe_worker::export::download::DownloadError) -> Self {
        use lethe_worker::export::download::DownloadError::*;
        match e {
            // Unknown, altered and malformed tokens answer alike.
            NotFound => Self::not_found("export_not_found", "no export has this link"),
            Expired => Self::new(
                StatusCode::GONE,
                "export_expired",
                "this link has expired and the package was deleted; ask the organization for a new copy",
            ),
            // Permanent for this link: no Retry-After.
            LimitReached => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "download_limit",
                "this link has been used as many times as it may be; ask the organization for a new copy",
            ),
            Failed(e) => Self::internal(&e),
        }
    }
}

/// 422 `invalid_data_map` listing each problem with its field path (and YAML line).
pub fn invalid_data_map(errors: Vec<lethe_entities::datamap::MapError>) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_data_map",
        "the data map is not valid; see `errors` (field paths, with lines for YAML)",
    );
    e.errors = errors
        .into_iter()
        .map(|m| FieldError {
            field: m.path.clone(),
            message: match (m.line, m.column) {
                (Some(l), Some(c)) => format!("line {l}, column {c}: {}", m.message),
                (Some(l), None) => format!("line {l}: {}", m.message),
                _ => m.message,
            },
        })
        .collect();
    e
}

/// The one answer for an unknown store id or another organization's store.
pub fn store_not_found() -> ApiError {
    ApiError::not_found("store_not_found", "no store with this id")
}

/// The one answer for an unknown request id, a request of another organization, and a wrong
/// status token: they must be indistinguishable.
pub fn request_not_found() -> ApiError {
    ApiError::not_found("request_not_found", "no request with this id (and token)")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = e.into_response();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn problems_are_rfc9457_with_a_code() {
        let (status, headers, json) = body(ApiError::conflict("invalid_transition", "nope")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(json["type"], "urn:lethe:problem:invalid_transition");
        assert_eq!(json["code"], "invalid_transition");
        assert_eq!(json["status"], 409);
        assert!(json.get("errors").is_none());
    }

    #[tokio::test]
    async fn internal_errors_hide_the_cause() {
        let (status, _, json) = body(ApiError::internal(&"secret connection string")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!json.to_string().contains("secret"));
        assert_eq!(json["reference"].as_str().unwrap().len(), 12);
    }

    #[tokio::test]
    async fn rate_limits_say_when_to_come_back() {
        let (_, headers, _) = body(ApiError::too_many("rate_limited", "slow down", 7)).await;
        assert_eq!(headers[header::RETRY_AFTER], "7");
    }
}
