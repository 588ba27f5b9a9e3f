//! The queue: the organization's requests with counts per state, filters (state, type, regime,
//! due within N days, with a link for the organization's due-soon window, overdue), pages, and search by request id or by a subject's e-mail
//! address. The address is posted (never put in a URL) and matched through the HMAC blind
//! index: nothing is decrypted or scanned.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::domain::enums::{IdentityKind, Regime, RequestKind, RequestState};
use lethe_entities::domain::identity::SubjectEmail;
use lethe_entities::entity::request::{self, ListFilter};
use lethe_entities::entity::subject_identity;
use sea_orm::Iterable;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::session::Session;
use super::view::{DaysLeft, Nav, name, when, words};
use crate::auth::Permission;
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebError, WebResult, render};

/// Requests per page.
pub const PER_PAGE: u64 = 25;
/// Most matches a search shows.
const SEARCH_LIMIT: u64 = 100;

/// The queue's filters, from the query string (empty values mean "any").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    state: Option<String>,
    kind: Option<String>,
    regime: Option<String>,
    due_within: Option<String>,
    overdue: Option<String>,
    page: Option<u64>,
}

/// The search form.
#[derive(Debug, Deserialize)]
pub struct SearchForm {
    csrf: String,
    q: String,
}

/// One choice of a filter.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One state's count.
struct Count {
    state: String,
    label: String,
    n: u64,
    current: bool,
}

/// One row of the queue.
struct Row {
    id: String,
    kind: String,
    regime: String,
    state: String,
    received: String,
    due: String,
    days: DaysLeft,
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    nav: Nav,
    counts: Vec<Count>,
    states: Vec<Choice>,
    kinds: Vec<Choice>,
    regimes: Vec<Choice>,
    due_within: String,
    due_soon_days: i32,
    overdue: bool,
    rows: Vec<Row>,
    total: u64,
    searched: bool,
    page: u64,
    pages: u64,
    prev: Option<String>,
    next: Option<String>,
    notice: Option<&'static str>,
}

fn parse<T: serde::de::DeserializeOwned>(field: &str, raw: Option<&str>) -> WebResult<Option<T>> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => serde_json::from_value(serde_json::Value::String(v.to_owned()))
            .map(Some)
            .map_err(|_| WebError::invalid_form(format!("The filter `{field}` has an unknown value."))),
    }
}

fn choices<T: Iterable + serde::Serialize + PartialEq + Copy>(chosen: Option<T>) -> Vec<Choice> {
    T::iter().map(|v| Choice { value: name(&v), label: words(&v), selected: chosen == Some(v) }).collect()
}

/// The filters as parsed.
struct Filters {
    state: Option<RequestState>,
    kind: Option<RequestKind>,
    regime: Option<Regime>,
    due_within: Option<u16>,
    overdue: bool,
}

impl Filters {
    fn parse(q: &QueueQuery) -> WebResult<Self> {
        let due_within = match q.due_within.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                v.parse::<u16>()
                    .ok()
                    .filter(|d| (1..=366).contains(d))
                    .ok_or_else(|| WebError::invalid_form("“Due within” takes a number of days from 1 to 366."))?,
            ),
        };
        Ok(Self {
            state: parse("state", q.state.as_deref())?,
            kind: parse("kind", q.kind.as_deref())?,
            regime: parse("regime", q.regime.as_deref())?,
            due_within,
            overdue: q.overdue.as_deref().is_some_and(|v| !v.is_empty()),
        })
    }

    fn list_filter(&self, now: OffsetDateTime) -> ListFilter {
        ListFilter {
            state: self.state,
            kind: self.kind,
            due_before: self.due_within.map(|d| now + time::Duration::days(i64::from(d))),
            overdue: self.overdue,
            regime: self.regime,
            ids: None,
        }
    }

    /// The query string of these filters at `page`.
    fn link(&self, page: u64) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.state {
            parts.push(format!("state={}", name(&s)));
        }
        if let Some(k) = self.kind {
            parts.push(format!("kind={}", name(&k)));
        }
        if let Some(r) = self.regime {
            parts.push(format!("regime={}", name(&r)));
        }
        if let Some(d) = self.due_within {
            parts.push(format!("due_within={d}"));
        }
        if self.overdue {
            parts.push("overdue=on".into());
        }
        parts.push(format!("page={page}"));
        format!("/console/?{}", parts.join("&"))
    }
}

async fn page_for(
    state: &AppState,
    session: Session,
    filters: &Filters,
    list: ListFilter,
    page: u64,
    searched: bool,
    notice: Option<&'static str>,
) -> WebResult<Response> {
    let org = session.organization.id;
    let due_soon_days = session.organization.due_soon_days;
    let now = OffsetDateTime::now_utc();
    let per_page = if searched { SEARCH_LIMIT } else { PER_PAGE };
    let found = request::Model::list(&state.db, org, &list, page, per_page, now).await?;
    let counts = request::Model::count_by_state(&state.db, org).await?;
    let pages = found.total.div_ceil(per_page).max(1);
    let rows = found
        .items
        .iter()
        .map(|r| Row {
            id: r.id.to_string(),
            kind: words(&r.kind),
            regime: words(&r.regime),
            state: name(&r.state),
            received: when(r.received_at),
            due: when(r.due_at),
            days: DaysLeft::of(r, now, due_soon_days),
        })
        .collect();
    let counts = RequestState::iter()
        .filter_map(|s| {
            let n = counts.iter().find(|(c, _)| *c == s).map(|(_, n)| *n)?;
            Some(Count { state: name(&s), label: words(&s), n, current: filters.state == Some(s) })
        })
        .collect();
    let page_view = QueuePage {
        nav: Nav::new(&session, "queue"),
        counts,
        states: choices(filters.state),
        kinds: choices(filters.kind),
        regimes: choices(filters.regime),
        due_within: filters.due_within.map(|d| d.to_string()).unwrap_or_default(),
        due_soon_days,
        overdue: filters.overdue,
        rows,
        total: found.total,
        searched,
        page,
        pages,
        prev: (!searched && page > 1).then(|| filters.link(page - 1)),
        next: (!searched && page < pages).then(|| filters.link(page + 1)),
        notice,
    };
    render(&page_view)
}

/// `GET /console/`: the queue.
pub async fn queue(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> WebResult<Response> {
    let Query(query) = query.map_err(|_| WebError::invalid_form("The filters are not valid."))?;
    session.principal.require(Permission::ReadRequests)?;
    let filters = Filters::parse(&query)?;
    let page = query.page.unwrap_or(1);
    if !(1..=crate::routes::requests::read::MAX_PAGE).contains(&page) {
        return Err(WebError::invalid_form("No such page."));
    }
    let list = filters.list_filter(OffsetDateTime::now_utc());
    page_for(&state, session, &filters, list, page, false, None).await
}

/// `POST /console/search`: a request id opens the request; an e-mail address lists the
/// requests of that subject, matched by blind index.
pub async fn search(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SearchForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    session.principal.require(Permission::ReadRequests)?;
    let org = session.organization.id;
    let q = form.q.trim();
    let none = Filters { state: None, kind: None, regime: None, due_within: None, overdue: false };
    if let Ok(id) = Uuid::parse_str(q) {
        if request::Model::find_in_org(&state.db, org, id).await?.is_some() {
            return Ok(Redirect::to(&format!("/console/requests/{id}")).into_response());
        }
        let list = ListFilter { ids: Some(Vec::new()), ..ListFilter::default() };
        return page_for(&state, session, &none, list, 1, true, Some("No request has this id.")).await;
    }
    let email = SubjectEmail::parse(q)
        .map_err(|_| WebError::invalid_form("Search takes a request id or an e-mail address."))?;
    let index = state.keyring.blind_index(org, IdentityKind::Email, email.as_str());
    let ids = subject_identity::Model::requests_with_index(&state.db, org, &index).await?;
    let notice = ids.is_empty().then_some("No request of this e-mail address.");
    let list = ListFilter { ids: Some(ids), ..ListFilter::default() };
    page_for(&state, session, &none, list, 1, true, notice).await
}
