//! The retention page: policies with their next run, last run and rows purged; a dry-run preview;
//! running a policy now; recent runs with stop and resume. Actions call the services the JSON API
//! calls ([`crate::services::retention_runs`]) with the operator as principal (admins and
//! operators; auditors only read) and write an audit event. Admins also find the new-policy form
//! here ([`super::policies`]).

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::entity::{retention_run, store};
use uuid::Uuid;

use super::actions::CsrfForm;
use super::fields::FieldErrors;
use super::policy_form::{OPERATORS, PolicyForm};
use super::policy_form::{StoreOption, store_options};
use super::session::Session;
use super::sign_in::record;
use super::view::{DoneQuery, Nav, name, when};
use crate::auth::Permission;
use crate::extract::PathParams;
use crate::services::policies::{self, PolicyView};
use crate::services::retention_runs;
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebResult, render};

/// Runs the page shows.
pub const RUNS: u64 = 25;

struct Policy {
    id: String,
    name: String,
    store: String,
    target: String,
    max_age: String,
    schedule: String,
    enabled: bool,
    builtin: bool,
    next_run: Option<String>,
    last_run: Option<String>,
    last_rows: Option<i64>,
}

struct Run {
    id: String,
    policy: String,
    trigger: String,
    state: String,
    rows: i64,
    batches: i32,
    started: Option<String>,
    finished: Option<String>,
    error: Option<String>,
    stoppable: bool,
    resumable: bool,
}

/// A dry run's result, for the page.
pub(super) struct Preview {
    policy: String,
    cutoff: String,
    rows: u64,
    oldest: Option<String>,
    newest: Option<String>,
    held_by: Option<String>,
    sample: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/retention.html")]
struct RetentionPage {
    nav: Nav,
    policies: Vec<Policy>,
    runs: Vec<Run>,
    run: bool,
    preview: Option<Preview>,
    notice: Option<&'static str>,
    manage: bool,
    stores: Vec<StoreOption>,
    operators: &'static [&'static str],
    values: PolicyForm,
    errors: FieldErrors,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "run" => "The run is queued: it shows below.",
        "stop" => "The run stops after the batch in flight.",
        "resume" => "The run continues from where it stopped.",
        "created" => "The policy is saved: it shows below with its next run.",
        "deleted" => "The policy is deleted; its runs stay in the history.",
        _ => return None,
    })
}

/// Renders the page with a dry run, a notice, and the new-policy form as typed with its errors
/// (an empty form when absent).
pub(super) async fn show(
    state: &AppState,
    session: &Session,
    preview: Option<Preview>,
    notice: Option<&'static str>,
    form: Option<(PolicyForm, FieldErrors)>,
) -> WebResult<Response> {
    let views = policies::list(state, &session.principal).await?;
    let org = session.organization.id;
    let stores: HashMap<Uuid, String> =
        store::Model::all_in_org(&state.db, org).await?.into_iter().map(|s| (s.id, s.name)).collect();
    let recent = retention_run::Model::recent(&state.db, org, None, RUNS).await?;
    let names: HashMap<Uuid, String> = views.iter().map(|p| (p.id, p.spec.name.clone())).collect();
    let run = session.can(Permission::RunRetention);
    let mut last: HashMap<Uuid, &retention_run::Model> = HashMap::new();
    for r in &recent {
        last.entry(r.policy_id).or_insert(r);
    }
    let policies = views
        .iter()
        .map(|p: &PolicyView| {
            let latest = last.get(&p.id);
            Policy {
                id: p.id.to_string(),
                name: p.spec.name.clone(),
                store: stores.get(&p.spec.store_id).cloned().unwrap_or_else(|| "Lethe".to_owned()),
                target: p.spec.table.clone().or_else(|| p.spec.key_pattern.clone()).unwrap_or_default(),
                max_age: p.spec.max_age.clone(),
                schedule: p.spec.schedule.clone().unwrap_or_else(|| "on demand".to_owned()),
                enabled: p.spec.enabled,
                builtin: p.builtin.is_some(),
                next_run: p.next_run_at.map(when),
                last_run: latest.map(|r| format!("{} {}", name(&r.state), when(r.finished_at.unwrap_or(r.created_at)))),
                last_rows: latest.map(|r| r.rows),
            }
        })
        .collect();
    let runs = recent
        .iter()
        .map(|r| Run {
            id: r.id.to_string(),
            policy: names.get(&r.policy_id).cloned().unwrap_or_else(|| r.policy_id.to_string()),
            trigger: name(&r.trigger),
            state: name(&r.state),
            rows: r.rows,
            batches: r.batches,
            started: r.started_at.map(when),
            finished: r.finished_at.map(when),
            error: r.error_code.clone().map(|c| format!("{c}: {}", r.error_message.clone().unwrap_or_default())),
            stoppable: run && matches!(r.state, retention_run::RunState::Queued | retention_run::RunState::Running),
            resumable: run && r.state == retention_run::RunState::Stopped,
        })
        .collect();
    let manage = session.can(Permission::ManageRetention);
    let (values, errors) = form.unwrap_or_else(|| (PolicyForm::new_policy(), FieldErrors::default()));
    let page = RetentionPage {
        nav: Nav::new(session, "retention"),
        policies,
        runs,
        run,
        preview,
        notice,
        manage,
        stores: if manage { store_options(state, org, false).await? } else { Vec::new() },
        operators: OPERATORS,
        values,
        errors,
    };
    render(&page)
}

/// `GET /console/retention`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    let done = DoneQuery::of(query);
    show(&state, &session, None, notice(done.as_deref()), None).await
}

/// `POST /console/retention/policies/{id}/preview`: the dry run, shown above the policies.
pub async fn preview(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let found = retention_runs::preview(&state, &session.principal, id).await?;
    let policy = policies::load(&state, session.organization.id, id).await?;
    let reason = format!("{}: {} row(s) past the age", policy.name, found.rows);
    record(&state, &session.operator, OperatorEventKind::RetentionPreviewed, session.ip(), Some(&reason)).await;
    let preview = Preview {
        policy: policy.name,
        cutoff: when(found.cutoff),
        rows: found.rows,
        oldest: found.oldest,
        newest: found.newest,
        held_by: found.held_by.map(|h| h.to_string()),
        sample: found.sample_keys.unwrap_or_default().into_iter().map(|key| key.join(", ")).collect(),
    };
    show(&state, &session, Some(preview), None, None).await
}

/// `POST /console/retention/policies/{id}/run`.
pub async fn run_now(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let run = retention_runs::run_now(&state, &session.principal, id).await?;
    let reason = format!("policy {id}, run {}", run.id);
    record(&state, &session.operator, OperatorEventKind::RetentionRunQueued, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/retention?done=run").into_response())
}

/// `POST /console/retention/runs/{id}/stop`.
pub async fn stop(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let run = retention_runs::stop(&state, &session.principal, id).await?;
    let reason = format!("run {id}: {}", name(&run.state));
    record(&state, &session.operator, OperatorEventKind::RetentionRunStopped, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/retention?done=stop").into_response())
}

/// `POST /console/retention/runs/{id}/resume`.
pub async fn resume(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let _run = retention_runs::resume(&state, &session.principal, id).await?;
    let reason = format!("run {id}");
    record(&state, &session.operator, OperatorEventKind::RetentionRunResumed, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/retention?done=resume").into_response())
}
