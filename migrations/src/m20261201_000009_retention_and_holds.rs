//! Retention: policies (what to purge or anonymise where, how old, on which schedule) and their
//! runs (state, the keyset cursor, the batch in flight, counts), so a run can stop and resume
//! and a crash never counts a batch twice. Scheduled runs are unique per policy and tick, which
//! makes several worker processes run each tick once. Legal holds on a subject (encrypted
//! identity with its blind index), a store, a table or the whole organization. Built-in policies
//! (Lethe's own retention) are rows with `builtin` set and the nil store id.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RetentionPolicies {
    Table,
    Id,
    OrganizationId,
    Name,
    StoreId,
    Target,
    AgeColumn,
    MaxAge,
    Filter,
    Action,
    Schedule,
    TimeZone,
    BatchSize,
    ThrottleRowsPerSec,
    LegalBasis,
    Enabled,
    Builtin,
    NextRunAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RetentionRuns {
    Table,
    Id,
    OrganizationId,
    PolicyId,
    Trigger,
    ScheduledFor,
    State,
    Cutoff,
    Cursor,
    PendingIntent,
    PendingCursor,
    Rows,
    Batches,
    LargestBatch,
    ErrorCode,
    ErrorMessage,
    StartedAt,
    FinishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LegalHolds {
    Table,
    Id,
    OrganizationId,
    Scope,
    IdentityKind,
    IdentityCiphertext,
    BlindIndex,
    StoreId,
    TableName,
    Reason,
    Owner,
    Matter,
    ExpiresAt,
    PlacedBy,
    PlacedAt,
    ReleasedAt,
    ReleasedBy,
    ReleaseReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_retention_policies(manager).await?;
        create_retention_runs(manager).await?;
        create_legal_holds(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LegalHolds::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RetentionRuns::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RetentionPolicies::Table).to_owned()).await
    }
}

/// The `retention_policies` table and its indexes.
async fn create_retention_policies(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RetentionPolicies::Table)
                .col(pk_uuid(RetentionPolicies::Id))
                .col(uuid(RetentionPolicies::OrganizationId))
                .col(string_len(RetentionPolicies::Name, 64))
                .col(uuid(RetentionPolicies::StoreId))
                .col(string_len(RetentionPolicies::Target, 256))
                .col(string_len_null(RetentionPolicies::AgeColumn, 128))
                .col(string_len(RetentionPolicies::MaxAge, 32))
                .col(json(RetentionPolicies::Filter))
                .col(json(RetentionPolicies::Action))
                .col(string_len_null(RetentionPolicies::Schedule, 128))
                .col(string_len(RetentionPolicies::TimeZone, 64))
                .col(integer(RetentionPolicies::BatchSize))
                .col(integer_null(RetentionPolicies::ThrottleRowsPerSec))
                .col(text(RetentionPolicies::LegalBasis))
                .col(boolean(RetentionPolicies::Enabled))
                .col(string_len_null(RetentionPolicies::Builtin, 32))
                .col(timestamp_with_time_zone_null(RetentionPolicies::NextRunAt))
                .col(timestamp_with_time_zone(RetentionPolicies::CreatedAt))
                .col(timestamp_with_time_zone(RetentionPolicies::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RetentionPolicies::Table, RetentionPolicies::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("uq_retention_policies_org_name")
                .table(RetentionPolicies::Table)
                .col(RetentionPolicies::OrganizationId)
                .col(RetentionPolicies::Name)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_retention_policies_next_run")
                .table(RetentionPolicies::Table)
                .col(RetentionPolicies::NextRunAt)
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `retention_runs` table and its indexes.
async fn create_retention_runs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RetentionRuns::Table)
                .col(pk_uuid(RetentionRuns::Id))
                .col(uuid(RetentionRuns::OrganizationId))
                .col(uuid(RetentionRuns::PolicyId))
                .col(string_len(RetentionRuns::Trigger, 16))
                .col(timestamp_with_time_zone_null(RetentionRuns::ScheduledFor))
                .col(string_len(RetentionRuns::State, 16))
                .col(timestamp_with_time_zone_null(RetentionRuns::Cutoff))
                .col(json_null(RetentionRuns::Cursor))
                .col(uuid_null(RetentionRuns::PendingIntent))
                .col(json_null(RetentionRuns::PendingCursor))
                .col(big_integer(RetentionRuns::Rows).default(0))
                .col(integer(RetentionRuns::Batches).default(0))
                .col(big_integer(RetentionRuns::LargestBatch).default(0))
                .col(string_len_null(RetentionRuns::ErrorCode, 64))
                .col(string_len_null(RetentionRuns::ErrorMessage, 1000))
                .col(timestamp_with_time_zone_null(RetentionRuns::StartedAt))
                .col(timestamp_with_time_zone_null(RetentionRuns::FinishedAt))
                .col(timestamp_with_time_zone(RetentionRuns::CreatedAt))
                .col(timestamp_with_time_zone(RetentionRuns::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RetentionRuns::Table, RetentionRuns::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
    // One run per policy and scheduled tick (manual runs have no tick: NULLs are distinct).
    manager
        .create_index(
            Index::create()
                .name("uq_retention_runs_policy_tick")
                .table(RetentionRuns::Table)
                .col(RetentionRuns::PolicyId)
                .col(RetentionRuns::ScheduledFor)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_retention_runs_org_created")
                .table(RetentionRuns::Table)
                .col(RetentionRuns::OrganizationId)
                .col(RetentionRuns::CreatedAt)
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `legal_holds` table and its indexes.
async fn create_legal_holds(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LegalHolds::Table)
                .col(pk_uuid(LegalHolds::Id))
                .col(uuid(LegalHolds::OrganizationId))
                .col(string_len(LegalHolds::Scope, 16))
                .col(string_len_null(LegalHolds::IdentityKind, 16))
                .col(blob_null(LegalHolds::IdentityCiphertext))
                .col(string_len_null(LegalHolds::BlindIndex, 64))
                .col(uuid_null(LegalHolds::StoreId))
                .col(string_len_null(LegalHolds::TableName, 256))
                .col(text(LegalHolds::Reason))
                .col(string_len(LegalHolds::Owner, 200))
                .col(string_len_null(LegalHolds::Matter, 200))
                .col(timestamp_with_time_zone_null(LegalHolds::ExpiresAt))
                .col(uuid_null(LegalHolds::PlacedBy))
                .col(timestamp_with_time_zone(LegalHolds::PlacedAt))
                .col(timestamp_with_time_zone_null(LegalHolds::ReleasedAt))
                .col(uuid_null(LegalHolds::ReleasedBy))
                .col(text_null(LegalHolds::ReleaseReason))
                .foreign_key(
                    ForeignKey::create()
                        .from(LegalHolds::Table, LegalHolds::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_legal_holds_org_released")
                .table(LegalHolds::Table)
                .col(LegalHolds::OrganizationId)
                .col(LegalHolds::ReleasedAt)
                .to_owned(),
        )
        .await?;
    Ok(())
}
