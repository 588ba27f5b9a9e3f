//! Organizations (tenants), operators and API keys.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Slug,
    Name,
    AutoApprove,
    DefaultDeadlineDays,
    DefaultExtensionDays,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    OrganizationId,
    Email,
    PasswordHash,
    Role,
    Disabled,
    TokenVersion,
    FailedLogins,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    Name,
    Prefix,
    SecretDigest,
    Scopes,
    CreatedBy,
    CreatedAt,
    RotatedAt,
    LastUsedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_organizations(manager).await?;
        create_operators(manager).await?;
        create_api_keys(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Operators::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Organizations::Table).to_owned()).await
    }
}

/// The `organizations` table and its indexes.
async fn create_organizations(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Organizations::Table)
                .col(pk_uuid(Organizations::Id))
                .col(string_len_uniq(Organizations::Slug, 64))
                .col(string_len(Organizations::Name, 200))
                .col(boolean(Organizations::AutoApprove).default(false))
                .col(integer(Organizations::DefaultDeadlineDays).default(30))
                .col(integer(Organizations::DefaultExtensionDays).default(0))
                .col(timestamp_with_time_zone(Organizations::CreatedAt))
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `operators` table and its indexes.
async fn create_operators(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Operators::Table)
                .col(pk_uuid(Operators::Id))
                .col(uuid(Operators::OrganizationId))
                .col(string_len_uniq(Operators::Email, 254))
                .col(string(Operators::PasswordHash))
                .col(string_len(Operators::Role, 16))
                .col(boolean(Operators::Disabled).default(false))
                .col(integer(Operators::TokenVersion).default(0))
                .col(integer(Operators::FailedLogins).default(0))
                .col(timestamp_with_time_zone_null(Operators::LockedUntil))
                .col(timestamp_with_time_zone(Operators::CreatedAt))
                .col(timestamp_with_time_zone(Operators::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Operators::Table, Operators::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_operators_organization")
                .table(Operators::Table)
                .col(Operators::OrganizationId)
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `api_keys` table and its indexes.
async fn create_api_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(pk_uuid(ApiKeys::Id))
                .col(uuid(ApiKeys::OrganizationId))
                .col(string_len(ApiKeys::Name, 100))
                .col(string_len_uniq(ApiKeys::Prefix, 32))
                .col(string_len(ApiKeys::SecretDigest, 64))
                .col(string_len(ApiKeys::Scopes, 200))
                .col(uuid(ApiKeys::CreatedBy))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone(ApiKeys::RotatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiKeys::Table, ApiKeys::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .foreign_key(
                    ForeignKey::create().from(ApiKeys::Table, ApiKeys::CreatedBy).to(Operators::Table, Operators::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_api_keys_organization")
                .table(ApiKeys::Table)
                .col(ApiKeys::OrganizationId)
                .to_owned(),
        )
        .await?;
    Ok(())
}
