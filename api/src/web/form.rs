//! Form bodies (`application/x-www-form-urlencoded`) whose rejections are error pages that
//! never echo the value sent.

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use super::{WebError, csrf};
use crate::error::ApiError;
use crate::extract::scrub_values;
use crate::server::body_timeout::is_body_timeout;

/// A form body; unknown fields are refused where the target type says so. Every form of the
/// console and the portal carries a CSRF token, which the handler checks against the session
/// or visitor: a form that cannot be read and has no token (or an empty one) is therefore
/// `403 csrf_failed`, as it is when it can be read, not `422 invalid_form`.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<S, T> FromRequest<S> for Form<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes =
            Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(|e| match e {
                e if is_body_timeout(&e) => ApiError::request_timeout().into(),
                e if e.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => not_from_page(),
            })?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(FormRejection::FailedToDeserializeFormBody(_)) if !carries_csrf(&bytes) => Err(WebError::csrf()),
            Err(FormRejection::FailedToDeserializeFormBody(e)) => {
                Err(WebError::invalid_form(format!("The form is not complete: {}", scrub_values(&e.body_text()))))
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(_) => Err(not_from_page()),
        }
    }
}

/// Whether the form body has a non-empty [`csrf::FIELD`].
fn carries_csrf(body: &[u8]) -> bool {
    form_urlencoded::parse(body).any(|(name, value)| name == csrf::FIELD && !value.is_empty())
}

fn too_large() -> WebError {
    WebError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The form is too large.")
}

fn not_from_page() -> WebError {
    WebError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send this form from its page.")
}

#[cfg(test)]
mod tests {
    use super::carries_csrf;

    #[test]
    fn a_form_without_a_token_is_told_apart() {
        assert!(carries_csrf(b"csrf=abc&name=x"));
        assert!(carries_csrf(b"name=x&csrf=abc"));
        assert!(!carries_csrf(b"name=x"));
        assert!(!carries_csrf(b"csrf=&name=x"));
        assert!(!carries_csrf(b"csrfx=abc"));
        assert!(!carries_csrf(b""));
    }
}
