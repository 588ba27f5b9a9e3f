//! Account events and console actions of operators for the audit log: sign-ins, failed
//! sign-ins, password and second-factor changes, signing out everywhere, and what operators do in the console
//! outside a request (stores, retention, legal holds, the ledger, settings). What operators do to
//! requests is on the requests' timelines (`request_events`); the audit log shows both.

use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect};
use serde::Serialize;

use crate::domain::crypto::{CryptoError, Keyring, bound_context};

/// What an operator's account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum OperatorEventKind {
    /// Signed in (password, and the second factor where enrolled).
    #[sea_orm(string_value = "signed_in")]
    SignedIn,
    /// A wrong password or code, or a locked or disabled account.
    #[sea_orm(string_value = "sign_in_failed")]
    SignInFailed,
    /// The account was locked after repeated failures.
    #[sea_orm(string_value = "locked")]
    Locked,
    /// A TOTP second factor was enrolled (and recovery codes issued).
    #[sea_orm(string_value = "mfa_enrolled")]
    MfaEnrolled,
    /// A recovery code was used instead of a TOTP code.
    #[sea_orm(string_value = "recovery_code_used")]
    RecoveryCodeUsed,
    /// A second factor was removed: by its operator to enrol a new one, or by an admin (the
    /// reason names the operator).
    #[sea_orm(string_value = "mfa_reset")]
    MfaReset,
    /// The operator changed their password.
    #[sea_orm(string_value = "password_changed")]
    PasswordChanged,
    /// Signed out of this browser.
    #[sea_orm(string_value = "signed_out")]
    SignedOut,
    /// Every session and token of the operator was revoked.
    #[sea_orm(string_value = "signed_out_everywhere")]
    SignedOutEverywhere,
    /// The audit log was exported.
    #[sea_orm(string_value = "audit_exported")]
    AuditExported,
    /// A store was registered.
    #[sea_orm(string_value = "store_registered")]
    StoreRegistered,
    /// A store's connection was tested.
    #[sea_orm(string_value = "store_tested")]
    StoreTested,
    /// A store was discovered (a data map proposed).
    #[sea_orm(string_value = "store_discovered")]
    StoreDiscovered,
    /// A store's data map was saved.
    #[sea_orm(string_value = "data_map_saved")]
    DataMapSaved,
    /// A retention policy was previewed (dry run).
    #[sea_orm(string_value = "retention_previewed")]
    RetentionPreviewed,
    /// A retention policy was run on demand.
    #[sea_orm(string_value = "retention_run_queued")]
    RetentionRunQueued,
    /// A retention run was stopped.
    #[sea_orm(string_value = "retention_run_stopped")]
    RetentionRunStopped,
    /// A retention run was resumed.
    #[sea_orm(string_value = "retention_run_resumed")]
    RetentionRunResumed,
    /// A retention policy was changed (a built-in policy's age, or any policy in the console).
    #[sea_orm(string_value = "retention_policy_changed")]
    RetentionPolicyChanged,
    /// A retention policy created in the console.
    #[sea_orm(string_value = "retention_policy_created")]
    RetentionPolicyCreated,
    /// A retention policy deleted in the console.
    #[sea_orm(string_value = "retention_policy_deleted")]
    RetentionPolicyDeleted,
    /// A legal hold was placed.
    #[sea_orm(string_value = "hold_placed")]
    HoldPlaced,
    /// A legal hold was released.
    #[sea_orm(string_value = "hold_released")]
    HoldReleased,
    /// The ledger was verified.
    #[sea_orm(string_value = "ledger_verified")]
    LedgerVerified,
    /// The ledger was exported for offline verification.
    #[sea_orm(string_value = "ledger_exported")]
    LedgerExported,
    /// A subject's ledger entries were looked up (the kind of identity, never its value).
    #[sea_orm(string_value = "ledger_looked_up")]
    LedgerLookedUp,
    /// An operator was created.
    #[sea_orm(string_value = "operator_created")]
    OperatorCreated,
    /// An operator's role was changed, or the account disabled or re-enabled.
    #[sea_orm(string_value = "operator_changed")]
    OperatorChanged,
    /// An API key was created.
    #[sea_orm(string_value = "api_key_created")]
    ApiKeyCreated,
    /// An API key was revoked.
    #[sea_orm(string_value = "api_key_revoked")]
    ApiKeyRevoked,
    /// An API key's secret was regenerated.
    #[sea_orm(string_value = "api_key_regenerated")]
    ApiKeyRegenerated,
    /// The organization's defaults were changed.
    #[sea_orm(string_value = "organization_changed")]
    OrganizationChanged,
    /// A webhook endpoint was created.
    #[sea_orm(string_value = "webhook_created")]
    WebhookCreated,
    /// A webhook endpoint's URL, events or description was changed, or it was enabled or
    /// disabled.
    #[sea_orm(string_value = "webhook_changed")]
    WebhookChanged,
    /// A webhook endpoint was deleted.
    #[sea_orm(string_value = "webhook_deleted")]
    WebhookDeleted,
    /// A webhook endpoint's signing secret was rotated.
    #[sea_orm(string_value = "webhook_secret_rotated")]
    WebhookSecretRotated,
    /// An authorized agent (Data Rights Protocol) was registered.
    #[sea_orm(string_value = "drp_agent_registered")]
    DrpAgentRegistered,
    /// An authorized agent's name, key, contact or state was changed.
    #[sea_orm(string_value = "drp_agent_changed")]
    DrpAgentChanged,
    /// An authorized agent was deleted.
    #[sea_orm(string_value = "drp_agent_deleted")]
    DrpAgentDeleted,
}

impl OperatorEventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::SignInFailed => "sign_in_failed",
            Self::Locked => "locked",
            Self::MfaEnrolled => "mfa_enrolled",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::MfaReset => "mfa_reset",
            Self::PasswordChanged => "password_changed",
            Self::SignedOut => "signed_out",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::AuditExported => "audit_exported",
            Self::StoreRegistered => "store_registered",
            Self::StoreTested => "store_tested",
            Self::StoreDiscovered => "store_discovered",
            Self::DataMapSaved => "data_map_saved",
            Self::RetentionPreviewed => "retention_previewed",
            Self::RetentionRunQueued => "retention_run_queued",
            Self::RetentionRunStopped => "retention_run_stopped",
            Self::RetentionRunResumed => "retention_run_resumed",
            Self::RetentionPolicyChanged => "retention_policy_changed",
            Self::RetentionPolicyCreated => "retention_policy_created",
            Self::RetentionPolicyDeleted => "retention_policy_deleted",
            Self::HoldPlaced => "hold_placed",
            Self::HoldReleased => "hold_released",
            Self::LedgerVerified => "ledger_verified",
            Self::LedgerExported => "ledger_exported",
            Self::LedgerLookedUp => "ledger_looked_up",
            Self::OperatorCreated => "operator_created",
            Self::OperatorChanged => "operator_changed",
            Self::ApiKeyCreated => "api_key_created",
            Self::ApiKeyRevoked => "api_key_revoked",
            Self::ApiKeyRegenerated => "api_key_regenerated",
            Self::OrganizationChanged => "organization_changed",
            Self::WebhookCreated => "webhook_created",
            Self::WebhookChanged => "webhook_changed",
            Self::WebhookDeleted => "webhook_deleted",
            Self::WebhookSecretRotated => "webhook_secret_rotated",
            Self::DrpAgentRegistered => "drp_agent_registered",
            Self::DrpAgentChanged => "drp_agent_changed",
            Self::DrpAgentDeleted => "drp_agent_deleted",
        }
    }
}

/// One account event or console action. Never updated. No secrets and no subject data: the
/// operator by id, the client address, and a reason a person wrote or a fixed text (why a
/// sign-in failed, what an action was done to), encrypted like every reason people type
/// ([`reason_context`]).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operator_events")]
pub struct Model {
    /// Primary key (UUID v7: ordered by time).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The operator whose account it is (for a console action: who did it).
    pub operator_id: Uuid,
    /// When.
    pub at: TimeDateTimeWithTimeZone,
    /// What.
    pub kind: OperatorEventKind,
    /// From which client address.
    pub ip_address: Option<String>,
    /// Why (e.g. which check failed), encrypted.
    pub reason_ciphertext: Option<Vec<u8>>,
    /// Structured facts.
    pub detail: Option<Json>,
}

/// Relations of an account event.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The associated data an event's reason is encrypted under.
pub fn reason_context(organization: Uuid, event: Uuid) -> Vec<u8> {
    bound_context("operator-event-reason", &[organization, event])
}

impl ActiveModel {
    /// A new event of `operator` now, its reason encrypted with `keyring`.
    pub fn record(
        keyring: &Keyring,
        organization: Uuid,
        operator: Uuid,
        kind: OperatorEventKind,
        ip: Option<std::net::IpAddr>,
        reason: Option<&str>,
    ) -> Self {
        use sea_orm::ActiveValue::Set;
        let id = Uuid::now_v7();
        let reason = reason.map(|r| keyring.seal_text(r, &reason_context(organization, id)));
        Self {
            id: Set(id),
            organization_id: Set(organization),
            operator_id: Set(operator),
            at: Set(time::OffsetDateTime::now_utc()),
            kind: Set(kind),
            ip_address: Set(ip.map(|ip| ip.to_string())),
            reason_ciphertext: Set(reason),
            detail: Set(None),
        }
    }
}

impl Model {
    /// The reason, decrypted.
    pub fn reason(&self, keyring: &Keyring) -> Result<Option<String>, CryptoError> {
        let Some(blob) = &self.reason_ciphertext else { return Ok(None) };
        keyring.open_text(blob, &reason_context(self.organization_id, self.id)).map(Some)
    }

    /// `organization`'s events with ids below `before` (all when `None`), newest first.
    pub async fn page(
        db: &impl ConnectionTrait,
        organization: Uuid,
        before: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<Self>, DbErr> {
        let mut query = Entity::find().filter(Column::OrganizationId.eq(organization));
        if let Some(before) = before {
            query = query.filter(Column::Id.lt(before));
        }
        query.order_by_desc(Column::Id).limit(limit).all(db).await
    }
}
