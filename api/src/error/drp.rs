//! The Data Rights Protocol's error answers (DRP 1.0 section 3.06): the protocol's endpoints
//! answer in the protocol's shape, not problem+json, because agents are written against it:
//! `code` (the HTTP status as a string), `message`, `fatal` (`true` when the request will not
//! be processed), and Lethe's stable `error` name. A failed pair-wise key setup is a `403` with
//! no body, as section 2.05.1 says. Lethe's own errors keep their status and code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;

/// A DRP error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrpProblem {
    /// The HTTP status, as a string.
    #[schema(example = "400")]
    pub code: String,
    /// What went wrong, in words.
    pub message: String,
    /// `true`: the request will not be processed (do not retry it as it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal: Option<bool>,
    /// Lethe's stable name of the error.
    #[schema(example = "invalid_signature")]
    pub error: String,
}

/// An error of a DRP endpoint.
#[derive(Debug)]
pub struct DrpError {
    status: StatusCode,
    error: &'static str,
    message: String,
    fatal: bool,
    empty: bool,
}

impl DrpError {
    /// An answer with `status`, the stable `error` name and `message`.
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self { status, error, message: message.into(), fatal: false, empty: false }
    }

    /// Marks the error fatal: the request will not be processed.
    pub fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }

    /// `401 invalid_token`: no bearer token, or not one a key setup issued to an enabled agent.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "send the token of POST /v1/agent/{agent-id} as a Bearer token",
        )
    }

    /// `403` with no body: a failed pair-wise key setup.
    pub fn setup_refused() -> Self {
        Self { empty: true, ..Self::new(StatusCode::FORBIDDEN, "setup_refused", "") }
    }

    /// The stable name.
    pub fn error(&self) -> &'static str {
        self.error
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ApiError> for DrpError {
    fn from(e: ApiError) -> Self {
        Self::new(e.status(), e.code(), e.detail())
    }
}

impl From<sea_orm::DbErr> for DrpError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for DrpError {
    fn into_response(self) -> Response {
        if self.empty {
            return self.status.into_response();
        }
        let body = DrpProblem {
            code: self.status.as_u16().to_string(),
            message: self.message,
            fatal: self.fatal.then_some(true),
            error: self.error.to_owned(),
        };
        (self.status, Json(body)).into_response()
    }
}
