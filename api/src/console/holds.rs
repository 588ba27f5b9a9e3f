//! Legal holds in the console: the list (a subject hold shows the kind of identity, never its
//! value), placing one (subject by identity, table, store or organization; reason, owner's
//! e-mail, matter, expiry), releasing one with a reason, and placing subject holds on a
//! request's identities from the request page. Placing and releasing call the JSON API's
//! handlers (admins only, a ledger entry each) and write an audit event.

use std::collections::HashMap;

use askama::Template;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::entity::legal_hold::HoldScope;
use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::entity::{operator, store, subject_identity};
use sea_orm::{ColumnTrait, EntityTrait, Iterable, QueryFilter};
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::request::find;
use super::session::Session;
use super::sign_in::record;
use super::view::{DoneQuery, Nav, parse, when};
use crate::auth::Permission;
use crate::extract::{Body, PathParams, QueryParams};
use crate::routes::holds::{self, HeldIdentity, HoldsQuery, NewHold};
use crate::routes::requests::actions::ReasonBody;
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
}

/// `GET /console/retention/holds`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    let done = DoneQuery::of(query);
    let org = session.organization.id;
    let query = QueryParams(HoldsQuery { active: None });
    let Json(views) = holds::list(State(state.clone()), session.principal.clone(), query).await?;
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
            }
        })
        .collect();
    let page = HoldsPage {
        nav: Nav::new(&session, "holds"),
        holds,
        manage: session.can(Permission::ManageHolds),
        scopes: HoldScope::iter().map(HoldScope::as_str).collect(),
        kinds: IdentityKind::iter().map(IdentityKind::as_str).collect(),
        stores: stores.into_iter().map(|s| (s.id.to_string(), s.name)).collect(),
        notice: match done.as_deref() {
            Some("placed") => Some("The hold is in force."),
            Some("released") => Some("The hold is released."),
            _ => None,
        },
    };
    render(&page)
}

/// What every hold form asks: why, who owns it, the matter and when it lapses.
#[derive(Debug, Deserialize)]
pub struct HoldDetails {
    reason: String,
    owner: String,
    #[serde(default)]
    matter: String,
    /// A date (`2027-06-30`): the hold lapses at 00:00 UTC that day.
    #[serde(default)]
    expires: String,
}

impl HoldDetails {
    /// A new hold of `scope` with these details.
    fn hold(&self, scope: HoldScope) -> WebResult<NewHold> {
        let expires = self.expires.trim();
        let expires_at = if expires.is_empty() {
            None
        } else {
            let day = Date::parse(expires, &time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| WebError::invalid_form("`expires` must be a date like 2027-06-30."))?;
            Some(day.midnight().assume_utc())
        };
        Ok(NewHold {
            scope,
            identity: None,
            store_id: None,
            table: None,
            reason: self.reason.clone(),
            owner: self.owner.trim().to_owned(),
            matter: Some(self.matter.trim().to_owned()).filter(|m| !m.is_empty()),
            expires_at,
        })
    }
}

/// The form placing a hold.
#[derive(Debug, Deserialize)]
pub struct PlaceForm {
    csrf: String,
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

async fn place_one(state: &AppState, session: &Session, hold: NewHold) -> WebResult<()> {
    let (_, Json(placed)) = holds::place(State(state.clone()), session.principal.clone(), Body(hold)).await?;
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
    let scope: HoldScope = parse(&form.scope).ok_or_else(|| WebError::invalid_form("Choose what the hold covers."))?;
    let mut hold = form.details.hold(scope)?;
    if scope == HoldScope::Subject {
        let kind: IdentityKind =
            parse(&form.identity_kind).ok_or_else(|| WebError::invalid_form("Choose the kind of identity."))?;
        hold.identity = Some(HeldIdentity { kind, value: form.identity_value });
    }
    if matches!(scope, HoldScope::Table | HoldScope::Store) {
        let id = form.store_id.parse().map_err(|_| WebError::invalid_form("Choose the store."))?;
        hold.store_id = Some(id);
    }
    if scope == HoldScope::Table {
        hold.table = Some(form.table.trim().to_owned());
    }
    place_one(&state, &session, hold).await?;
    Ok(Redirect::to("/console/retention/holds?done=placed").into_response())
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
    let body = ReasonBody { reason: form.reason };
    let _released = holds::release(State(state.clone()), session.principal.clone(), PathParams(id), Body(body)).await?;
    let reason = format!("hold {id}");
    record(&state, &session.operator, OperatorEventKind::HoldReleased, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/retention/holds?done=released").into_response())
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
    for identity in &identities {
        let value = identity.open(&state.keyring).map_err(|e| WebError::internal(&e))?;
        let mut hold = form.details.hold(HoldScope::Subject)?;
        hold.identity = Some(HeldIdentity { kind: identity.kind, value });
        place_one(&state, &session, hold).await?;
    }
    Ok(Redirect::to(&format!("/console/requests/{id}?done=legal-hold")).into_response())
}
