//! The request page: verification, deadlines, the subject's identities (for roles that see
//! them), the checklist of store and recipient tasks, the timeline, the access export (its
//! state, what it holds per store and table, until when its link works and how many downloads
//! are left), the actions the state machine allows, and the certificate of erasure.

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use lethe_entities::StoreKind;
use lethe_entities::domain::crypto::CryptoError;
use lethe_entities::domain::enums::{ActorKind, RecipientStatus, RequestKind, RequestState, TaskStatus};
use lethe_entities::domain::lifecycle::{Action, next_state};
use lethe_entities::entity::{
    export, operator, recipient_task, request, request_event, store, store_task, subject_identity,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::fields::FieldErrors;
use super::hold_form::HoldDetails;
use super::session::Session;
use super::view::{DaysLeft, DoneQuery, Nav, name, when, words};
use crate::auth::Permission;
use crate::error::request_not_found;
use crate::extract::PathParams;
use crate::routes::requests::certificate::{CertificateFormat, respond};
use crate::services::certificates;
use crate::services::requests::DenialGround;
use crate::state::AppState;
use crate::web::{WebResult, render};

/// The notice after an action (`?done=`); unknown values show nothing.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "approve" => "Approved. Fulfilment has started.",
        "deny" => "Denied.",
        "extend" => "The deadline was extended.",
        "cancel" => "Canceled.",
        "retry" => "Fulfilment starts again.",
        "hold" => "Put on hold.",
        "resume" => "Resumed.",
        "locate" => "Locating again.",
        "task" => "The checklist item is settled.",
        "recipient" => "The recipient task is settled.",
        "legal-hold" => "A legal hold is in force on this person's identities.",
        _ => return None,
    })
}

struct Identity {
    kind: String,
    value: Option<String>,
}

struct Event {
    at: String,
    who: String,
    what: String,
    change: Option<String>,
    reason: Option<String>,
    ip: Option<String>,
}

struct Task {
    id: String,
    store: String,
    kind: String,
    status: String,
    counts: Vec<(String, u64)>,
    total: i64,
    error: Option<String>,
    attempts: i32,
    instructions: Option<String>,
    /// A manual (or HTTP) task waiting for a person.
    completable: bool,
    /// An access request's manual task takes a file.
    attachment: bool,
    waivable: bool,
}

struct Recipient {
    id: String,
    store: String,
    recipient: String,
    contact: Option<String>,
    instructions: String,
    tables: String,
    status: String,
    settled: Option<String>,
    waiting: bool,
}

struct Export {
    state: String,
    rows: i64,
    /// Rows per store and table (counts, never values).
    counts: Vec<(String, String, u64)>,
    ready: Option<String>,
    mailed: Option<String>,
    expires: Option<String>,
    downloads_left: i32,
    max_downloads: i32,
    purged: Option<String>,
}

/// The prefix of the ids of the request page's legal-hold fields (`lh-reason`, ...).
pub const HOLD_PREFIX: &str = "lh";

/// The request page's legal-hold form: what it shows and its errors (it opens when it has any).
#[derive(Debug, Default)]
pub struct LegalHoldForm {
    /// What was typed.
    pub values: HoldDetails,
    /// The errors next to the fields.
    pub errors: FieldErrors,
}

/// Which actions the page offers.
struct Offers {
    approve: bool,
    deny: bool,
    extend: bool,
    cancel: bool,
    retry: bool,
    hold: bool,
    resume: bool,
    locate: bool,
}

#[derive(Template)]
#[template(path = "console/request.html")]
struct RequestPage {
    nav: Nav,
    id: String,
    kind: String,
    regime: String,
    state: String,
    received: String,
    due: String,
    original_due: Option<String>,
    acknowledgement_due: Option<String>,
    extension_reason: Option<String>,
    verified: Option<String>,
    denial_reason: Option<String>,
    closed: Option<String>,
    days: DaysLeft,
    identities: Vec<Identity>,
    identities_hidden: bool,
    message: Option<String>,
    timeline: Vec<Event>,
    tasks: Vec<Task>,
    recipients: Vec<Recipient>,
    export: Option<Export>,
    /// An access request whose package is not started yet.
    export_pending: bool,
    certificate: bool,
    manage: bool,
    admin: bool,
    legal_hold: bool,
    hold_form: LegalHoldForm,
    offers: Offers,
    grounds: Vec<(String, String)>,
    notice: Option<&'static str>,
}

fn allowed(state: RequestState, action: Action) -> bool {
    next_state(state, action).is_ok()
}

/// The caller's organization's request `id`, or the page for an unknown one.
pub async fn find(state: &AppState, session: &Session, id: Uuid) -> WebResult<request::Model> {
    let found = request::Model::find_in_org(&state.db, session.organization.id, id).await?;
    found.ok_or_else(|| request_not_found().into())
}

/// `GET /console/requests/{id}`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
    query: Result<Query<DoneQuery>, QueryRejection>,
) -> WebResult<Response> {
    let done = DoneQuery::of(query);
    show(&state, &session, id, notice(done.as_deref()), LegalHoldForm::default()).await
}

/// Renders request `id`'s page with `notice` and the legal-hold form as given.
pub async fn show(
    state: &AppState,
    session: &Session,
    id: Uuid,
    notice: Option<&'static str>,
    hold_form: LegalHoldForm,
) -> WebResult<Response> {
    session.principal.require(Permission::ReadRequests)?;
    let r = find(state, session, id).await?;
    let reveal = session.can(Permission::ReadIdentities);
    let (identities, message) = subject(state, &r, reveal).await?;
    let (manage, admin) = (session.can(Permission::ManageRequests), session.can(Permission::WaiveTasks));
    let (tasks, locate) = tasks(state, &r, manage, admin).await?;
    let export = export_view(state, &r).await?;
    let export_pending = export.is_none()
        && r.kind == RequestKind::Access
        && matches!(r.state, RequestState::InProgress | RequestState::OnHold);
    let page = RequestPage {
        nav: Nav::new(session, "queue"),
        id: r.id.to_string(),
        kind: words(&r.kind),
        regime: words(&r.regime),
        state: name(&r.state),
        received: when(r.received_at),
        due: when(r.due_at),
        original_due: (r.original_due_at != r.due_at).then(|| when(r.original_due_at)),
        acknowledgement_due: r.acknowledgement_due_at.map(when),
        extension_reason: r.extension_reason(&state.keyring)?,
        verified: r.verified_at.map(when),
        denial_reason: r.denial_reason(&state.keyring)?,
        closed: r.closed_at.map(when),
        days: DaysLeft::of(&r, OffsetDateTime::now_utc(), session.organization.due_soon_days),
        identities,
        identities_hidden: !reveal,
        message,
        timeline: timeline(state, &r).await?,
        tasks,
        recipients: recipients(state, &r).await?,
        export,
        export_pending,
        certificate: r.kind == RequestKind::Erasure && r.state == RequestState::Completed,
        manage,
        admin,
        legal_hold: session.can(Permission::ManageHolds),
        hold_form,
        offers: offers(&r, manage, locate),
        grounds: grounds(),
        notice,
    };
    render(&page)
}

/// The subject's identities and message, decrypted only for those who may read them.
async fn subject(state: &AppState, r: &request::Model, reveal: bool) -> WebResult<(Vec<Identity>, Option<String>)> {
    let (org, id) = (r.organization_id, r.id);
    let identities = subject_identity::Model::of_request(&state.db, org, id)
        .await?
        .iter()
        .map(|i| Identity { kind: words(&i.kind), value: if reveal { i.open(&state.keyring).ok() } else { None } })
        .collect();
    let message = r.message_ciphertext.as_ref().filter(|_| reveal).and_then(|blob| {
        let plain = state.keyring.decrypt(blob, &request::Model::message_context(org, id)).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    });
    Ok((identities, message))
}

/// The timeline, operators named by their e-mail address.
async fn timeline(state: &AppState, r: &request::Model) -> WebResult<Vec<Event>> {
    let events = request_event::Model::timeline(&state.db, r.organization_id, r.id).await?;
    let actor_ids: Vec<Uuid> =
        events.iter().filter(|e| e.actor_kind == ActorKind::Operator).filter_map(|e| e.actor_id).collect();
    let operators: HashMap<Uuid, String> = operator::Entity::find()
        .filter(operator::Column::OrganizationId.eq(r.organization_id))
        .filter(operator::Column::Id.is_in(actor_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.email))
        .collect();
    let keyring = &state.keyring;
    let events = events.into_iter().map(|e| {
        Ok(Event {
            reason: e.reason(keyring)?,
            at: when(e.at),
            who: match (e.actor_kind, e.actor_id) {
                (ActorKind::Operator, Some(op)) => {
                    operators.get(&op).cloned().unwrap_or_else(|| format!("operator {op}"))
                }
                (kind, _) => words(&kind),
            },
            what: words(&e.kind),
            change: e.from_state.zip(e.to_state).map(|(a, b)| format!("{} → {}", name(&a), name(&b))),
            ip: e.ip_address,
        })
    });
    Ok(events.collect::<Result<_, CryptoError>>()?)
}

/// The store tasks with what the operator may do to each, and whether locating again is offered.
async fn tasks(state: &AppState, r: &request::Model, manage: bool, admin: bool) -> WebResult<(Vec<Task>, bool)> {
    let org = r.organization_id;
    let in_progress = r.state == RequestState::InProgress;
    // Tasks are settled by hand while the request is in progress or failed (see
    // `services::tasks::waive`).
    let settles = in_progress || r.state == RequestState::Failed;
    let store_rows = store::Entity::find().filter(store::Column::OrganizationId.eq(org)).all(&state.db).await?;
    let instructions: HashMap<Uuid, String> =
        store_rows.into_iter().filter_map(|s| Some((s.id, s.instructions?))).collect();
    let store_tasks = store_task::Model::of_request(&state.db, org, r.id).await?;
    let locate = manage && in_progress && store_tasks.iter().any(|t| t.status == TaskStatus::Failed);
    let tasks = store_tasks
        .iter()
        .map(|t| {
            let open = !matches!(t.status, TaskStatus::Done | TaskStatus::Waived | TaskStatus::Erasing);
            Task {
                id: t.id.to_string(),
                store: t.store_name.clone(),
                kind: name(&t.store_kind),
                status: name(&t.status),
                counts: t.count_map().into_iter().collect(),
                total: t.total_rows,
                error: t.error_code.clone().map(|code| match &t.error_message {
                    Some(m) => format!("{code}: {m}"),
                    None => code,
                }),
                attempts: t.attempts,
                instructions: instructions.get(&t.store_id).cloned(),
                completable: manage && settles && !t.store_kind.is_automated() && t.status == TaskStatus::Waiting,
                attachment: r.kind == RequestKind::Access && t.store_kind == StoreKind::Manual,
                waivable: admin && settles && open,
            }
        })
        .collect();
    Ok((tasks, locate))
}

/// The recipients (Art. 19) to notify.
async fn recipients(state: &AppState, r: &request::Model) -> WebResult<Vec<Recipient>> {
    let in_progress = r.state == RequestState::InProgress;
    Ok(recipient_task::Model::of_request(&state.db, r.organization_id, r.id)
        .await?
        .iter()
        .map(|t| Recipient {
            id: t.id.to_string(),
            store: t.store_name.clone(),
            recipient: t.recipient.clone(),
            contact: t.contact.clone(),
            instructions: t.instructions.clone(),
            tables: t.table_list().join(", "),
            status: name(&t.status),
            settled: t.settled_at.map(when),
            waiting: t.status == RecipientStatus::Waiting && in_progress,
        })
        .collect())
}

/// The access export's state, counts, expiry and downloads left.
async fn export_view(state: &AppState, r: &request::Model) -> WebResult<Option<Export>> {
    Ok(export::Model::of_request(&state.db, r.organization_id, r.id).await?.map(|e| Export {
        state: name(&e.state),
        rows: e.row_count,
        counts: e
            .count_map()
            .into_iter()
            .flat_map(|(store, tables)| tables.into_iter().map(move |(table, n)| (store.clone(), table, n)))
            .collect(),
        ready: e.ready_at.map(when),
        mailed: e.mailed_at.map(when),
        expires: e.expires_at.map(when),
        downloads_left: (e.max_downloads - e.downloads).max(0),
        max_downloads: e.max_downloads,
        purged: e.purged_at.map(when),
    }))
}

/// The actions the state machine allows now, for an operator who may manage requests.
fn offers(r: &request::Model, manage: bool, locate: bool) -> Offers {
    let s = r.state;
    Offers {
        approve: manage && allowed(s, Action::Approve),
        deny: manage && allowed(s, Action::Deny),
        extend: manage && !s.is_terminal() && r.extended_at.is_none() && s != RequestState::IdentityUnverified,
        cancel: manage && allowed(s, Action::Cancel { by_subject: false }),
        retry: manage && allowed(s, Action::Retry),
        hold: manage && allowed(s, Action::Hold),
        resume: manage && s == RequestState::OnHold,
        locate,
    }
}

/// The denial form's grounds: (value, words).
fn grounds() -> Vec<(String, String)> {
    [
        DenialGround::InsufficientVerification,
        DenialGround::ManifestlyUnfounded,
        DenialGround::Excessive,
        DenialGround::LegalException,
        DenialGround::OutsideJurisdiction,
        DenialGround::Other,
    ]
    .iter()
    .map(|g| (name(g), words(g)))
    .collect()
}

/// `GET /console/requests/{id}/certificate`: the certificate of erasure to print or file
/// (the API's HTML rendering, with its own stricter policy: no script, inline style only).
pub async fn certificate_page(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
) -> WebResult<Response> {
    certificate_as(state, session, id, CertificateFormat::Html).await
}

/// `GET /console/requests/{id}/certificate.json`: the signed certificate, to verify offline.
pub async fn certificate_json(
    State(state): State<AppState>,
    session: Session,
    PathParams(id): PathParams<Uuid>,
) -> WebResult<Response> {
    certificate_as(state, session, id, CertificateFormat::Json).await
}

async fn certificate_as(state: AppState, session: Session, id: Uuid, format: CertificateFormat) -> WebResult<Response> {
    let signed = certificates::certificate(&state, &session.principal, id).await?;
    Ok(respond(signed, format))
}
