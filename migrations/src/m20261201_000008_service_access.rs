//! What store tasks returned for access requests, until the package is built: the rows an HTTP
//! service sent, or the file an operator attached to a manual task. One row per task, its
//! content AES-256-GCM-encrypted under the master key and bound to the organization and task;
//! deleted once the package holds it, or when the export is purged.

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
enum TaskReturns {
    Table,
    Id,
    OrganizationId,
    RequestId,
    TaskId,
    Kind,
    Rows,
    Bytes,
    Ciphertext,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TaskReturns::Table)
                    .col(pk_uuid(TaskReturns::Id))
                    .col(uuid(TaskReturns::OrganizationId))
                    .col(uuid(TaskReturns::RequestId))
                    .col(uuid(TaskReturns::TaskId))
                    .col(string_len(TaskReturns::Kind, 16))
                    .col(big_integer(TaskReturns::Rows).default(0))
                    .col(big_integer(TaskReturns::Bytes).default(0))
                    .col(blob(TaskReturns::Ciphertext))
                    .col(timestamp_with_time_zone(TaskReturns::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskReturns::Table, TaskReturns::OrganizationId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskReturns::Table, TaskReturns::RequestId)
                            .to(Requests::Table, Requests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_task_returns_task")
                    .table(TaskReturns::Table)
                    .col(TaskReturns::TaskId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_returns_request")
                    .table(TaskReturns::Table)
                    .col(TaskReturns::RequestId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TaskReturns::Table).to_owned()).await
    }
}
