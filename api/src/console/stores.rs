//! The stores pages: the list with each store's kind and last connection test, registering a
//! store (its connection secret is sent once and never shown again; an invalid form comes back
//! with its errors inline and without the secret), and a store's page with its location, the
//! connection test and discovery. The data map's review and YAML editor are
//! in [`super::datamap`]. Every action calls the service the JSON API calls
//! ([`crate::services::stores`], [`crate::services::store_probes`]) with the operator as
//! principal (admins only, by the service's own check) and writes an audit event.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::StoreKind;
use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::entity::store;
use sea_orm::Iterable;
use serde::Deserialize;
use uuid::Uuid;

use super::actions::{CsrfForm, optional};
use super::fields::{FieldErrors, Placement, with_status};
use super::review::{Review, review};
use super::session::Session;
use super::sign_in::record;
use super::view::{DoneQuery, Nav, parse, when};
use crate::auth::Permission;
use crate::extract::PathParams;
use crate::services::store_probes;
use crate::services::stores::{self, ConnectionInput, NewStore, StoreView, load};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebResult, render};

/// The last connection test, for a page.
struct Test {
    ok: bool,
    text: String,
    at: String,
}

impl Test {
    fn of(view: &StoreView) -> Option<Self> {
        view.last_test.as_ref().map(|t| Self {
            ok: t.ok,
            text: match &t.code {
                Some(code) => format!("{code}: {}", t.message),
                None => t.message.clone(),
            },
            at: when(t.at),
        })
    }
}

struct Row {
    id: String,
    name: String,
    kind: &'static str,
    location: String,
    map_version: i32,
    test: Option<Test>,
}

#[derive(Template)]
#[template(path = "console/stores.html")]
struct StoresPage {
    nav: Nav,
    stores: Vec<Row>,
    manage: bool,
    kinds: Vec<&'static str>,
    values: RegisterForm,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "console/store.html")]
struct StorePage {
    nav: Nav,
    id: String,
    name: String,
    kind: &'static str,
    description: Option<String>,
    location: Option<String>,
    instructions: Option<String>,
    map_version: i32,
    map_saved: Option<String>,
    discovered: Option<String>,
    test: Option<Test>,
    discoverable: bool,
    manage: bool,
    notice: Option<String>,
    warnings: Vec<String>,
    review: Option<Review>,
}

/// `GET /console/stores`.
pub async fn list(State(state): State<AppState>, session: Session) -> WebResult<Response> {
    list_page(&state, &session, RegisterForm::default(), FieldErrors::default()).await
}

/// The list with the registration form showing `values` and `errors`.
async fn list_page(
    state: &AppState,
    session: &Session,
    values: RegisterForm,
    errors: FieldErrors,
) -> WebResult<Response> {
    session.principal.require(Permission::ReadStores)?;
    let stores = store::Model::all_in_org(&state.db, session.organization.id).await?;
    let rows = stores
        .iter()
        .map(|s| {
            let view = StoreView::of(s, &state.keyring);
            Row {
                id: s.id.to_string(),
                name: s.name.clone(),
                kind: s.kind.as_str(),
                location: view.location.clone().unwrap_or_default(),
                map_version: s.data_map_version,
                test: Test::of(&view),
            }
        })
        .collect();
    let page = StoresPage {
        nav: Nav::new(session, "stores"),
        stores: rows,
        manage: session.can(Permission::ManageStores),
        kinds: StoreKind::iter().map(StoreKind::as_str).collect(),
        values,
        errors,
    };
    render(&page)
}

/// The registration form. Which connection fields apply depends on the kind.
#[derive(Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    signing_secret: String,
    #[serde(default)]
    instructions: String,
}
crate::opaque_debug!(RegisterForm);

impl RegisterForm {
    /// What an invalid form shows again: everything but the secrets (the connection URL, which
    /// carries credentials, the signing secret, and a base URL with credentials or a query).
    fn kept(&self) -> Self {
        let credentials = self.base_url.contains('@') || self.base_url.contains('?');
        Self {
            csrf: String::new(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            description: self.description.clone(),
            url: String::new(),
            base_url: if credentials { String::new() } else { self.base_url.clone() },
            signing_secret: String::new(),
            instructions: self.instructions.clone(),
        }
    }
}

/// Where the registration form shows the API's field errors.
const STORE_FIELDS: &[Placement<'static>] = &[
    ("name", "store-name", "Name"),
    ("connection", "store-kind", "Kind"),
    ("description", "store-description", "Description"),
    ("connection.url", "store-url", "URL with credentials"),
    ("connection.base_url", "store-base-url", "Base URL"),
    ("connection.signing_secret", "store-secret", "Signing secret"),
    ("instructions", "store-instructions", "Instructions"),
];

/// `POST /console/stores`: registers a store and opens its page; an invalid form comes back
/// with its errors.
pub async fn register(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<RegisterForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    session.principal.require(Permission::ManageStores)?;
    let mut errors = FieldErrors::default();
    let Some(kind) = parse::<StoreKind>(&form.kind) else {
        errors.add("store-kind", "Kind", "Choose one of the listed kinds.");
        let page = list_page(&state, &session, form.kept(), errors).await;
        return with_status(page, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let connection = match kind {
        StoreKind::Manual => None,
        StoreKind::Http => Some(ConnectionInput {
            url: None,
            base_url: Some(form.base_url.trim().to_owned()),
            signing_secret: Some(form.signing_secret.clone()),
        }),
        _ => Some(ConnectionInput { url: Some(form.url.trim().to_owned()), ..ConnectionInput::default() }),
    };
    let body = NewStore {
        name: form.name.trim().to_owned(),
        kind,
        description: optional(form.description.clone()),
        connection,
        instructions: optional(form.instructions.clone()).filter(|_| kind == StoreKind::Manual),
    };
    let status = match stores::create(&state, &session.principal, body).await {
        Ok(created) => {
            let reason = format!("{} ({})", created.name, created.kind.as_str());
            record(&state, &session.operator, OperatorEventKind::StoreRegistered, session.ip(), Some(&reason)).await;
            return Ok(Redirect::to(&format!("/console/stores/{}?done=registered", created.id)).into_response());
        }
        Err(e) if e.code() == "store_name_taken" => {
            errors.add("store-name", "Name", e.detail());
            e.status()
        }
        Err(e) => {
            errors.place(e, STORE_FIELDS)?;
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    with_status(list_page(&state, &session, form.kept(), errors).await, status)
}

fn notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "registered" => "Registered. Test the connection, then run discovery.",
            "tested" => "Tested: the result is below.",
            "discovered" => "Discovered: review the proposed data map below and save it.",
            _ => return None,
        }
        .to_owned(),
    )
}

/// `GET /console/stores/{id}`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    let done = DoneQuery::of(query);
    show(&state, &session, id, notice(done.as_deref()), Vec::new()).await
}

/// Renders store `id`'s page with a notice and the warnings of a save.
pub async fn show(
    state: &AppState,
    session: &Session,
    id: Uuid,
    notice: Option<String>,
    warnings: Vec<String>,
) -> WebResult<Response> {
    session.principal.require(Permission::ReadStores)?;
    let s = load(state, session.organization.id, id).await?;
    let view = StoreView::of(&s, &state.keyring);
    let manage = session.can(Permission::ManageStores);
    let page = StorePage {
        nav: Nav::new(session, "stores"),
        id: s.id.to_string(),
        name: s.name.clone(),
        kind: s.kind.as_str(),
        description: s.description.clone(),
        location: view.location.clone(),
        instructions: s.instructions.clone(),
        map_version: s.data_map_version,
        map_saved: s.data_map_saved_at.map(when),
        discovered: s.discovered_at.map(when),
        test: Test::of(&view),
        discoverable: s.kind.is_automated(),
        manage,
        notice,
        warnings,
        review: review(state, &s, manage).await,
    };
    render(&page)
}

/// `POST /console/stores/{id}/test`: tests the connection; the result is kept on the store.
pub async fn test(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let result = store_probes::test(&state, &session.principal, id).await?;
    let reason = format!("store {id}: {}", result.code.as_deref().unwrap_or("ok"));
    record(&state, &session.operator, OperatorEventKind::StoreTested, session.ip(), Some(&reason)).await;
    Ok(Redirect::to(&format!("/console/stores/{id}?done=tested")).into_response())
}

/// `POST /console/stores/{id}/discover`: introspects the store and keeps the proposed map.
pub async fn discover(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let found = store_probes::discover(&state, &session.principal, id).await?;
    let reason = format!("store {id}: {} table(s), {} key pattern(s)", found.map.tables.len(), found.map.keys.len());
    record(&state, &session.operator, OperatorEventKind::StoreDiscovered, session.ip(), Some(&reason)).await;
    Ok(Redirect::to(&format!("/console/stores/{id}?done=discovered#review")).into_response())
}
