//! Form bodies (`application/x-www-form-urlencoded`) whose rejections are error pages that
//! never echo the value sent.

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use super::WebError;
use crate::extract::scrub_values;

/// A form body; unknown fields are refused where the target type says so.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<S, T> FromRequest<S> for Form<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(FormRejection::FailedToDeserializeFormBody(e)) => {
                Err(WebError::invalid_form(format!("The form is not complete: {}", scrub_values(&e.body_text()))))
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(WebError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The form is too large."))
            }
            Err(_) => Err(WebError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send this form from its page.",
            )),
        }
    }
}
