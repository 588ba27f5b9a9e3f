//! Legal holds remember which expiry warnings were queued for their owner (`expiry_warnings`: 0
//! none, 1 the 7-day warning, 2 the 1-day warning) and which were sent
//! (`expiry_warnings_sent`), so each is sent once. Retention runs count how
//! often they were resumed after a stop (`resumes`), which keys each resumption's job.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum LegalHolds {
    Table,
    ExpiryWarnings,
    ExpiryWarningsSent,
}

#[derive(DeriveIden)]
enum RetentionRuns {
    Table,
    Resumes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LegalHolds::Table)
                    .add_column(small_integer(LegalHolds::ExpiryWarnings).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LegalHolds::Table)
                    .add_column(small_integer(LegalHolds::ExpiryWarningsSent).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RetentionRuns::Table)
                    .add_column(integer(RetentionRuns::Resumes).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(RetentionRuns::Table).drop_column(RetentionRuns::Resumes).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(LegalHolds::Table).drop_column(LegalHolds::ExpiryWarningsSent).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(LegalHolds::Table).drop_column(LegalHolds::ExpiryWarnings).to_owned())
            .await
    }
}
