//! Runs of retention policies: one row per run, with the keyset cursor it has reached and the
//! batch in flight, so a stopped or crashed run resumes where it was and counts each batch once.
//! Its state moves only through [`transition`]; its cursor and counts only through [`progress`].

pub mod progress;
pub mod transition;

pub use progress::Progress;
pub use transition::RunStep;

use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Created; its job is queued.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Working through batches.
    #[sea_orm(string_value = "running")]
    Running,
    /// Every row past the age was handled.
    #[sea_orm(string_value = "done")]
    Done,
    /// Stopped by an error (code and message recorded); the next run starts afresh.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// The policy was deleted while the run waited or ran.
    #[sea_orm(string_value = "canceled")]
    Canceled,
    /// A legal hold covers the table, the store or the organization: nothing (more) was purged.
    #[sea_orm(string_value = "held")]
    Held,
    /// Stopped by an operator between two batches; `POST /v1/retention/runs/{id}/resume`
    /// continues it from its cursor with the same cutoff.
    #[sea_orm(string_value = "stopped")]
    Stopped,
}

impl RunState {
    /// Every final state.
    pub const FINAL: [Self; 4] = [Self::Done, Self::Failed, Self::Canceled, Self::Held];

    /// Whether the run is over.
    pub fn is_final(self) -> bool {
        Self::FINAL.contains(&self)
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// `POST /v1/retention/policies/{id}/run`.
    #[sea_orm(string_value = "manual")]
    Manual,
    /// The policy's cron schedule.
    #[sea_orm(string_value = "schedule")]
    Schedule,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_runs")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant.
    pub organization_id: Uuid,
    /// The policy.
    pub policy_id: Uuid,
    /// What started it.
    pub trigger: RunTrigger,
    /// The schedule's tick (unique per policy), for scheduled runs.
    pub scheduled_for: Option<TimeDateTimeWithTimeZone>,
    /// Where it stands.
    pub state: RunState,
    /// Rows dated before this are past the age; fixed when the run starts.
    pub cutoff: Option<TimeDateTimeWithTimeZone>,
    /// The last primary key handled (JSON array of the key's columns as text).
    pub cursor: Option<Json>,
    /// The ledger intent of the batch in flight.
    pub pending_intent: Option<Uuid>,
    /// The cursor the batch in flight reaches once it is settled.
    pub pending_cursor: Option<Json>,
    /// Rows purged or anonymised so far (the stores' own counts).
    pub rows: i64,
    /// Batches committed so far.
    pub batches: i32,
    /// Rows of the largest batch.
    pub largest_batch: i64,
    /// Why it failed: a stable code.
    pub error_code: Option<String>,
    /// Why, in Lethe's words (no values).
    pub error_message: Option<String>,
    /// When its job first started.
    pub started_at: Option<TimeDateTimeWithTimeZone>,
    /// When it ended.
    pub finished_at: Option<TimeDateTimeWithTimeZone>,
    /// How often it was resumed after a stop (each resumption's job has its own key).
    pub resumes: i32,
    /// Creation time.
    pub created_at: TimeDateTimeWithTimeZone,
    /// Last change.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of a run.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl ActiveModel {
    /// A new queued run of `policy` (of `organization`), started by `trigger` for the schedule's
    /// `tick` (scheduled runs only).
    pub fn queued(
        organization: Uuid,
        policy: Uuid,
        trigger: RunTrigger,
        tick: Option<TimeDateTimeWithTimeZone>,
        now: TimeDateTimeWithTimeZone,
    ) -> Self {
        use sea_orm::ActiveValue::Set;
        Self {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization),
            policy_id: Set(policy),
            trigger: Set(trigger),
            scheduled_for: Set(tick),
            state: Set(RunState::Queued),
            cutoff: Set(None),
            cursor: Set(None),
            pending_intent: Set(None),
            pending_cursor: Set(None),
            rows: Set(0),
            batches: Set(0),
            largest_batch: Set(0),
            error_code: Set(None),
            error_message: Set(None),
            started_at: Set(None),
            finished_at: Set(None),
            resumes: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}

impl Model {
    /// One run of the organization.
    pub async fn find_in_org(db: &impl ConnectionTrait, organization: Uuid, id: Uuid) -> Result<Option<Self>, DbErr> {
        Entity::find_by_id(id).filter(Column::OrganizationId.eq(organization)).one(db).await
    }

    /// The organization's latest runs (of one policy if given), newest first.
    pub async fn recent(
        db: &impl ConnectionTrait,
        organization: Uuid,
        policy: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<Self>, DbErr> {
        let mut query = Entity::find().filter(Column::OrganizationId.eq(organization));
        if let Some(policy) = policy {
            query = query.filter(Column::PolicyId.eq(policy));
        }
        query.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id).limit(limit).all(db).await
    }

    /// Whether a run of `policy` is queued or running (a new one must wait).
    pub async fn busy(db: &impl ConnectionTrait, policy: Uuid) -> Result<bool, DbErr> {
        use sea_orm::PaginatorTrait;
        let active = Entity::find()
            .filter(Column::PolicyId.eq(policy))
            .filter(Column::State.is_in([RunState::Queued, RunState::Running]))
            .count(db)
            .await?;
        Ok(active > 0)
    }

    /// The cursor as key values.
    pub fn cursor_values(&self) -> Option<Vec<String>> {
        self.cursor.clone().and_then(|c| serde_json::from_value(c).ok())
    }
}
