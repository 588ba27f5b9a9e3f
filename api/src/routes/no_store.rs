//! `Cache-Control: no-store` on every answer of the API: they carry access tokens, identities,
//! requests and ledger entries, which no browser or proxy cache should keep. An answer that
//! sets its own `Cache-Control` keeps it. Cacheable stays what holds nothing of anyone: the
//! stylesheet and script (`/assets/`), the portal's brand stylesheet and logo, `/openapi.json`
//! and `/docs`. The console's and the portal's pages are `no-store` too
//! ([`crate::web::headers`]).

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Middleware: marks the response `no-store` unless it says otherwise.
pub async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}
