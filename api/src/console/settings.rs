//! The settings page (admins only): operators and their roles (create with a one-time password
//! shown once, change the role, disable or re-enable, never the last admin; reset another
//! operator's second factor with a reason), API keys (in [`super::keys`]), the organization's
//! defaults (auto-approval, export link lifetime, MFA required, the `other` regime's deadlines and
//! the queue's due-soon window, beside the legal deadlines of the other regimes, read-only) and the
//! ages of Lethe's built-in retention policies. Every change calls the service the JSON API calls
//! ([`crate::services::operators`], [`crate::services::organization`],
//! [`crate::services::policies`]) with the admin as principal and writes an audit event. A new
//! deadline applies to requests received afterwards; existing requests keep their due dates.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::domain::enums::Role;
use lethe_entities::entity::operator;
use lethe_entities::entity::operator_event::OperatorEventKind;
use sea_orm::{ColumnTrait, EntityTrait, Iterable, QueryFilter, QueryOrder};
use serde::Deserialize;
use uuid::Uuid;

use super::keys::{Key, keys};
use super::privacy::PrivacyFields;
use super::session::Session;
use super::sign_in::record;
use super::view::{DoneQuery, Nav, SecretPage, name, parse, words};
use crate::auth::Permission;
use crate::auth::api_key::SCOPES;
use crate::extract::PathParams;
use crate::services::operators::{self, NewOperator, OperatorChange};
use crate::services::organization::deadlines::{LegalDeadlines, PeriodUnit, PeriodView};
use crate::services::organization::{self, OrganizationChange};
use crate::services::policies;
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebError, WebResult, render};

struct Operator {
    id: String,
    email: String,
    role: String,
    disabled: bool,
    mfa: bool,
    me: bool,
}

/// One regime's legal deadlines, in words.
struct Legal {
    regime: String,
    deadline: String,
    extension: String,
    acknowledgement: String,
    source: &'static str,
}

/// A period in words (`1 month`, `45 days`).
fn period(p: &PeriodView) -> String {
    let unit = match (p.unit, p.count) {
        (PeriodUnit::Months, 1) => "month",
        (PeriodUnit::Months, _) => "months",
        (PeriodUnit::Days, 1) => "day",
        (PeriodUnit::Days, _) => "days",
    };
    format!("{} {unit}", p.count)
}

impl From<&LegalDeadlines> for Legal {
    fn from(l: &LegalDeadlines) -> Self {
        Self {
            regime: words(&l.regime),
            deadline: period(&l.deadline),
            extension: l.extension.as_ref().map(|e| format!("once, by {}", period(e))).unwrap_or_else(|| "none".into()),
            acknowledgement: l
                .acknowledgement_business_days
                .map(|d| format!("within {d} business days"))
                .unwrap_or_else(|| "—".into()),
            source: l.source,
        }
    }
}

struct Builtin {
    id: String,
    name: String,
    target: String,
    max_age: String,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    nav: Nav,
    operators: Vec<Operator>,
    roles: Vec<String>,
    keys: Vec<Key>,
    scopes: Vec<&'static str>,
    auto_approve: bool,
    mfa_required: bool,
    publish_metrics: bool,
    portal_metrics: String,
    export_link_days: String,
    effective_export_link_days: i32,
    other_days: i32,
    other_extension_days: i32,
    due_soon_days: i32,
    legal: Vec<Legal>,
    builtins: Vec<Builtin>,
    privacy: PrivacyFields,
    notice: Option<&'static str>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "operator" => "The operator is changed; their sessions and tokens were ended.",
        "mfa-reset" => "The operator's second factor is reset; their sessions and tokens were ended.",
        "revoked" => "The API key is revoked.",
        "organization" => "The organization's defaults are saved.",
        "privacy" => "The privacy notice is saved; access packages made from now on carry it.",
        "retention" => "The built-in policy's age is saved.",
        _ => return None,
    })
}

/// `GET /console/settings`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    session.principal.require(Permission::ManageOperators)?;
    let done = DoneQuery::of(query);
    let org = session.organization.id;
    let operators = operator::Entity::find()
        .filter(operator::Column::OrganizationId.eq(org))
        .order_by_asc(operator::Column::CreatedAt)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| Operator {
            id: o.id.to_string(),
            role: name(&o.role),
            disabled: o.disabled,
            mfa: o.has_mfa(),
            me: o.id == session.operator.id,
            email: o.email,
        })
        .collect();
    let settings = organization::get_settings(&state, &session.principal).await?;
    let all = policies::list(&state, &session.principal).await?;
    let builtins = all
        .into_iter()
        .filter(|p| p.builtin.is_some())
        .map(|p| Builtin {
            id: p.id.to_string(),
            target: p.spec.table.clone().unwrap_or_default(),
            name: p.spec.name,
            max_age: p.spec.max_age,
        })
        .collect();
    let page = SettingsPage {
        nav: Nav::new(&session, "settings"),
        operators,
        roles: Role::iter().map(|r| name(&r)).collect(),
        keys: keys(&state, &session).await?,
        scopes: SCOPES.to_vec(),
        auto_approve: settings.auto_approve,
        mfa_required: settings.mfa_required,
        publish_metrics: settings.portal.publish_metrics,
        portal_metrics: format!("{}metrics", settings.portal.path),
        export_link_days: settings.export_link_days.map(|d| d.to_string()).unwrap_or_default(),
        effective_export_link_days: settings.effective_export_link_days,
        other_days: settings.deadlines.other_days,
        other_extension_days: settings.deadlines.other_extension_days,
        due_soon_days: settings.deadlines.due_soon_days,
        legal: settings.deadlines.legal.iter().map(Legal::from).collect(),
        builtins,
        privacy: PrivacyFields::from(&settings.privacy),
        notice: notice(done.as_deref()),
    };
    render(&page)
}

/// The form creating an operator.
#[derive(Debug, Deserialize)]
pub struct NewOperatorForm {
    csrf: String,
    email: String,
    role: String,
}

fn role(text: &str) -> WebResult<Role> {
    parse(text).ok_or_else(|| WebError::invalid_form("Choose one of the listed roles."))
}

/// `POST /console/settings/operators`: creates an operator and shows their one-time password
/// once.
pub async fn create_operator(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<NewOperatorForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let body = NewOperator { email: form.email, role: role(&form.role)?, password: None };
    let created = operators::create(&state, &session.principal, body).await?;
    let reason = format!("operator {} as {}", created.operator.id, name(&created.operator.role));
    record(&state, &session.operator, OperatorEventKind::OperatorCreated, session.ip(), Some(&reason)).await;
    let page = SecretPage {
        nav: Nav::new(&session, "settings"),
        what: format!(
            "The one-time password of {}. Give it to them in person or over a channel you trust; they change it after signing in.",
            created.operator.email
        ),
        secret: created.initial_password.unwrap_or_default(),
        back: "/console/settings",
    };
    render(&page)
}

/// The form changing an operator: a new role, or disabling (`disabled=true`) and re-enabling.
#[derive(Debug, Deserialize)]
pub struct OperatorForm {
    csrf: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    disabled: Option<String>,
}

/// `POST /console/settings/operators/{id}`.
pub async fn change_operator(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<OperatorForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let disabled = match form.disabled.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(WebError::invalid_form("`disabled` is true or false.")),
    };
    let body = OperatorChange { role: form.role.as_deref().map(role).transpose()?, disabled };
    let changed = operators::update(&state, &session.principal, id, body).await?;
    let state_text = if changed.disabled { "disabled" } else { "active" };
    let reason = format!("operator {id}: {}, {state_text}", name(&changed.role));
    record(&state, &session.operator, OperatorEventKind::OperatorChanged, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/settings?done=operator").into_response())
}

/// The form resetting another operator's second factor.
#[derive(Debug, Deserialize)]
pub struct MfaResetForm {
    csrf: String,
    reason: String,
}

/// `POST /console/settings/operators/{id}/mfa-reset`: another operator's second factor (never
/// the admin's own); the service records the audit event with the reason.
pub async fn reset_mfa(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<MfaResetForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let _reset = operators::reset_mfa(&state, &session.principal, id, &form.reason).await?;
    Ok(Redirect::to("/console/settings?done=mfa-reset").into_response())
}

/// The organization's defaults.
#[derive(Debug, Deserialize)]
pub struct OrganizationForm {
    csrf: String,
    #[serde(default)]
    auto_approve: Option<String>,
    #[serde(default)]
    mfa_required: Option<String>,
    #[serde(default)]
    publish_metrics: Option<String>,
    #[serde(default)]
    export_link_days: String,
    #[serde(default)]
    other_days: String,
    #[serde(default)]
    other_extension_days: String,
    #[serde(default)]
    due_soon_days: String,
}

/// A number of days typed into the form (`None` when empty); `what` names the field in the
/// error.
fn days(text: &str, what: &str) -> WebResult<Option<i32>> {
    match text.trim() {
        "" => Ok(None),
        text => {
            text.parse::<i32>().map(Some).map_err(|_| WebError::invalid_form(format!("{what} is a number of days.")))
        }
    }
}

/// `POST /console/settings/organization`.
pub async fn organization(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<OrganizationForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    // The deadlines left empty stay as they are.
    let mut deadlines = serde_json::Map::new();
    for (field, text, what) in [
        ("other_days", &form.other_days, "The other regime's deadline"),
        ("other_extension_days", &form.other_extension_days, "The other regime's extension"),
        ("due_soon_days", &form.due_soon_days, "The due-soon window"),
    ] {
        if let Some(n) = days(text, what)? {
            deadlines.insert(field.into(), n.into());
        }
    }
    // The same JSON the API takes: fields the form does not have stay as they are.
    let change: OrganizationChange = serde_json::from_value(serde_json::json!({
        "auto_approve": form.auto_approve.is_some(),
        "mfa_required": form.mfa_required.is_some(),
        "portal": { "publish_metrics": form.publish_metrics.is_some() },
        "export_link_days": days(&form.export_link_days, "The export link lifetime")?,
        "deadlines": deadlines,
    }))
    .map_err(|e| WebError::internal(&e))?;
    let view = organization::update_settings(&state, &session.principal, change).await?;
    let d = &view.deadlines;
    let reason = format!(
        "auto-approval {}, MFA required {}, metrics published {}, export links {} days, other regime {} days \
         (extension {}), due soon {} days",
        view.auto_approve,
        view.mfa_required,
        view.portal.publish_metrics,
        view.effective_export_link_days,
        d.other_days,
        d.other_extension_days,
        d.due_soon_days
    );
    record(&state, &session.operator, OperatorEventKind::OrganizationChanged, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/settings?done=organization").into_response())
}

/// A built-in policy's new age.
#[derive(Debug, Deserialize)]
pub struct AgeForm {
    csrf: String,
    max_age: String,
}

/// `POST /console/settings/retention/{id}`: the age of one of Lethe's built-in retention
/// policies (what it works on stays fixed; the API checks the duration).
pub async fn builtin_age(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    Form(form): Form<AgeForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    session.principal.require(Permission::ManageRetention)?;
    let current = policies::get(&state, &session.principal, id).await?;
    if current.builtin.is_none() {
        return Err(WebError::not_found());
    }
    let mut spec = current.spec;
    spec.max_age = form.max_age.trim().to_owned();
    let saved = policies::update(&state, &session.principal, id, spec).await?;
    let reason = format!("{}: {}", saved.spec.name, saved.spec.max_age);
    record(&state, &session.operator, OperatorEventKind::RetentionPolicyChanged, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/settings?done=retention").into_response())
}
