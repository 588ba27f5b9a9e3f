//! HTML error pages: a status, a stable code and a sentence, never internals.
//!
//! Handlers of HTML routes return [`WebResult`]. An [`ApiError`] from the shared domain code
//! keeps its status and code (the mapping lives once, in `crate::error`) and is shown as a page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::ApiError;

/// Handler result of an HTML route.
pub type WebResult<T> = Result<T, WebError>;

/// Where an error page links back to, unless set otherwise.
pub const DEFAULT_HOME: &str = "/console/";

/// An error shown as an HTML page.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    code: &'static str,
    message: String,
    reference: Option<String>,
    retry_after: Option<u64>,
    home: &'static str,
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    status: u16,
    code: &'a str,
    message: &'a str,
    reference: Option<&'a str>,
    home: &'a str,
}

impl WebError {
    /// An error page with `status`, `code` and `message` (no personal data, no internals).
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), reference: None, retry_after: None, home: DEFAULT_HOME }
    }

    /// 403 `csrf_failed`: the form's token is missing or belongs to another session.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "This form has expired or was not sent from this site. Go back, reload the page and try again.",
        )
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is no page at this address.")
    }

    /// 422 `invalid_form` with a message naming the field.
    pub fn invalid_form(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_form", message)
    }

    /// 500 `internal_error`, logged with a reference the page repeats.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        ApiError::internal(cause).into()
    }

    /// Sets the page linked as the way back.
    pub fn with_home(mut self, home: &'static str) -> Self {
        self.home = home;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The sentence shown.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The reference of an internal error in the server log.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        let message = match e.field_errors() {
            [] => e.detail().to_owned(),
            fields => fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
        };
        let mut web = Self::new(e.status(), e.code(), message);
        web.reference = e.reference().map(str::to_owned);
        web.retry_after = e.retry_after();
        web
    }
}

impl From<lethe_entities::domain::crypto::CryptoError> for WebError {
    fn from(e: lethe_entities::domain::crypto::CryptoError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<sea_orm::DbErr> for WebError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage {
            title,
            status: self.status.as_u16(),
            code: self.code,
            message: &self.message,
            reference: self.reference.as_deref(),
            home: self.home,
        };
        let body = page.render().unwrap_or_else(|_| format!("{} {}", self.status.as_u16(), self.code));
        let mut response = (self.status, Html(body)).into_response();
        super::headers::apply(response.headers_mut());
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page(e: WebError) -> (StatusCode, String) {
        let response = e.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn pages_show_the_code_and_escape_the_message() {
        let (status, html) = page(WebError::invalid_form("<script>x</script>")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("invalid_form"));
        assert!(html.contains("&#60;script&#62;"), "{html}");
        assert!(!html.contains("<script>x"));
        assert!(html.contains("<html lang=\"en\">"));
    }

    #[tokio::test]
    async fn internal_errors_show_only_a_reference() {
        let (status, html) = page(WebError::internal(&"password=hunter2 at db")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!html.contains("hunter2"));
        assert!(html.contains("internal_error"));
    }
}
