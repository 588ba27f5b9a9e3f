//! Registered stores (with encrypted connection secrets and data maps) and the per-request,
//! per-store tasks that locating, export and erasure work through.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Requests {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Stores {
    Table,
    Id,
    OrganizationId,
    Name,
    Kind,
    Description,
    ConnectionCiphertext,
    Instructions,
    DataMap,
    DataMapVersion,
    DataMapSavedAt,
    ProposedMap,
    DiscoveryReport,
    DiscoveredAt,
    LastTestAt,
    LastTestOk,
    LastTestCode,
    LastTestMessage,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StoreTasks {
    Table,
    Id,
    OrganizationId,
    RequestId,
    StoreId,
    StoreName,
    StoreKind,
    Status,
    Counts,
    TotalRows,
    ErrorCode,
    ErrorMessage,
    Attempts,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_stores(manager).await?;
        create_store_tasks(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(StoreTasks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Stores::Table).to_owned()).await
    }
}

/// The `stores` table and its indexes.
async fn create_stores(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Stores::Table)
                .col(pk_uuid(Stores::Id))
                .col(uuid(Stores::OrganizationId))
                .col(string_len(Stores::Name, 64))
                .col(string_len(Stores::Kind, 16))
                .col(string_len_null(Stores::Description, 2000))
                .col(blob_null(Stores::ConnectionCiphertext))
                .col(text_null(Stores::Instructions))
                .col(json_null(Stores::DataMap))
                .col(integer(Stores::DataMapVersion).default(0))
                .col(timestamp_with_time_zone_null(Stores::DataMapSavedAt))
                .col(json_null(Stores::ProposedMap))
                .col(json_null(Stores::DiscoveryReport))
                .col(timestamp_with_time_zone_null(Stores::DiscoveredAt))
                .col(timestamp_with_time_zone_null(Stores::LastTestAt))
                .col(boolean_null(Stores::LastTestOk))
                .col(string_len_null(Stores::LastTestCode, 32))
                .col(string_len_null(Stores::LastTestMessage, 2000))
                .col(timestamp_with_time_zone(Stores::CreatedAt))
                .col(timestamp_with_time_zone(Stores::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Stores::Table, Stores::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("uq_stores_org_name")
                .table(Stores::Table)
                .col(Stores::OrganizationId)
                .col(Stores::Name)
                .unique()
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `store_tasks` table and its indexes.
async fn create_store_tasks(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(StoreTasks::Table)
                .col(pk_uuid(StoreTasks::Id))
                .col(uuid(StoreTasks::OrganizationId))
                .col(uuid(StoreTasks::RequestId))
                .col(uuid(StoreTasks::StoreId))
                .col(string_len(StoreTasks::StoreName, 64))
                .col(string_len(StoreTasks::StoreKind, 16))
                .col(string_len(StoreTasks::Status, 24))
                .col(json_null(StoreTasks::Counts))
                .col(big_integer(StoreTasks::TotalRows).default(0))
                .col(string_len_null(StoreTasks::ErrorCode, 32))
                .col(string_len_null(StoreTasks::ErrorMessage, 2000))
                .col(integer(StoreTasks::Attempts).default(0))
                .col(timestamp_with_time_zone(StoreTasks::CreatedAt))
                .col(timestamp_with_time_zone(StoreTasks::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(StoreTasks::Table, StoreTasks::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(StoreTasks::Table, StoreTasks::RequestId)
                        .to(Requests::Table, Requests::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("uq_store_tasks_request_store")
                .table(StoreTasks::Table)
                .col(StoreTasks::RequestId)
                .col(StoreTasks::StoreId)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create().name("idx_store_tasks_store").table(StoreTasks::Table).col(StoreTasks::StoreId).to_owned(),
        )
        .await?;
    Ok(())
}
