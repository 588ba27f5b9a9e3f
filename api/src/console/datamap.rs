//! A store's data map in the console: discovery's proposal reviewed side by side with the live
//! schema (per table: take it or leave it, and what erasure does; per column: category,
//! identity, action), and the map as YAML with its validation errors shown next to the text
//! (field path, line, column). Both save through [`crate::services::datamaps::save`], as
//! `PUT /v1/stores/{id}/datamap` does: the same structural and live-schema checks, the same
//! versioning.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lethe_entities::datamap::{ColumnAction, ColumnMap, DataMap, RowErasure, TableMap};
use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::entity::operator_event::OperatorEventKind;
use serde::Deserialize;
use uuid::Uuid;

use super::review::base;
use super::session::Session;
use super::sign_in::record;
use super::stores::show;
use super::view::{Nav, name, parse};
use super::yaml::to_yaml;
use crate::auth::Permission;
use crate::error::ApiError;
use crate::extract::PathParams;
use crate::services::datamaps::{self, DataMapInput, SavedMap};
use crate::services::stores::load;
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebError, WebResult, render};

/// The reviewed map: the base map with the form's tables and columns.
fn reviewed(base: DataMap, fields: &HashMap<String, String>) -> WebResult<DataMap> {
    let field = |key: String| fields.get(&key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut tables = Vec::new();
    for i in 0.. {
        let Some(table) = field(format!("t{i}")) else { break };
        if field(format!("t{i}.include")).is_none() {
            continue;
        }
        let prior = base.table(table).cloned();
        let mut t = prior.clone().unwrap_or_else(|| TableMap {
            name: table.to_owned(),
            primary_key: field(format!("t{i}.pk")).unwrap_or_default().split(',').map(str::to_owned).collect(),
            label: None,
            purpose: None,
            legal_basis: None,
            origin: None,
            automated_decision: None,
            columns: Vec::new(),
            references: Vec::new(),
            erasure: RowErasure::DeleteRow,
        });
        t.erasure = match field(format!("t{i}.erasure")) {
            None | Some("delete_row") => RowErasure::DeleteRow,
            Some("update") => RowErasure::Update,
            Some("keep") if matches!(t.erasure, RowErasure::Keep { .. }) => t.erasure.clone(),
            Some(_) => return Err(WebError::invalid_form(format!("`{table}`: choose one of the listed erasures."))),
        };
        let referenced = |column: &str| {
            t.references.iter().any(|r| r.column == column)
                || base
                    .tables
                    .iter()
                    .flat_map(|o| &o.references)
                    .any(|r| r.target.store.is_none() && r.target.table == table && r.target.column == column)
        };
        let mut columns = Vec::new();
        for j in 0.. {
            let Some(column) = field(format!("t{i}.c{j}")) else { break };
            let category = field(format!("t{i}.c{j}.category")).map(str::to_owned);
            let identity = match field(format!("t{i}.c{j}.identity")) {
                Some(v) => Some(parse::<IdentityKind>(v).ok_or_else(|| {
                    WebError::invalid_form(format!("`{table}.{column}`: choose one of the listed identities."))
                })?),
                None => None,
            };
            let action = match field(format!("t{i}.c{j}.action")) {
                Some(v) => Some(parse::<ColumnAction>(v).ok_or_else(|| {
                    WebError::invalid_form(format!("`{table}.{column}`: choose one of the listed actions."))
                })?),
                None => None,
            };
            let before = prior.as_ref().and_then(|p| p.column(column));
            if category.is_none() && identity.is_none() && action.is_none() && !referenced(column) {
                continue;
            }
            columns.push(ColumnMap {
                name: column.to_owned(),
                label: before.and_then(|b| b.label.clone()),
                category,
                identity,
                matching: before.and_then(|b| b.matching),
                action,
                redact_with: before
                    .and_then(|b| b.redact_with.clone())
                    .filter(|_| action == Some(ColumnAction::Redact)),
            });
        }
        t.columns = columns;
        tables.push(t);
    }
    Ok(DataMap { tables, ..base })
}

/// `POST /console/stores/{id}/review`: saves the reviewed map (admins).
pub async fn save_review(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let fields: HashMap<String, String> = form.into_iter().collect();
    session.check_csrf(&state, fields.get("csrf").map_or("", String::as_str))?;
    session.principal.require(Permission::ManageStores)?;
    let s = load(&state, session.organization.id, id).await?;
    let map = reviewed(base(&s).map_or_else(DataMap::empty, |(m, _)| m), &fields)?;
    let input = DataMapInput { map: Some(serde_json::to_value(&map).map_err(|e| WebError::internal(&e))?), yaml: None };
    let saved = datamaps::save(&state, &session.principal, id, input).await?;
    saved_page(&state, &session, saved).await
}

async fn saved_page(state: &AppState, session: &Session, saved: SavedMap) -> WebResult<Response> {
    let reason = format!("{} version {}", saved.store.name, saved.store.data_map_version);
    record(state, &session.operator, OperatorEventKind::DataMapSaved, session.ip(), Some(&reason)).await;
    let notice = format!("Data map version {} saved.", saved.store.data_map_version);
    show(state, session, saved.store.id, Some(notice), saved.warnings).await
}

/// One validation error next to the YAML text.
struct MapProblem {
    path: String,
    line: Option<String>,
    column: Option<String>,
    message: String,
}

/// Splits the position [`crate::error::invalid_data_map`] puts before a message
/// (`line 3, column 7: ...`) back out.
fn problem(field: &str, message: &str) -> MapProblem {
    fn number<'a>(text: &'a str, word: &str) -> Option<&'a str> {
        text.strip_prefix(word).filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    }
    let (position, rest) = message.split_once(": ").unwrap_or(("", message));
    let mut parts = position.split(", ");
    let line = parts.next().and_then(|p| number(p, "line ")).map(str::to_owned);
    let column = parts.next().and_then(|p| number(p, "column ")).map(str::to_owned);
    let message = if line.is_some() { rest } else { message };
    MapProblem { path: field.to_owned(), line, column, message: message.to_owned() }
}

#[derive(Template)]
#[template(path = "console/datamap.html")]
struct EditorPage {
    nav: Nav,
    id: String,
    name: String,
    kind: String,
    yaml: String,
    problems: Vec<MapProblem>,
    summary: Option<String>,
    editable: bool,
}

async fn editor(
    state: &AppState,
    session: &Session,
    id: Uuid,
    text: Option<String>,
    error: Option<&ApiError>,
) -> WebResult<Response> {
    session.principal.require(Permission::ReadStores)?;
    let s = load(state, session.organization.id, id).await?;
    let yaml = text.unwrap_or_else(|| {
        let map = s.saved_map().or_else(|| base(&s).map(|(m, _)| m)).unwrap_or_else(DataMap::empty);
        serde_json::to_value(&map).map(|v| to_yaml(&v)).unwrap_or_default()
    });
    let page = EditorPage {
        nav: Nav::new(session, "stores"),
        id: s.id.to_string(),
        name: s.name.clone(),
        kind: name(&s.kind),
        yaml,
        problems: error
            .map(|e| e.field_errors().iter().map(|f| problem(&f.field, &f.message)).collect())
            .unwrap_or_default(),
        summary: error.map(|e| e.detail().to_owned()),
        editable: session.can(Permission::ManageStores),
    };
    let mut response = render(&page)?;
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `GET /console/stores/{id}/datamap`: the map as YAML (the saved one, else the proposal).
pub async fn edit(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
) -> WebResult<Response> {
    editor(&state, &session, id, None, None).await
}

/// The YAML form.
#[derive(Debug, Deserialize)]
pub struct YamlForm {
    csrf: String,
    yaml: String,
}

/// `POST /console/stores/{id}/datamap`: saves the YAML; a map that does not pass the checks
/// comes back in the editor with each error's path, line and column.
pub async fn save_yaml(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<YamlForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let input = DataMapInput { map: None, yaml: Some(form.yaml.clone()) };
    match datamaps::save(&state, &session.principal, id, input).await {
        Ok(saved) => saved_page(&state, &session, saved).await,
        Err(e) if e.code() == "invalid_data_map" => editor(&state, &session, id, Some(form.yaml), Some(&e)).await,
        Err(e) => Err(e.into()),
    }
    .map(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_split_from_messages() {
        let p = problem("tables[0].columns[1].action", "line 9, column 17: unknown variant `wipe`");
        assert_eq!((p.line.as_deref(), p.column.as_deref()), (Some("9"), Some("17")));
        assert_eq!(p.message, "unknown variant `wipe`");
        let q = problem("tables[1]", "line 4: no such table: `custmers`");
        assert_eq!(
            (q.line.as_deref(), q.column.as_deref(), q.message.as_str()),
            (Some("4"), None, "no such table: `custmers`")
        );
        let r = problem("tables", "the store has no table `x`: it has a, b");
        assert_eq!((r.line, r.column, r.message.as_str()), (None, None, "the store has no table `x`: it has a, b"));
    }

    #[test]
    fn the_review_keeps_what_the_form_says() {
        let base: DataMap = serde_json::from_value(serde_json::json!({
            "version": 1,
            "tables": [{"name": "customers", "primary_key": ["id"], "columns": [
                {"name": "email", "category": "user.contact.email", "identity": "email"},
                {"name": "phone", "category": "user.contact.phone_number"}
            ]}, {"name": "logs", "primary_key": ["id"]}]
        }))
        .unwrap();
        let fields: HashMap<String, String> = [
            ("t0", "customers"),
            ("t0.include", "on"),
            ("t0.erasure", "update"),
            ("t0.c0", "email"),
            ("t0.c0.category", "user.contact.email"),
            ("t0.c0.identity", "email"),
            ("t0.c0.action", "null"),
            ("t0.c1", "phone"),
            ("t0.c1.category", ""),
            ("t1", "logs"),
            ("t2", "notes"),
            ("t2.include", "on"),
            ("t2.pk", "id"),
            ("t2.c0", "body"),
            ("t2.c0.category", "user.content"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let map = reviewed(base, &fields).unwrap();
        let names: Vec<&str> = map.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["customers", "notes"], "logs left out, notes taken");
        let customers = &map.tables[0];
        assert_eq!(customers.erasure, RowErasure::Update);
        assert_eq!(customers.columns.len(), 1, "the emptied phone column is gone");
        assert_eq!(customers.columns[0].action, Some(ColumnAction::Null));
        assert_eq!(map.tables[1].primary_key, ["id"]);
        assert_eq!(map.tables[1].columns[0].category.as_deref(), Some("user.content"));
        let mut bad = fields.clone();
        bad.insert("t0.c0.identity".into(), "passport".into());
        assert_eq!(reviewed(DataMap::empty(), &bad).unwrap_err().code(), "invalid_form");
    }
}
