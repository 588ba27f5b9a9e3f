//! The API's rate limit: a caller with a valid operator token or API key is counted against its
//! own budget (`LETHE_AUTHENTICATED_RATE_PER_MINUTE`), wherever it calls from; every other call
//! against its client address's (`LETHE_PUBLIC_RATE_PER_MINUTE`). An operator reading requests
//! from the office network thus takes nothing from the public budget of that address, and a
//! made-up credential buys no budget of its own.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::principal::{authenticate, bearer};
use crate::rate_limit::peer;
use crate::state::AppState;

/// Middleware: authenticates the bearer credential, if any, and counts the call against the
/// caller's or the address's budget. The authenticated [`crate::auth::Principal`] is left in
/// the request's extensions, where the handler's extractor takes it instead of authenticating
/// again.
pub async fn per_caller(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let caller = match bearer(request.headers()) {
        Some(_) => authenticate(&state, request.headers()).await.ok(),
        None => None,
    };
    let verdict = match caller {
        Some(principal) => {
            let verdict = state.limits.check_caller(principal.caller_id());
            request.extensions_mut().insert(principal);
            verdict
        }
        None => state.limits.check_ip(peer(&request)),
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}
