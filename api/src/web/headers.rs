//! Security headers on every HTML response.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy of every page: nothing inline, nothing from elsewhere, no
/// framing, forms post only to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers [`secure`] sets, for tests and documentation.
pub fn defaults() -> [(HeaderName, &'static str); 5] {
    [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Pages hold personal data: never kept by the browser or a proxy. Assets set their own.
        (header::CACHE_CONTROL, "no-store"),
    ]
}

/// Middleware: adds the security headers to a response that does not set them itself (a page
/// with its own, stricter policy, such as the printable certificate, keeps its own).
pub async fn secure(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    apply(response.headers_mut());
    response
}

/// Adds the default security headers that `headers` lacks.
pub fn apply(headers: &mut HeaderMap) {
    for (name, value) in defaults() {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_headers_are_added_and_present_ones_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
        apply(&mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    }
}
