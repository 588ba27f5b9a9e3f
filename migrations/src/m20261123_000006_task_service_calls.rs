//! Store tasks worked by an HTTP service: when the next call is due (retries with backoff) and
//! when the service accepted the work for later completion by callback.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum StoreTasks {
    Table,
    NextAttemptAt,
    AcceptedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(StoreTasks::Table)
                    .add_column(timestamp_with_time_zone_null(StoreTasks::NextAttemptAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(StoreTasks::Table)
                    .add_column(timestamp_with_time_zone_null(StoreTasks::AcceptedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(StoreTasks::Table).drop_column(StoreTasks::AcceptedAt).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(StoreTasks::Table).drop_column(StoreTasks::NextAttemptAt).to_owned())
            .await
    }
}
