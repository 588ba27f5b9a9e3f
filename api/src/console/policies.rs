//! Retention policies in the console: the new-policy form on the retention page, a policy's
//! page with the same form filled (saving replaces the policy) and its delete button. Each
//! calls the service the JSON API calls ([`crate::services::policies`]) with the operator as
//! principal (admins change policies, every role reads them; built-in policies are refused as
//! there), an invalid form comes back with the API's field errors next to its fields, and every
//! change writes an audit event.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::StoreKind;
use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::entity::store;
use lethe_entities::retention::PolicySpec;
use uuid::Uuid;

use super::actions::CsrfForm;
use super::fields::{FieldErrors, with_status};
use super::policy_form::{FILTER_ROWS, OPERATORS, PolicyForm, StoreOption, borrowed, placements, store_options};
use super::retention;
use super::session::Session;
use super::sign_in::record;
use super::view::{DoneQuery, Nav, when};
use crate::auth::Permission;
use crate::error::{ApiError, ApiResult};
use crate::extract::PathParams;
use crate::services::policies::{self, PolicyView};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebResult, render};

#[derive(Template)]
#[template(path = "console/policy.html")]
struct PolicyPage {
    nav: Nav,
    id: String,
    title: String,
    builtin: bool,
    next_run: Option<String>,
    editable: bool,
    too_many_filters: bool,
    notice: Option<&'static str>,
    stores: Vec<StoreOption>,
    operators: &'static [&'static str],
    values: PolicyForm,
    errors: FieldErrors,
}

/// Renders policy `id`'s page, its form showing `values` (the policy itself when absent).
async fn show(
    state: &AppState,
    session: &Session,
    id: Uuid,
    values: Option<PolicyForm>,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> WebResult<Response> {
    let view = policies::get(state, &session.principal, id).await?;
    let too_many_filters = view.spec.filter.len() > FILTER_ROWS;
    let page = PolicyPage {
        nav: Nav::new(session, "retention"),
        id: view.id.to_string(),
        title: view.spec.name.clone(),
        builtin: view.builtin.is_some(),
        next_run: view.next_run_at.map(when),
        editable: session.can(Permission::ManageRetention) && !too_many_filters,
        too_many_filters,
        notice,
        stores: store_options(state, session.organization.id, view.builtin.is_some()).await?,
        operators: OPERATORS,
        values: values.unwrap_or_else(|| PolicyForm::of(&view.spec)),
        errors,
    };
    render(&page)
}

/// `GET /console/retention/policies/{id}`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    let notice = DoneQuery::of(query).filter(|d| d == "saved").map(|_| "Saved.");
    show(&state, &session, id, None, FieldErrors::default(), notice).await
}

/// The kind of the store a form names (`None` for Lethe's own database or no such store: the
/// API then names the mistake).
async fn kind_of(state: &AppState, organization: Uuid, form: &PolicyForm) -> WebResult<Option<StoreKind>> {
    let Ok(id) = Uuid::parse_str(form.store.trim()) else { return Ok(None) };
    Ok(store::Model::find_in_org(&state.db, organization, id).await?.map(|s| s.kind))
}

/// Puts the API's error `e` on the form: a name taken next to the name (with the API's
/// status), field errors next to their fields (`422`); anything else is the error page.
fn placed(e: ApiError, errors: &mut FieldErrors, rows: &[usize], columns: usize) -> WebResult<StatusCode> {
    if e.code() == "policy_name_taken" {
        errors.add("policy-name", "Name", e.detail());
        return Ok(e.status());
    }
    let all = placements(rows, columns);
    errors.place(e, &borrowed(&all))?;
    Ok(StatusCode::UNPROCESSABLE_ENTITY)
}

/// How many columns an anonymising form names (for placing their errors).
fn columns(form: &PolicyForm) -> usize {
    form.columns.split([',', '\n']).filter(|i| !i.trim().is_empty()).count()
}

/// Checks the session and role, reads the form into a policy, sends it with `send` (the API's
/// create or replace) and writes the audit event `event`. Gives the saved policy, or the form's
/// errors with the status to show them with.
async fn save<F, Fut>(
    state: &AppState,
    session: &Session,
    form: &PolicyForm,
    event: OperatorEventKind,
    send: F,
) -> WebResult<Result<PolicyView, (StatusCode, FieldErrors)>>
where
    F: FnOnce(PolicySpec) -> Fut,
    Fut: Future<Output = ApiResult<PolicyView>>,
{
    session.check_csrf(state, &form.csrf)?;
    session.principal.require(Permission::ManageRetention)?;
    let mut errors = FieldErrors::default();
    let kind = kind_of(state, session.organization.id, form).await?;
    let (spec, rows) = form.spec(kind, &mut errors);
    let Some(spec) = spec.filter(|_| errors.is_empty()) else {
        return Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, errors)));
    };
    match send(spec).await {
        Ok(saved) => {
            let reason = format!("{} ({})", saved.spec.name, saved.id);
            record(state, &session.operator, event, session.ip(), Some(&reason)).await;
            Ok(Ok(saved))
        }
        Err(e) => {
            let status = placed(e, &mut errors, &rows, columns(form))?;
            Ok(Err((status, errors)))
        }
    }
}

/// `POST /console/retention/policies`: creates a policy; an invalid form comes back on the
/// retention page with its errors.
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<PolicyForm>,
) -> WebResult<Response> {
    let send = |spec| policies::create(&state, &session.principal, spec);
    match save(&state, &session, &form, OperatorEventKind::RetentionPolicyCreated, send).await? {
        Ok(_) => Ok(Redirect::to("/console/retention?done=created").into_response()),
        Err((status, errors)) => {
            with_status(retention::show(&state, &session, None, None, Some((form, errors))).await, status)
        }
    }
}

/// `POST /console/retention/policies/{id}`: replaces the policy with the form; an invalid form
/// comes back on the policy's page with its errors.
pub async fn update(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<PolicyForm>,
) -> WebResult<Response> {
    let send = |spec| policies::update(&state, &session.principal, id, spec);
    match save(&state, &session, &form, OperatorEventKind::RetentionPolicyChanged, send).await? {
        Ok(_) => Ok(Redirect::to(&format!("/console/retention/policies/{id}?done=saved")).into_response()),
        Err((status, errors)) => with_status(show(&state, &session, id, Some(form), errors, None).await, status),
    }
}

/// `POST /console/retention/policies/{id}/delete`: deletes the policy (its run history stays).
pub async fn delete(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let view = policies::get(&state, &session.principal, id).await?;
    policies::delete(&state, &session.principal, id).await?;
    let reason = format!("{} ({id})", view.spec.name);
    record(&state, &session.operator, OperatorEventKind::RetentionPolicyDeleted, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/retention?done=deleted").into_response())
}
