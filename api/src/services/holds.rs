//! Legal holds: placing them on a subject, a table, a store or the organization, listing them,
//! and releasing them with a reason. Placing and releasing each append a ledger entry
//! (`hold_placed`, `hold_released`; the subject as its keyed reference, never in clear). Admins
//! place and release; every role reads.

use lethe_entities::Keyring;
use lethe_entities::domain::crypto::CryptoError;
use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::domain::identity::{Identity, SubjectEmail};
use lethe_entities::entity::legal_hold::{self, HoldScope, HoldText, seal_identity};
use lethe_entities::entity::store;
use lethe_entities::ledger::{EntryKind, NewEntry, append};
use lethe_entities::webhook::{self, EventType};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::requests::reason_text;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

/// The held subject's identity (write-only: never returned).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldIdentity {
    /// `email`, `phone` or `customer_id`.
    pub kind: IdentityKind,
    /// The value.
    pub value: String,
}

/// A new hold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "scope": "subject", "identity": {"kind": "email", "value": "ann@example.com"},
    "reason": "Litigation: Ann v. Shop", "owner": "legal@shop.example", "matter": "CASE-2026-14",
    "expires_at": "2027-06-30T00:00:00Z"
}))]
pub struct NewHold {
    /// `subject`, `table`, `store` or `organization`.
    pub scope: HoldScope,
    /// For `subject`: the identity.
    pub identity: Option<HeldIdentity>,
    /// For `table` and `store`: the store.
    pub store_id: Option<Uuid>,
    /// For `table`: the table (or Redis key pattern, as a retention policy names it).
    pub table: Option<String>,
    /// Why (1-2000 characters; shown to operators on a held request).
    pub reason: String,
    /// The e-mail address of who is responsible: expiry warnings go there 7 days and 1 day
    /// before `expires_at`.
    pub owner: String,
    /// The matter or case reference (at most 200 characters).
    pub matter: Option<String>,
    /// When the hold lapses on its own (RFC 3339, in the future); absent: until released.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

/// A hold as the API shows it (a subject hold shows the identity's kind, never its value).
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    /// Id.
    pub id: Uuid,
    /// What it covers.
    pub scope: HoldScope,
    /// Subject holds: the kind of identity.
    pub identity_kind: Option<IdentityKind>,
    /// Table and store holds: the store.
    pub store_id: Option<Uuid>,
    /// Table holds: the table.
    pub table: Option<String>,
    /// Why.
    pub reason: String,
    /// Who is responsible (their e-mail address).
    pub owner: String,
    /// The matter reference.
    pub matter: Option<String>,
    /// When it lapses.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Expiry warnings sent to the owner so far: 0, 1 (7 days before) or 2 (also 1 day before).
    pub expiry_warnings_sent: i16,
    /// Whether it is in force now.
    pub active: bool,
    /// Who placed it.
    pub placed_by: Option<Uuid>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    /// When it was released.
    #[serde(with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
    /// Who released it.
    pub released_by: Option<Uuid>,
    /// Why it was released.
    pub release_reason: Option<String>,
}

impl HoldView {
    /// The view of `hold` at `now`, its texts decrypted with `keyring`.
    pub fn of(hold: &legal_hold::Model, keyring: &Keyring, now: OffsetDateTime) -> Result<Self, CryptoError> {
        Ok(Self {
            id: hold.id,
            scope: hold.scope,
            identity_kind: hold.identity_kind,
            store_id: hold.store_id,
            table: hold.table_name.clone(),
            reason: hold.reason(keyring)?,
            owner: hold.owner.clone(),
            matter: hold.matter(keyring)?,
            expires_at: hold.expires_at,
            expiry_warnings_sent: hold.expiry_warnings_sent,
            active: hold.is_active(now),
            placed_by: hold.placed_by,
            placed_at: hold.placed_at,
            released_at: hold.released_at,
            released_by: hold.released_by,
            release_reason: hold.release_reason(keyring)?,
        })
    }
}

fn hold_not_found() -> ApiError {
    ApiError::not_found("hold_not_found", "no legal hold with this id")
}

fn text(value: &str, field: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError { field: field.to_owned(), message: format!("1 to {max} printable characters") });
    }
}

/// The ledger entry of placing or releasing `hold` (names and the subject's keyed reference).
fn entry(state: &AppState, kind: EntryKind, hold: &legal_hold::Model, store_name: Option<String>) -> NewEntry {
    NewEntry {
        store: store_name,
        table: hold.table_name.clone(),
        action: Some(hold.scope.as_str().to_owned()),
        subject_refs: hold
            .blind_index
            .iter()
            .map(|b| state.keyring.ledger_subject_ref(hold.organization_id, b))
            .collect(),
        ..NewEntry::new(kind)
    }
}

async fn store_name(state: &AppState, hold: &legal_hold::Model) -> ApiResult<Option<String>> {
    let Some(id) = hold.store_id else { return Ok(None) };
    Ok(store::Model::find_in_org(&state.db, hold.organization_id, id).await?.map(|s| s.name))
}

/// The organization's legal holds, newest first; only those in force now when `active_only`.
pub async fn list(state: &AppState, principal: &Principal, active_only: bool) -> ApiResult<Vec<HoldView>> {
    principal.require(Permission::ReadHolds)?;
    let now = OffsetDateTime::now_utc();
    let holds = legal_hold::Model::list(&state.db, principal.organization_id, active_only.then_some(now)).await?;
    Ok(holds.iter().map(|h| HoldView::of(h, &state.keyring, now)).collect::<Result<_, _>>()?)
}

fn field(errors: &mut Vec<FieldError>, f: &str, m: &str) {
    errors.push(FieldError { field: f.to_owned(), message: m.to_owned() });
}

/// What a new hold's fields checked out to.
struct Checked {
    owner: Option<SubjectEmail>,
    identity: Option<Identity>,
    store: Option<store::Model>,
}

/// Checks a new hold's fields (errors in the order of the fields), finding its store in
/// `org`.
async fn check(state: &AppState, org: Uuid, body: &NewHold, now: OffsetDateTime) -> ApiResult<Checked> {
    let mut errors = Vec::new();
    text(&body.reason, "reason", 2000, &mut errors);
    let owner = match SubjectEmail::parse(&body.owner) {
        Ok(owner) => Some(owner),
        Err(_) => {
            field(&mut errors, "owner", "must be an e-mail address (expiry warnings go there)");
            None
        }
    };
    if let Some(m) = &body.matter {
        text(m, "matter", 200, &mut errors);
    }
    if body.expires_at.is_some_and(|e| e <= now) {
        field(&mut errors, "expires_at", "must be in the future");
    }
    let identity = identity(body, &mut errors);
    let store = held_store(state, org, body, &mut errors).await?;
    match (&body.table, body.scope == HoldScope::Table) {
        (Some(t), true) => text(t, "table", 256, &mut errors),
        (None, true) => field(&mut errors, "table", "required for a table hold"),
        (Some(_), false) => field(&mut errors, "table", "only table holds take a table"),
        (None, false) => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(Checked { owner, identity, store })
}

/// The held subject's identity: required for a subject hold, refused for the others.
fn identity(body: &NewHold, errors: &mut Vec<FieldError>) -> Option<Identity> {
    match (&body.identity, body.scope == HoldScope::Subject) {
        (Some(given), true) => match Identity::parse(given.kind, &given.value) {
            Ok(identity) => Some(identity),
            Err(e) => {
                field(errors, "identity.value", &e.to_string());
                None
            }
        },
        (None, true) => {
            field(errors, "identity", "required for a subject hold");
            None
        }
        (Some(_), false) => {
            field(errors, "identity", "only subject holds take an identity");
            None
        }
        (None, false) => None,
    }
}

/// The held store of `org`: required for a table or store hold, refused for the others.
async fn held_store(
    state: &AppState,
    org: Uuid,
    body: &NewHold,
    errors: &mut Vec<FieldError>,
) -> ApiResult<Option<store::Model>> {
    Ok(match (body.store_id, matches!(body.scope, HoldScope::Table | HoldScope::Store)) {
        (Some(id), true) => {
            let found = store::Model::find_in_org(&state.db, org, id).await?;
            if found.is_none() {
                field(errors, "store_id", "no store with this id in your organization");
            }
            found
        }
        (None, true) => {
            field(errors, "store_id", "required for table and store holds");
            None
        }
        (Some(_), false) => {
            field(errors, "store_id", "only table and store holds take a store");
            None
        }
        (None, false) => None,
    })
}

/// The row of a new hold `body` of `principal`'s organization, its identity sealed and blind
/// indexed, its texts sealed.
fn new_row(
    state: &AppState,
    principal: &Principal,
    body: NewHold,
    checked: &Checked,
    now: OffsetDateTime,
) -> legal_hold::ActiveModel {
    let (org, id, identity) = (principal.organization_id, Uuid::now_v7(), checked.identity.as_ref());
    legal_hold::ActiveModel {
        id: Set(id),
        organization_id: Set(org),
        scope: Set(body.scope),
        identity_kind: Set(identity.map(Identity::kind)),
        identity_ciphertext: Set(identity.map(|i| seal_identity(&state.keyring, org, id, i.kind(), i.normalised()))),
        blind_index: Set(identity.map(|i| state.keyring.blind_index(org, i.kind(), i.normalised()))),
        store_id: Set(checked.store.as_ref().map(|s| s.id)),
        table_name: Set(body.table),
        reason_ciphertext: Set(HoldText::Reason.seal(&state.keyring, org, id, body.reason.trim())),
        owner: Set(checked.owner.as_ref().map(|o| o.as_str().to_owned()).unwrap_or_default()),
        matter_ciphertext: Set(body.matter.map(|m| HoldText::Matter.seal(&state.keyring, org, id, &m))),
        expires_at: Set(body.expires_at),
        placed_by: Set(principal.actor().id),
        placed_at: Set(now),
        released_at: Set(None),
        released_by: Set(None),
        release_reason_ciphertext: Set(None),
        expiry_warnings: Set(0),
        expiry_warnings_sent: Set(0),
    }
}

/// Places a legal hold. Nothing it covers is erased or purged until it is released (or
/// lapses): an erasure request of a held subject goes `on_hold`, retention runs leave held
/// subjects' rows and skip held tables and stores. Holds are additive.
pub async fn place(state: &AppState, principal: &Principal, body: NewHold) -> ApiResult<HoldView> {
    principal.require(Permission::ManageHolds)?;
    let org = principal.organization_id;
    let now = OffsetDateTime::now_utc();
    let checked = check(state, org, &body, now).await?;
    let hold = new_row(state, principal, body, &checked, now);
    let txn = lethe_entities::entity::begin_write(&state.db).await?;
    let placed = hold.insert(&txn).await?;
    append(&txn, org, &[entry(state, EntryKind::HoldPlaced, &placed, checked.store.map(|s| s.name))]).await?;
    webhook::announce(&txn, placed.announcement(EventType::HoldPlaced)).await?;
    txn.commit().await?;
    tracing::info!(hold_id = %placed.id, scope = placed.scope.as_str(), by = ?principal.actor().id, "legal hold placed");
    Ok(HoldView::of(&placed, &state.keyring, now)?)
}

/// Releases legal hold `id` with a `reason` (required). What it covered is free again once no
/// other hold covers it; a hold released before is refused (`409 hold_released`).
pub async fn release(state: &AppState, principal: &Principal, id: Uuid, reason: &str) -> ApiResult<HoldView> {
    principal.require(Permission::ManageHolds)?;
    let reason = reason_text("reason", Some(reason), true)?;
    let hold =
        legal_hold::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(hold_not_found)?;
    let now = OffsetDateTime::now_utc();
    let name = store_name(state, &hold).await?;
    let sealed = reason.map(|r| HoldText::ReleaseReason.seal(&state.keyring, hold.organization_id, hold.id, &r));
    let txn = lethe_entities::entity::begin_write(&state.db).await?;
    let done = legal_hold::Entity::update_many()
        .col_expr(legal_hold::Column::ReleasedAt, Expr::value(now))
        .col_expr(legal_hold::Column::ReleasedBy, Expr::value(principal.actor().id))
        .col_expr(legal_hold::Column::ReleaseReasonCiphertext, Expr::value(sealed))
        .filter(legal_hold::Column::Id.eq(hold.id))
        .filter(legal_hold::Column::ReleasedAt.is_null())
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::conflict("hold_released", "this hold was released before"));
    }
    append(&txn, hold.organization_id, &[entry(state, EntryKind::HoldReleased, &hold, name)]).await?;
    webhook::announce(&txn, hold.announcement(EventType::HoldReleased)).await?;
    txn.commit().await?;
    let released =
        legal_hold::Model::find_in_org(&state.db, principal.organization_id, id).await?.ok_or_else(hold_not_found)?;
    tracing::info!(hold_id = %id, by = ?principal.actor().id, "legal hold released");
    Ok(HoldView::of(&released, &state.keyring, now)?)
}
