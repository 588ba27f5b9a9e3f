//! Extractors whose rejections are problem documents.
//!
//! axum's own `Json`, `Path` and `Query` answer bad input with plain text. These wrappers turn
//! every rejection into an [`ApiError`] with a stable code, and scrub quoted values from serde's
//! messages so that a rejected e-mail address is never echoed back.

use axum::body::Bytes;
use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;

use crate::error::ApiError;
use crate::server::body_timeout::is_body_timeout;

/// A JSON body: `Content-Type: application/json`, size-limited, unknown fields refused, and a
/// JSON object at the top level (every body of the API is one). serde would otherwise read an
/// array into a struct field by field: `[null, null]` would be a valid `PATCH`.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(axum::extract::Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(JsonRejection::from)?;
        let object = is_object(&bytes);
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        match (axum::Json::<T>::from_request(req, state).await, object) {
            (Ok(axum::Json(value)), true) => Ok(Self(value)),
            (Ok(_) | Err(JsonRejection::JsonDataError(_)), false) => Err(not_an_object()),
            (Err(rejection), _) => Err(rejection.into()),
        }
    }
}

/// Whether the JSON text starts with `{` (after the whitespace JSON allows).
fn is_object(json: &[u8]) -> bool {
    json.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) == Some(&b'{')
}

/// 422 `invalid_body`: valid JSON, but an array, a string, a number, `true`, `false` or `null`.
fn not_an_object() -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "the body must be a JSON object")
}

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParams<T>(pub T);

/// Query-string parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct QueryParams<T>(pub T);

/// A JSON body that may be left out entirely (no body and no `Content-Type`): then it is
/// `T::default()`. A body that is present must be valid JSON like [`Body`].
#[derive(Debug)]
pub struct OptionalBody<T>(pub T);

impl<S, T> FromRequest<S> for OptionalBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.headers().contains_key(axum::http::header::CONTENT_TYPE) {
            let Body(value) = Body::<T>::from_request(req, state).await?;
            return Ok(Self(value));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if is_body_timeout(&e) {
                return ApiError::request_timeout();
            }
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than this server accepts",
            )
        })?;
        if bytes.is_empty() {
            Ok(Self(T::default()))
        } else {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ))
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", scrub_values(&e.body_text()))
            }
            JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("malformed_json", "the body is not valid JSON"),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(e) if is_body_timeout(&e) => ApiError::request_timeout(),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than this server accepts",
            ),
            other => ApiError::bad_request("unreadable_body", scrub_values(&other.body_text())),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", scrub_values(&rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", scrub_values(&rejection.body_text()))
    }
}

/// Replaces quoted segments with `…`: serde and axum quote offending input values in double
/// quotes or backticks. The one backticked segment kept is the name after "unknown field ",
/// which is a key the client sent, not a value.
pub fn scrub_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    let mut keep = false;
    for c in message.chars() {
        match quote {
            None if c == '"' || c == '`' => {
                keep = c == '`' && out.ends_with("unknown field ");
                quote = Some(c);
                out.push(c);
                if !keep {
                    out.push('…');
                }
            }
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) if !keep => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{is_object, scrub_values};

    #[test]
    fn only_an_object_is_an_object() {
        assert!(is_object(b"{}") && is_object(b" \r\n\t{\"a\": 1}"));
        for other in [&b"[null, null]"[..], b"\"text\"", b"42", b"true", b"null", b"", b" "] {
            assert!(!is_object(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn quoted_values_are_scrubbed() {
        assert_eq!(
            scrub_values(r#"email: invalid type: string "ann@example.com", expected u32"#),
            r#"email: invalid type: string "…", expected u32"#
        );
        assert_eq!(scrub_values("unknown field `foo`, expected `bar`"), "unknown field `foo`, expected `…`");
        assert_eq!(scrub_values("kind: unknown variant `ann@example.com`"), "kind: unknown variant `…`");
    }
}
