//! Legal holds in the console: the list (a subject hold shows the kind of identity, never its
//! value), placing one (subject by identity, table, store or organization; reason, owner's e-mail,
//! matter, expiry), releasing one with a reason, and placing subject holds on a request's
//! identities from the request page. Placing and releasing call the services the JSON API calls
//! ([`crate::services::holds`]: admins only, a ledger entry each) and write an audit event. An
//! invalid form comes back with its errors next to its fields and what was typed kept.

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::entity::legal_hold::HoldScope;
use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::entity::{operator, store, subject_identity};
use sea_orm::{ColumnTrait, EntityTrait, Iterable, QueryFilter};
use serde::Deserialize;
use uuid::Uuid;

use super::fields::{FieldErrors, Placement, with_status};
use super::hold_form::{HoldDetails, place_errors};
use super::request::{self, find};
use super::session::Session;
use super::sign_in::record;
use super::view::{DoneQuery, Nav, parse, when};
use crate::auth::Permission;
use crate::error::ApiResult;
use crate::extract::PathParams;
use crate::services::holds::{self, HeldIdentity, NewHold};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebError, WebResult, render};

struct Hold {
    id: String,
    scope: &'static str,
    covers: String,
    reason: String,
    owner: String,
    matter: Option<String>,
    expires: Option<String>,
    active: bool,
    placed: String,
    released: Option<String>,
    /// The id of its release form's reason field.
    release_id: String,
    /// The error of its release form.
    release_error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/holds.html")]
struct HoldsPage {
    nav: Nav,
    holds: Vec<Hold>,
    manage: bool,
    scopes: Vec<&'static str>,
    kinds: Vec<&'static str>,
    stores: Vec<(String, String)>,
    notice: Option<&'static str>,
    values: PlaceForm,
    errors: FieldErrors,
}

/// `GET /console/retention/holds`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    let notice = match DoneQuery::of(query).as_deref() {
        Some("placed") => Some("The hold is in force."),
        Some("released") => Some("The hold is released."),
        _ => None,
    };
    show(&state, &session, notice, PlaceForm::default(), FieldErrors::default()).await
}

/// The page with `notice`, the place form showing `values`, and `errors` (of that form or of
/// a hold's release form).
async fn show(
    state: &AppState,
    session: &Session,
    notice: Option<&'static str>,
    values: PlaceForm,
    errors: FieldErrors,
) -> WebResult<Response> {
    let org = session.organization.id;
    let views = holds::list(state, &session.principal, false).await?;
    let stores = store::Model::all_in_org(&state.db, org).await?;
    let store_names: HashMap<Uuid, String> = stores.iter().map(|s| (s.id, s.name.clone())).collect();
    let people: Vec<Uuid> = views.iter().flat_map(|h| [h.placed_by, h.released_by]).flatten().collect();
    let emails: HashMap<Uuid, String> = operator::Entity::find()
        .filter(operator::Column::OrganizationId.eq(org))
        .filter(operator::Column::Id.is_in(people))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.email))
        .collect();
    let who = |id: Option<Uuid>| id.and_then(|id| emails.get(&id).cloned()).unwrap_or_else(|| "an API key".to_owned());
    let holds = views
        .iter()
        .map(|h| {
            let store = h.store_id.and_then(|s| store_names.get(&s).cloned()).unwrap_or_default();
            Hold {
                id: h.id.to_string(),
                scope: h.scope.as_str(),
                covers: match h.scope {
                    HoldScope::Subject => {
                        format!("a person, by {}", h.identity_kind.map_or("identity", IdentityKind::as_str))
                    }
                    HoldScope::Table => format!("{store}: {}", h.table.clone().unwrap_or_default()),
                    HoldScope::Store => store,
                    HoldScope::Organization => "everything".to_owned(),
                },
                reason: h.reason.clone(),
                owner: h.owner.clone(),
                matter: h.matter.clone(),
                expires: h.expires_at.map(when),
                active: h.active,
                placed: format!("{} by {}", when(h.placed_at), who(h.placed_by)),
                released: h.released_at.map(|at| {
                    format!("{} by {}: {}", when(at), who(h.released_by), h.release_reason.clone().unwrap_or_default())
                }),
                release_id: release_id(h.id),
                release_error: errors.get(release_id(h.id)).map(str::to_owned),
            }
        })
        .collect();
    let page = HoldsPage {
        nav: Nav::new(session, "holds"),
        holds,
        manage: session.can(Permission::ManageHolds),
        scopes: HoldScope::iter().map(HoldScope::as_str).collect(),
        kinds: IdentityKind::iter().map(IdentityKind::as_str).collect(),
        stores: stores.into_iter().map(|s| (s.id.to_string(), s.name)).collect(),
        notice,
        values,
        errors,
    };
    render(&page)
}

/// The id of hold `id`'s release reason field.
fn release_id(id: Uuid) -> String {
    format!("release-{id}")
}

/// The form placing a hold.
#[derive(Debug, Default, Deserialize)]
pub struct PlaceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    identity_kind: String,
    #[serde(default)]
    identity_value: String,
    #[serde(default)]
    store_id: String,
    #[serde(default)]
    table: String,
    #[serde(flatten)]
    details: HoldDetails,
}

/// The prefix of the ids of the place form's detail fields (`hold-reason`, ...).
pub const PLACE_PREFIX: &str = "hold";

/// Where the place form shows the API's errors of the fields beyond the details.
const PLACE_FIELDS: &[Placement<'static>] = &[
    ("identity", "hold-value", "Identity"),
    ("identity.value", "hold-value", "Identity"),
    ("store_id", "hold-store", "Store"),
    ("table", "hold-table", "Table or key pattern"),
];

async fn place_one(state: &AppState, session: &Session, hold: NewHold) -> ApiResult<()> {
    let placed = holds::place(state, &session.principal, hold).await?;
    let reason = format!("hold {} on {}", placed.id, placed.scope.as_str());
    record(state, &session.operator, OperatorEventKind::HoldPlaced, session.ip(), Some(&reason)).await;
    Ok(())
}

/// `POST /console/retention/holds`.
pub async fn place(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<PlaceForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    session.principal.require(Permission::ManageHolds)?;
    let mut errors = FieldErrors::default();
    let scope = parse::<HoldScope>(&form.scope);
    if scope.is_none() {
        errors.add("hold-scope", "What it covers", "Choose what the hold covers.");
    }
    let scope = scope.unwrap_or(HoldScope::Organization);
    let mut hold = form.details.hold(scope, &mut errors, PLACE_PREFIX);
    if scope == HoldScope::Subject {
        match parse::<IdentityKind>(&form.identity_kind) {
            Some(kind) => hold.identity = Some(HeldIdentity { kind, value: form.identity_value.clone() }),
            None => errors.add("hold-kind", "Kind of identity", "Choose the kind of identity."),
        }
    }
    if matches!(scope, HoldScope::Table | HoldScope::Store) {
        match form.store_id.parse() {
            Ok(id) => hold.store_id = Some(id),
            Err(_) => errors.add("hold-store", "Store", "Choose the store."),
        }
    }
    if scope == HoldScope::Table {
        hold.table = Some(form.table.trim().to_owned());
    }
    if errors.is_empty() {
        match place_one(&state, &session, hold).await {
            Ok(()) => return Ok(Redirect::to("/console/retention/holds?done=placed").into_response()),
            Err(e) => place_errors(&mut errors, e, PLACE_PREFIX, PLACE_FIELDS)?,
        }
    }
    with_status(show(&state, &session, None, form, errors).await, StatusCode::UNPROCESSABLE_ENTITY)
}

/// The release form.
#[derive(Debug, Deserialize)]
pub struct ReleaseForm {
    csrf: String,
    reason: String,
}

/// `POST /console/retention/holds/{id}/release`.
pub async fn release(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<ReleaseForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    match holds::release(&state, &session.principal, id, &form.reason).await {
        Ok(_released) => {
            let reason = format!("hold {id}");
            record(&state, &session.operator, OperatorEventKind::HoldReleased, session.ip(), Some(&reason)).await;
            Ok(Redirect::to("/console/retention/holds?done=released").into_response())
        }
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.place(e, &[("reason", &release_id(id), "Why it is released")])?;
            let page = show(&state, &session, None, PlaceForm::default(), errors).await;
            with_status(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// The request page's legal-hold form.
#[derive(Debug, Deserialize)]
pub struct RequestHoldForm {
    csrf: String,
    #[serde(flatten)]
    details: HoldDetails,
}

/// `POST /console/requests/{id}/legal-hold`: a subject hold on each of the request's
/// identities (admins), so nothing of the person is erased or purged while it is in force.
pub async fn on_request(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<RequestHoldForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    session.principal.require(Permission::ManageHolds)?;
    let r = find(&state, &session, id).await?;
    let identities = subject_identity::Model::of_request(&state.db, r.organization_id, r.id).await?;
    let mut errors = FieldErrors::default();
    for identity in &identities {
        let value = identity.open(&state.keyring).map_err(|e| WebError::internal(&e))?;
        let mut hold = form.details.hold(HoldScope::Subject, &mut errors, request::HOLD_PREFIX);
        if !errors.is_empty() {
            break;
        }
        hold.identity = Some(HeldIdentity { kind: identity.kind, value });
        // Every identity's hold has the same details: a refusal comes with the first, before
        // any is placed.
        if let Err(e) = place_one(&state, &session, hold).await {
            place_errors(&mut errors, e, request::HOLD_PREFIX, &[])?;
            break;
        }
    }
    if errors.is_empty() {
        return Ok(Redirect::to(&format!("/console/requests/{id}?done=legal-hold")).into_response());
    }
    let page = request::show(&state, &session, id, None, request::LegalHoldForm { values: form.details, errors });
    with_status(page.await, StatusCode::UNPROCESSABLE_ENTITY)
}
