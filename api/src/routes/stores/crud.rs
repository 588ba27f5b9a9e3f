//! Registering, listing, changing and deleting stores.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lethe_entities::StoreKind;
use lethe_entities::domain::enums::{RequestState, TaskStatus};
use lethe_entities::entity::store::{self, Connection, seal_connection};
use lethe_entities::entity::{request, store_task};
use lethe_worker::stores::check_url;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Query;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{StoreView, load};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::extract::{Body, PathParams};
use crate::state::AppState;

/// How to reach a store (write-only: never returned).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionInput {
    /// For `postgres`, `mysql`, `sqlite` and `redis` stores: the URL with credentials, e.g.
    /// `postgres://lethe:secret@db.internal:5432/shop`.
    pub url: Option<String>,
    /// For `http` stores: the service's base URL.
    pub base_url: Option<String>,
    /// For `http` stores: the shared secret requests are signed with (at least 16 characters).
    pub signing_secret: Option<String>,
}

/// A new store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "shop", "kind": "postgres", "description": "Web shop database",
    "connection": { "url": "postgres://lethe:secret@db.internal:5432/shop" }
}))]
pub struct NewStore {
    /// Unique name: lower-case letters, digits, `-` and `_`, 1 to 64 characters.
    pub name: String,
    /// Kind.
    pub kind: StoreKind,
    /// What it is (at most 2000 characters).
    pub description: Option<String>,
    /// How to reach it (all kinds but `manual`).
    pub connection: Option<ConnectionInput>,
    /// For `manual` stores: what an operator must do, step by step (required for them).
    pub instructions: Option<String>,
}

/// Changes to a store. The name and kind cannot change (data maps, the ledger and
/// certificates refer to the name).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreChange {
    /// New description.
    pub description: Option<String>,
    /// New connection (replaces the old one).
    pub connection: Option<ConnectionInput>,
    /// New instructions (manual stores).
    pub instructions: Option<String>,
}

fn field(errors: &mut Vec<FieldError>, field: &str, message: &str) {
    errors.push(FieldError { field: field.to_owned(), message: message.to_owned() });
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Validates a connection for `kind`.
fn connection(kind: StoreKind, input: Option<&ConnectionInput>, errors: &mut Vec<FieldError>) -> Option<Connection> {
    match (kind, input) {
        (StoreKind::Manual, None) => None,
        (StoreKind::Manual, Some(_)) => {
            field(errors, "connection", "manual stores have no connection; describe the work in `instructions`");
            None
        }
        (_, None) => {
            field(errors, "connection", "required for this kind of store");
            None
        }
        (StoreKind::Http, Some(c)) => {
            if c.url.is_some() {
                field(errors, "connection.url", "http stores take `base_url` and `signing_secret`");
            }
            let base = c.base_url.clone().unwrap_or_default();
            if let Err(e) = check_url(kind, &base) {
                field(errors, "connection.base_url", &e.to_string());
            }
            let secret = c.signing_secret.clone().unwrap_or_default();
            if secret.chars().count() < 16 {
                field(errors, "connection.signing_secret", "at least 16 characters");
            }
            Some(Connection::Http { base_url: base, signing_secret: secret })
        }
        (_, Some(c)) => {
            if c.base_url.is_some() || c.signing_secret.is_some() {
                field(errors, "connection", "this kind of store takes a `url`");
            }
            let url = c.url.clone().unwrap_or_default();
            if let Err(e) = check_url(kind, &url) {
                field(errors, "connection.url", &e.to_string());
            }
            Some(Connection::Url { url })
        }
    }
}

fn text(value: Option<&String>, name: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.is_some_and(|v| v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t')) {
        field(errors, name, &format!("at most {max} printable characters"));
    }
}

/// List the organization's stores.
#[utoipa::path(
    get, path = "/v1/stores", tag = "stores",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stores, by name", body = [StoreView]),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<StoreView>>> {
    principal.require(Permission::ReadStores)?;
    let stores = store::Model::all_in_org(&state.db, principal.organization_id).await?;
    Ok(Json(stores.iter().map(|s| StoreView::of(s, &state.keyring)).collect()))
}

/// Register a store. Its connection secret is encrypted at rest and never returned.
#[utoipa::path(
    post, path = "/v1/stores", tag = "stores",
    request_body = NewStore,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = StoreView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`store_name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body<NewStore>,
) -> ApiResult<(StatusCode, Json<StoreView>)> {
    principal.require(Permission::ManageStores)?;
    let mut errors = Vec::new();
    if !valid_name(&body.name) {
        field(
            &mut errors,
            "name",
            "1 to 64 characters: lower-case letters, digits, `-` and `_`, starting with a letter or digit",
        );
    }
    let conn = connection(body.kind, body.connection.as_ref(), &mut errors);
    text(body.description.as_ref(), "description", 2000, &mut errors);
    text(body.instructions.as_ref(), "instructions", 10_000, &mut errors);
    if body.kind == StoreKind::Manual && body.instructions.as_ref().is_none_or(|i| i.trim().is_empty()) {
        field(&mut errors, "instructions", "manual stores need instructions for the operator");
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let taken = store::Entity::find()
        .filter(store::Column::OrganizationId.eq(principal.organization_id))
        .filter(store::Column::Name.eq(&body.name))
        .count(&state.db)
        .await?;
    if taken > 0 {
        return Err(ApiError::conflict("store_name_taken", "another store of this organization has this name"));
    }
    let (id, now) = (Uuid::now_v7(), OffsetDateTime::now_utc());
    let created = store::ActiveModel {
        id: Set(id),
        organization_id: Set(principal.organization_id),
        name: Set(body.name),
        kind: Set(body.kind),
        description: Set(body.description),
        connection_ciphertext: Set(conn.map(|c| seal_connection(&state.keyring, principal.organization_id, id, &c))),
        instructions: Set(body.instructions),
        data_map: Set(None),
        data_map_version: Set(0),
        data_map_saved_at: Set(None),
        proposed_map: Set(None),
        discovery_report: Set(None),
        discovered_at: Set(None),
        last_test_at: Set(None),
        last_test_ok: Set(None),
        last_test_code: Set(None),
        last_test_message: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&state.db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ApiError::conflict("store_name_taken", "another store of this organization has this name")
        }
        _ => e.into(),
    })?;
    tracing::info!(store_id = %created.id, kind = created.kind.as_str(), by = ?principal.actor().id, "store registered");
    Ok((StatusCode::CREATED, Json(StoreView::of(&created, &state.keyring))))
}

/// One store.
#[utoipa::path(
    get, path = "/v1/stores/{id}", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The store", body = StoreView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`store_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<StoreView>> {
    principal.require(Permission::ReadStores)?;
    let store = load(&state, principal.organization_id, id).await?;
    Ok(Json(StoreView::of(&store, &state.keyring)))
}

/// Change a store's description, connection or instructions.
#[utoipa::path(
    put, path = "/v1/stores/{id}", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    request_body = StoreChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = StoreView),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`store_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    Body(body): Body<StoreChange>,
) -> ApiResult<Json<StoreView>> {
    principal.require(Permission::ManageStores)?;
    let store = load(&state, principal.organization_id, id).await?;
    let mut errors = Vec::new();
    let conn = body.connection.as_ref().map(|c| connection(store.kind, Some(c), &mut errors));
    text(body.description.as_ref(), "description", 2000, &mut errors);
    text(body.instructions.as_ref(), "instructions", 10_000, &mut errors);
    if body.instructions.is_some() && store.kind != StoreKind::Manual {
        field(&mut errors, "instructions", "only manual stores have instructions");
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let kind = store.kind;
    let mut active = store.into_active_model();
    if let Some(d) = body.description {
        active.description = Set(Some(d));
    }
    if let Some(Some(c)) = conn {
        active.connection_ciphertext = Set(Some(seal_connection(&state.keyring, principal.organization_id, id, &c)));
        active.last_test_at = Set(None);
        active.last_test_ok = Set(None);
        active.last_test_code = Set(None);
        active.last_test_message = Set(None);
    }
    if let Some(i) = body.instructions.filter(|_| kind == StoreKind::Manual) {
        active.instructions = Set(Some(i));
    }
    active.updated_at = Set(OffsetDateTime::now_utc());
    let updated = active.update(&state.db).await?;
    state.stores.forget(id).await;
    tracing::info!(store_id = %id, by = ?principal.actor().id, "store changed");
    Ok(Json(StoreView::of(&updated, &state.keyring)))
}

/// Delete a store. Refused while a request in progress still has work for it.
#[utoipa::path(
    delete, path = "/v1/stores/{id}", tag = "stores",
    params(("id" = Uuid, Path, description = "Store id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthenticated` or `invalid_token`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`store_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`store_in_use`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    principal.require(Permission::ManageStores)?;
    let store = load(&state, principal.organization_id, id).await?;
    let open_requests = Query::select()
        .column(request::Column::Id)
        .from(request::Entity)
        .and_where(request::Column::OrganizationId.eq(principal.organization_id))
        .and_where(request::Column::State.eq(RequestState::InProgress))
        .to_owned();
    let busy = store_task::Entity::find()
        .filter(store_task::Column::StoreId.eq(store.id))
        .filter(store_task::Column::Status.is_not_in([TaskStatus::Done, TaskStatus::Waived]))
        .filter(store_task::Column::RequestId.in_subquery(open_requests))
        .count(&state.db)
        .await?;
    if busy > 0 {
        return Err(ApiError::conflict(
            "store_in_use",
            format!("{busy} request(s) in progress still have work in this store; finish or waive it first"),
        ));
    }
    store::Entity::delete_by_id(store.id).exec(&state.db).await?;
    state.stores.forget(id).await;
    tracing::info!(store_id = %id, by = ?principal.actor().id, "store deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["shop", "crm-eu", "a", "billing_2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Shop", "-x", "a b", "ä", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
