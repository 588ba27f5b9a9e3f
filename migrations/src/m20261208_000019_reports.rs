//! The yearly request metrics and the dashboard: per organization, whether the customer portal
//! publishes the metrics (`/p/{slug}/metrics`, off until an admin switches it on), and an index
//! on the date a request was received, which every figure of a year is filtered by.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    PortalPublishMetrics,
}

#[derive(DeriveIden)]
enum Requests {
    Table,
    OrganizationId,
    ReceivedAt,
}

const INDEX: &str = "idx_requests_org_received";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut column = boolean(Organizations::PortalPublishMetrics).default(false).to_owned();
        manager.alter_table(Table::alter().table(Organizations::Table).add_column(&mut column).to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Requests::Table)
                    .col(Requests::OrganizationId)
                    .col(Requests::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Requests::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(Organizations::Table).drop_column(Organizations::PortalPublishMetrics).to_owned(),
            )
            .await
    }
}
