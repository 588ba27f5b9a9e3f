//! The audit log (admins and auditors): what operators and API keys did to requests (the
//! requests' timelines) and what happened to operators' accounts (sign-ins, failures, second
//! factors, signing out everywhere), newest first, each with who, what, when, why and from
//! which address; pages of 100 and a CSV export of a date range.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lethe_entities::domain::crypto::CryptoError;
use lethe_entities::domain::enums::ActorKind;
use lethe_entities::entity::operator_event::{self, OperatorEventKind};
use lethe_entities::entity::{api_key, operator, request_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::session::Session;
use super::sign_in::record;
use super::view::{Nav, name, when, words};
use crate::auth::Permission;
use crate::state::AppState;
use crate::web::{WebError, WebResult, render};

/// Events per page.
pub const PAGE: u64 = 100;
/// The most events one CSV export holds.
pub const CSV_LIMIT: usize = 100_000;

/// One line of the audit log.
#[derive(Debug, Clone)]
pub struct AuditLine {
    /// The event's id (UUID v7: ordered by time across both sources).
    pub id: Uuid,
    /// When.
    pub at: OffsetDateTime,
    /// Who: an operator's address, an API key's name.
    pub who: String,
    /// What.
    pub what: String,
    /// The request it concerns.
    pub request: Option<Uuid>,
    /// Why.
    pub reason: String,
    /// From which address.
    pub ip: String,
}

/// The page's query: the cursor.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    before: Option<Uuid>,
}

/// The export's query: a date range (UTC days, inclusive).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
}

struct Line {
    at: String,
    who: String,
    what: String,
    request: Option<String>,
    reason: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    nav: Nav,
    lines: Vec<Line>,
    next: Option<String>,
    today: String,
    month_ago: String,
}

/// Up to `limit` lines with ids below `before`, newest first, merged from both sources.
pub async fn lines(
    state: &AppState,
    organization: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> WebResult<Vec<AuditLine>> {
    let requests = request_event::Model::by_people(&state.db, organization, before, limit).await?;
    let accounts = operator_event::Model::page(&state.db, organization, before, limit).await?;
    let operator_ids: Vec<Uuid> = requests
        .iter()
        .filter(|e| e.actor_kind == ActorKind::Operator)
        .filter_map(|e| e.actor_id)
        .chain(accounts.iter().map(|e| e.operator_id))
        .collect();
    let operators: HashMap<Uuid, String> = operator::Entity::find()
        .filter(operator::Column::OrganizationId.eq(organization))
        .filter(operator::Column::Id.is_in(operator_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.email))
        .collect();
    let key_ids: Vec<Uuid> =
        requests.iter().filter(|e| e.actor_kind == ActorKind::ApiKey).filter_map(|e| e.actor_id).collect();
    let keys: HashMap<Uuid, String> = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization))
        .filter(api_key::Column::Id.is_in(key_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|k| (k.id, format!("API key “{}”", k.name)))
        .collect();
    let who = |kind: ActorKind, id: Option<Uuid>| match (kind, id) {
        (ActorKind::Operator, Some(id)) => operators.get(&id).cloned().unwrap_or_else(|| format!("operator {id}")),
        (ActorKind::ApiKey, Some(id)) => keys.get(&id).cloned().unwrap_or_else(|| format!("API key {id}")),
        (kind, _) => words(&kind),
    };
    let keyring = &state.keyring;
    let mut merged = requests
        .into_iter()
        .map(|e| {
            Ok(AuditLine {
                id: e.id,
                at: e.at,
                who: who(e.actor_kind, e.actor_id),
                what: name(&e.kind),
                request: Some(e.request_id),
                reason: e.reason(keyring)?.unwrap_or_default(),
                ip: e.ip_address.unwrap_or_default(),
            })
        })
        .chain(accounts.into_iter().map(|e| {
            Ok(AuditLine {
                id: e.id,
                at: e.at,
                who: who(ActorKind::Operator, Some(e.operator_id)),
                what: e.kind.as_str().to_owned(),
                request: None,
                reason: e.reason(keyring)?.unwrap_or_default(),
                ip: e.ip_address.unwrap_or_default(),
            })
        }))
        .collect::<Result<Vec<AuditLine>, CryptoError>>()?;
    merged.sort_by_key(|line| std::cmp::Reverse(line.id));
    merged.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(merged)
}

fn date_text(d: Date) -> String {
    d.format(&time::macros::format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

/// `GET /console/audit`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> WebResult<Response> {
    session.principal.require(Permission::ReadAudit)?;
    let Query(query) = query.map_err(|_| WebError::invalid_form("The page address is not valid."))?;
    let found = lines(&state, session.organization.id, query.before, PAGE).await?;
    let next =
        (found.len() as u64 == PAGE).then(|| found.last().map(|l| format!("/console/audit?before={}", l.id))).flatten();
    let today = OffsetDateTime::now_utc().date();
    let page = AuditPage {
        nav: Nav::new(&session, "audit"),
        lines: found
            .into_iter()
            .map(|l| Line {
                at: when(l.at),
                who: l.who,
                what: l.what.replace('_', " "),
                request: l.request.map(|r| r.to_string()),
                reason: l.reason,
                ip: l.ip,
            })
            .collect(),
        next,
        today: date_text(today),
        month_ago: date_text(today - time::Duration::days(30)),
    };
    render(&page)
}

fn parse_date(field: &str, raw: Option<&str>) -> WebResult<Option<Date>> {
    let Some(raw) = raw.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    Date::parse(raw, &time::macros::format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| WebError::invalid_form(format!("`{field}` must be a date like 2026-12-31.")))
}

/// A CSV field: quoted when needed, and a leading `=`, `+`, `-` or `@` defused with `'` so a
/// spreadsheet never runs an operator's text as a formula.
fn csv_field(value: &str) -> String {
    let defused =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if defused.contains([',', '"', '\r', '\n']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

/// `GET /console/audit.csv?from=&to=`: the audit log of a date range (default: the last 30
/// days), oldest first.
pub async fn export(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> WebResult<Response> {
    session.principal.require(Permission::ReadAudit)?;
    let Query(query) = query.map_err(|_| WebError::invalid_form("The export's dates are not valid."))?;
    let today = OffsetDateTime::now_utc().date();
    let from = parse_date("from", query.from.as_deref())?.unwrap_or(today - time::Duration::days(30));
    let to = parse_date("to", query.to.as_deref())?.unwrap_or(today);
    if from > to {
        return Err(WebError::invalid_form("`from` must not be after `to`."));
    }
    let start = from.midnight().assume_utc();
    let end = (to + time::Duration::days(1)).midnight().assume_utc();
    // The cursor starts after the range's end (v7 ids order by time) and walks back.
    let mut before = Some(Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        u64::try_from(end.unix_timestamp()).unwrap_or(0),
        0,
    )));
    let mut rows = Vec::new();
    'pages: loop {
        let page = lines(&state, session.organization.id, before, 1000).await?;
        let last = page.len() < 1000;
        for line in page {
            before = Some(line.id);
            if line.at < start {
                break 'pages;
            }
            if line.at < end {
                rows.push(line);
            }
            if rows.len() >= CSV_LIMIT {
                break 'pages;
            }
        }
        if last {
            break;
        }
    }
    rows.reverse();
    let mut csv = String::from("at,who,what,request_id,reason,ip_address\r\n");
    for l in &rows {
        let at = l.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let request = l.request.map(|r| r.to_string()).unwrap_or_default();
        let fields = [at, l.who.clone(), l.what.clone(), request, l.reason.clone(), l.ip.clone()];
        csv.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        csv.push_str("\r\n");
    }
    let reason = format!("{} to {}, {} events", date_text(from), date_text(to), rows.len());
    record(&state, &session.operator, OperatorEventKind::AuditExported, session.ip(), Some(&reason)).await;
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let file = format!("attachment; filename=\"lethe-audit-{}-{}.csv\"", date_text(from), date_text(to));
    if let Ok(value) = HeaderValue::from_str(&file) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
