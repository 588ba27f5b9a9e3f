//! Reading requests: one request (subject or operator view) and the operator's list.

use axum::Json;
use axum::extract::State;
use lethe_entities::domain::enums::{RequestKind, RequestState};
use lethe_entities::entity::request::{self, ListFilter};
use lethe_entities::entity::{request_event, subject_identity};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;
use uuid::Uuid;

use super::views::{RequestDetail, RequestList, RequestSummary, RequestView, SubjectStatus};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, request_not_found};
use crate::extract::{PathParams, QueryParams};
use crate::openapi::responses::{Authenticated, InvalidQuery, RateLimited, RequestNotFound, ValidationFailed};
use crate::services::intake::find_with_token;
use crate::state::AppState;

/// Query of `GET /v1/requests/{id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// The status token (data subjects). Operators omit it and authenticate instead.
    pub token: Option<String>,
}
crate::opaque_debug!(StatusQuery);

/// Get one request.
///
/// With `?token=` (the status token): the data subject's view. With an operator token or API
/// key: the full request with its timeline; identities are shown in clear only to admins and
/// operators.
#[utoipa::path(
    get,
    path = "/v1/requests/{id}",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id"), StatusQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = RequestView),
        Authenticated,
        RequestNotFound,
        RateLimited,
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    QueryParams(query): QueryParams<StatusQuery>,
    caller: Result<Principal, ApiError>,
) -> ApiResult<Json<RequestView>> {
    let (req, reader) = find_for(&state, id, query.token.as_deref(), caller).await?;
    Ok(Json(view_of(&state, &req, &reader).await?))
}

/// Who reads a request: its data subject (with the status token) or an operator.
pub enum Reader {
    /// The data subject, who proved it with the status token.
    Subject,
    /// An operator or API key allowed to read requests.
    Operator(Principal),
}

/// The request `id` for the holder of `token`, or else for `caller` (who must be allowed to
/// read requests); not found for anybody else.
pub async fn find_for(
    state: &AppState,
    id: Uuid,
    token: Option<&str>,
    caller: Result<Principal, ApiError>,
) -> ApiResult<(request::Model, Reader)> {
    if let Some(token) = token {
        return Ok((find_with_token(state, id, token).await?, Reader::Subject));
    }
    let principal = caller?;
    principal.require(Permission::ReadRequests)?;
    let req =
        request::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(request_not_found)?;
    Ok((req, Reader::Operator(principal)))
}

/// What `reader` sees of `req`: the subject's status, or the operator's whole request with its
/// timeline (identities in clear only for those allowed to read them).
pub async fn view_of(state: &AppState, req: &request::Model, reader: &Reader) -> ApiResult<RequestView> {
    let principal = match reader {
        Reader::Subject => return Ok(RequestView::Subject(SubjectStatus::new(req, &state.keyring)?)),
        Reader::Operator(principal) => principal,
    };
    let (org, id) = (req.organization_id, req.id);
    let identities = subject_identity::Model::of_request(&state.db, org, id).await?;
    let timeline = request_event::Model::timeline(&state.db, org, id).await?;
    let reveal = principal.can(Permission::ReadIdentities);
    let detail = RequestDetail::new(req, identities, timeline, &state.keyring, reveal, OffsetDateTime::now_utc())?;
    Ok(RequestView::Operator(Box::new(detail)))
}

/// The highest page number accepted (keeps offsets far from integer overflow).
pub const MAX_PAGE: u64 = 1_000_000;

/// Query of `GET /v1/requests`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only requests in this state.
    pub state: Option<RequestState>,
    /// Only requests of this kind.
    pub kind: Option<RequestKind>,
    /// Only requests due before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub due_before: Option<OffsetDateTime>,
    /// Only open requests past their due date.
    #[serde(default)]
    pub overdue: bool,
    /// Page, from 1.
    pub page: Option<u64>,
    /// Page size, 1 to 100 (default 25).
    pub per_page: Option<u64>,
}

/// List requests.
///
/// The caller's organization's requests, earliest due first.
#[utoipa::path(
    get,
    path = "/v1/requests",
    tag = "requests",
    params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of requests", body = RequestList),
        InvalidQuery,
        Authenticated,
        ValidationFailed,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<RequestList>> {
    principal.require(Permission::ReadRequests)?;
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(25);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(ApiError::invalid_field("page", format!("between 1 and {MAX_PAGE}")));
    }
    if !(1..=100).contains(&per_page) {
        return Err(ApiError::invalid_field("per_page", "between 1 and 100"));
    }
    let filter = ListFilter {
        state: query.state,
        kind: query.kind,
        due_before: query.due_before.map(|t| t.to_offset(time::UtcOffset::UTC)),
        overdue: query.overdue,
        regime: None,
        ids: None,
    };
    let now = OffsetDateTime::now_utc();
    let result = request::Model::list(&state.db, principal.organization_id, &filter, page, per_page, now).await?;
    Ok(Json(RequestList {
        items: result.items.iter().map(|r| RequestSummary::new(r, now)).collect(),
        page,
        per_page,
        total: result.total,
    }))
}
