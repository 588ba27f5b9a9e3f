//! The closed vocabularies stored in the database as strings.
//!
//! Each enum is stored under its `snake_case` name, serialised the same way in JSON, and
//! documented in the OpenAPI schema.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the data subject asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A copy of the person's data (GDPR Art. 15/20, CCPA right to know).
    #[sea_orm(string_value = "access")]
    Access,
    /// Deletion of the person's data (GDPR Art. 17, CCPA delete).
    #[sea_orm(string_value = "erasure")]
    Erasure,
    /// Correction of inaccurate data (GDPR Art. 16); routed to operators.
    #[sea_orm(string_value = "rectification")]
    Rectification,
    /// Restriction of processing (GDPR Art. 18); routed to operators.
    #[sea_orm(string_value = "restriction")]
    Restriction,
    /// Objection to processing (GDPR Art. 21); routed to operators.
    #[sea_orm(string_value = "objection")]
    Objection,
    /// Opt-out of sale or sharing (CCPA); routed to operators.
    #[sea_orm(string_value = "opt_out")]
    OptOut,
}

/// The law under which a request is handled; it sets the deadline rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// EU GDPR: one calendar month, extendable once by two months.
    #[sea_orm(string_value = "gdpr")]
    Gdpr,
    /// UK GDPR: as the EU GDPR.
    #[sea_orm(string_value = "uk_gdpr")]
    UkGdpr,
    /// California CCPA/CPRA: 45 days, extendable once by 45; acknowledgement within 10 business days.
    #[sea_orm(string_value = "ccpa")]
    Ccpa,
    /// Brazil LGPD: 15 days, no extension.
    #[sea_orm(string_value = "lgpd")]
    Lgpd,
    /// Virginia VCDPA: 45 days, extendable once by 45.
    #[sea_orm(string_value = "vcdpa")]
    Vcdpa,
    /// Any other law or a voluntary request: the organization's default deadline.
    #[sea_orm(string_value = "other")]
    Other,
}

/// Where a request is in its lifecycle. Transitions live in [`crate::domain::lifecycle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Submitted; the requester has not yet proven control of the e-mail address.
    #[sea_orm(string_value = "identity_unverified")]
    IdentityUnverified,
    /// Verified; waiting for an operator to approve or deny.
    #[sea_orm(string_value = "pending_approval")]
    PendingApproval,
    /// Approved; the fulfilment job will pick it up.
    #[sea_orm(string_value = "approved")]
    Approved,
    /// Fulfilment is running (store tasks are being worked).
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    /// Fulfilled.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Refused, with a reason given to the requester.
    #[sea_orm(string_value = "denied")]
    Denied,
    /// Withdrawn by the requester or canceled by an operator.
    #[sea_orm(string_value = "canceled")]
    Canceled,
    /// Fulfilment failed and needs attention; it can be retried.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Paused by an operator.
    #[sea_orm(string_value = "on_hold")]
    OnHold,
}

impl RequestState {
    /// The state's stable name, as stored and as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdentityUnverified => "identity_unverified",
            Self::PendingApproval => "pending_approval",
            Self::Approved => "approved",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Denied => "denied",
            Self::Canceled => "canceled",
            Self::Failed => "failed",
            Self::OnHold => "on_hold",
        }
    }

    /// Terminal states accept no further transition and no extension.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Denied | Self::Canceled)
    }
}

/// An operator's role. Permissions per role are defined in the API's authorization module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including operators, API keys and settings.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Works requests: read, approve, deny, extend, cancel, retry.
    #[sea_orm(string_value = "operator")]
    Operator,
    /// Reads requests and their timelines; changes nothing.
    #[sea_orm(string_value = "auditor")]
    Auditor,
}

/// Kinds of identity a data subject can be known by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// An e-mail address (normalised: trimmed, lower-case).
    #[sea_orm(string_value = "email")]
    Email,
    /// A phone number in E.164 form.
    #[sea_orm(string_value = "phone")]
    Phone,
    /// The company's own customer identifier (case-sensitive).
    #[sea_orm(string_value = "customer_id")]
    CustomerId,
}

impl IdentityKind {
    /// The kind's stable name, as stored and as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::CustomerId => "customer_id",
        }
    }
}

/// Who caused a timeline event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// The engine itself (jobs, deadlines).
    #[sea_orm(string_value = "system")]
    System,
    /// The data subject, proven by the status token.
    #[sea_orm(string_value = "subject")]
    Subject,
    /// A signed-in operator.
    #[sea_orm(string_value = "operator")]
    Operator,
    /// An integration using an API key.
    #[sea_orm(string_value = "api_key")]
    ApiKey,
    /// An authorized agent acting for the person (Data Rights Protocol).
    #[sea_orm(string_value = "agent")]
    Agent,
}

/// What happened, in a request's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The request was received.
    #[sea_orm(string_value = "submitted")]
    Submitted,
    /// A verification code was e-mailed.
    #[sea_orm(string_value = "verification_sent")]
    VerificationSent,
    /// A wrong or expired verification code was entered.
    #[sea_orm(string_value = "verification_failed")]
    VerificationFailed,
    /// The requester proved control of the e-mail address.
    #[sea_orm(string_value = "verified")]
    Verified,
    /// The request was approved (by an operator or by the organization's auto-approval).
    #[sea_orm(string_value = "approved")]
    Approved,
    /// The request was denied.
    #[sea_orm(string_value = "denied")]
    Denied,
    /// The deadline was extended.
    #[sea_orm(string_value = "extended")]
    Extended,
    /// The request was canceled.
    #[sea_orm(string_value = "canceled")]
    Canceled,
    /// Fulfilment started.
    #[sea_orm(string_value = "started")]
    Started,
    /// A failed request was retried.
    #[sea_orm(string_value = "retried")]
    Retried,
    /// The request was put on hold.
    #[sea_orm(string_value = "held")]
    Held,
    /// A held request was resumed.
    #[sea_orm(string_value = "resumed")]
    Resumed,
    /// Fulfilment finished.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Fulfilment failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// A store's data for the request was located (detail: store, counts per table).
    #[sea_orm(string_value = "store_located")]
    StoreLocated,
    /// Locating in a store failed (detail: store, error code).
    #[sea_orm(string_value = "store_failed")]
    StoreFailed,
    /// A store needs an operator or a service to act (detail: store, kind).
    #[sea_orm(string_value = "store_waiting")]
    StoreWaiting,
    /// The subject's data in a store was erased and the erasure verified (detail: store,
    /// rows per table and action, retained rows with their basis).
    #[sea_orm(string_value = "store_erased")]
    StoreErased,
    /// A store task was completed by an operator (detail: store; reason: the note).
    #[sea_orm(string_value = "task_completed")]
    TaskCompleted,
    /// A store task was waived by an admin (detail: store; reason: why).
    #[sea_orm(string_value = "task_waived")]
    TaskWaived,
    /// The access package is ready and its download link was e-mailed (detail: rows per store
    /// and table, expiry).
    #[sea_orm(string_value = "export_ready")]
    ExportReady,
    /// The access package was not built because a store could not be searched (detail: the
    /// stores); locating again retries.
    #[sea_orm(string_value = "export_blocked")]
    ExportBlocked,
    /// The access package expired: its key was destroyed and its file deleted.
    #[sea_orm(string_value = "export_purged")]
    ExportPurged,
    /// An operator notified a recipient of the store's data (GDPR Art. 19) (detail: store,
    /// recipient, task; reason: the operator's note).
    #[sea_orm(string_value = "recipient_notified")]
    RecipientNotified,
    /// An admin waived notifying a recipient (detail: store, recipient, task; reason: why).
    #[sea_orm(string_value = "recipient_waived")]
    RecipientWaived,
}

/// The kind of a registered store: how Lethe reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// PostgreSQL.
    #[sea_orm(string_value = "postgres")]
    Postgres,
    /// MySQL or MariaDB.
    #[sea_orm(string_value = "mysql")]
    Mysql,
    /// A SQLite database file.
    #[sea_orm(string_value = "sqlite")]
    Sqlite,
    /// Redis (key patterns).
    #[sea_orm(string_value = "redis")]
    Redis,
    /// An internal HTTP service with access and erasure endpoints, called with signed requests.
    #[sea_orm(string_value = "http")]
    Http,
    /// A system nobody can reach automatically: a checklist task for an operator.
    #[sea_orm(string_value = "manual")]
    Manual,
}

impl StoreKind {
    /// The kind's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
            Self::Sqlite => "sqlite",
            Self::Redis => "redis",
            Self::Http => "http",
            Self::Manual => "manual",
        }
    }

    /// SQL stores: tables, columns, references.
    pub fn is_sql(self) -> bool {
        matches!(self, Self::Postgres | Self::Mysql | Self::Sqlite)
    }

    /// Key-value stores: the data map names key patterns (with hash fields), not tables.
    pub fn has_key_patterns(self) -> bool {
        self == Self::Redis
    }

    /// Stores Lethe reads and changes itself (SQL and Redis), as opposed to tasks for an
    /// operator or a service.
    pub fn is_automated(self) -> bool {
        self.is_sql() || self.has_key_patterns()
    }

    /// Stores described by a data map.
    pub fn has_data_map(self) -> bool {
        self.is_automated()
    }
}

/// Where one store's part of one request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Created, not yet worked.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The person's data in this store was located (counts recorded).
    #[sea_orm(string_value = "located")]
    Located,
    /// Waiting for an operator (manual store) or for the service (HTTP store).
    #[sea_orm(string_value = "waiting")]
    Waiting,
    /// Erasure is running (claimed by one worker).
    #[sea_orm(string_value = "erasing")]
    Erasing,
    /// An HTTP service is being asked for the person's data (claimed by one worker).
    #[sea_orm(string_value = "calling")]
    Calling,
    /// Locating failed (error recorded); retried with the request.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Finished.
    #[sea_orm(string_value = "done")]
    Done,
    /// Waived by an admin, with a reason.
    #[sea_orm(string_value = "waived")]
    Waived,
}

impl TaskStatus {
    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Located => "located",
            Self::Waiting => "waiting",
            Self::Erasing => "erasing",
            Self::Calling => "calling",
            Self::Failed => "failed",
            Self::Done => "done",
            Self::Waived => "waived",
        }
    }
}

/// Where notifying one recipient of a store's data (GDPR Art. 19) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    /// An operator has to notify the recipient.
    #[sea_orm(string_value = "waiting")]
    Waiting,
    /// An operator notified the recipient (their note is on the timeline).
    #[sea_orm(string_value = "notified")]
    Notified,
    /// An admin waived the notification (their reason is on the timeline).
    #[sea_orm(string_value = "waived")]
    Waived,
}

impl RecipientStatus {
    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Notified => "notified",
            Self::Waived => "waived",
        }
    }

    /// Whether the notification is settled (notified or waived).
    pub fn is_settled(self) -> bool {
        self != Self::Waiting
    }
}
