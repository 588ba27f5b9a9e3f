//! Waiting for a request to reach a state: one bounded long poll in place of a client's polling
//! loop (which the per-address rate limit would throttle).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use lethe_entities::domain::enums::RequestState;
use lethe_entities::entity::request;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::read::{find_for, view_of};
use super::views::RequestView;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, request_not_found};
use crate::extract::{PathParams, QueryParams};
use crate::openapi::responses::{Authenticated, InvalidQuery, RateLimited, RequestNotFound, ValidationFailed};
use crate::state::AppState;

/// The longest wait one call may ask for, in seconds.
pub const MAX_TIMEOUT_SECS: u64 = 60;
/// The wait when the call names none, in seconds.
const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// The first re-read comes this soon; each next one waits twice as long, up to [`SLOWEST`].
const FASTEST: Duration = Duration::from_millis(10);
/// The longest pause between two reads of the request's state.
const SLOWEST: Duration = Duration::from_millis(200);

/// Query of `GET /v1/requests/{id}/wait`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// The states to wait for, comma-separated (`completed,failed`). Without it: any state
    /// other than the one the request is in when the call arrives.
    pub state: Option<String>,
    /// Seconds to wait at most, 1 to 60 (default 30).
    pub timeout: Option<u64>,
    /// The status token (data subjects). Operators omit it and authenticate instead.
    pub token: Option<String>,
}
crate::opaque_debug!(WaitQuery);

/// The answer of a wait.
#[derive(Serialize, ToSchema)]
pub struct WaitOutcome {
    /// Whether the request is in one of the states waited for; `false` when the timeout came
    /// first.
    pub reached: bool,
    /// The request as it is now, as `GET /v1/requests/{id}` shows it to this caller.
    pub request: RequestView,
}

/// Wait for a request to reach a state.
///
/// Answers as soon as the request is in one of `state` (at once if it already is), or when
/// `timeout` seconds have passed (or the server's own limit, `LETHE_WAIT_MAX_SECS`, when that is
/// shorter), with the request as `GET /v1/requests/{id}` shows it. A client
/// that follows a request calls this in a loop instead of polling; one call counts once against
/// the rate limit, however long it waits; a server shutting down answers at once. The same
/// callers as `GET /v1/requests/{id}`.
#[utoipa::path(
    get,
    path = "/v1/requests/{id}/wait",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id"), WaitQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The state was reached, or the timeout passed", body = WaitOutcome),
        InvalidQuery,
        Authenticated,
        RequestNotFound,
        ValidationFailed,
        RateLimited,
    )
)]
pub async fn wait(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    QueryParams(query): QueryParams<WaitQuery>,
    caller: Result<Principal, ApiError>,
) -> ApiResult<Json<WaitOutcome>> {
    let timeout = query.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(1..=MAX_TIMEOUT_SECS).contains(&timeout) {
        return Err(ApiError::invalid_field("timeout", format!("between 1 and {MAX_TIMEOUT_SECS} seconds")));
    }
    let wanted = query.state.as_deref().map(parse_states).transpose()?;
    let (mut req, reader) = find_for(&state, id, query.token.as_deref(), caller).await?;
    let arrived_in = req.state;
    let reached = |s: RequestState| wanted.as_ref().map_or(s != arrived_in, |w| w.contains(&s));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout).min(state.settings.wait_max);
    let mut pause = FASTEST;
    while !reached(req.state) {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep_until((now + pause).min(deadline)) => {}
            // Shutting down: answer with the request as it is rather than hold the server up.
            () = state.stopping.stopped() => break,
        }
        pause = (pause * 2).min(SLOWEST);
        req = request::Model::find_in_org(&state.db, req.organization_id, id).await?.ok_or_else(request_not_found)?;
    }
    Ok(Json(WaitOutcome { reached: reached(req.state), request: view_of(&state, &req, &reader).await? }))
}

/// The states of `list` (comma-separated names).
fn parse_states(list: &str) -> ApiResult<Vec<RequestState>> {
    let states: Option<Vec<RequestState>> = list
        .split(',')
        .map(|name| serde_json::from_value(serde_json::Value::String(name.trim().to_owned())).ok())
        .collect();
    match states {
        Some(states) if !states.is_empty() => Ok(states),
        _ => Err(ApiError::invalid_field(
            "state",
            "comma-separated request states (identity_unverified, pending_approval, approved, in_progress, \
             completed, denied, canceled, failed, on_hold)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_read_from_a_comma_separated_list() {
        let states = parse_states("completed, failed").unwrap();
        assert_eq!(states, [RequestState::Completed, RequestState::Failed]);
        assert!(parse_states("completed,finished").is_err());
        assert!(parse_states("").is_err());
    }
}
