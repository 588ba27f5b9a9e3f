//! Art. 19 recipient notifications (one task per request and recipient a store's data map
//! names) and per-organization settings (the export link lifetime).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    ExportLinkDays,
}

#[derive(DeriveIden)]
enum Requests {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RecipientTasks {
    Table,
    Id,
    OrganizationId,
    RequestId,
    StoreId,
    StoreName,
    Recipient,
    Contact,
    Instructions,
    Tables,
    Status,
    SettledAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RecipientTasks::Table)
                    .col(pk_uuid(RecipientTasks::Id))
                    .col(uuid(RecipientTasks::OrganizationId))
                    .col(uuid(RecipientTasks::RequestId))
                    .col(uuid(RecipientTasks::StoreId))
                    .col(string_len(RecipientTasks::StoreName, 64))
                    .col(string_len(RecipientTasks::Recipient, 128))
                    .col(string_len_null(RecipientTasks::Contact, 256))
                    .col(text(RecipientTasks::Instructions))
                    .col(json_null(RecipientTasks::Tables))
                    .col(string_len(RecipientTasks::Status, 16))
                    .col(timestamp_with_time_zone_null(RecipientTasks::SettledAt))
                    .col(timestamp_with_time_zone(RecipientTasks::CreatedAt))
                    .col(timestamp_with_time_zone(RecipientTasks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecipientTasks::Table, RecipientTasks::OrganizationId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecipientTasks::Table, RecipientTasks::RequestId)
                            .to(Requests::Table, Requests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One task per request, store and recipient: fulfilment run twice creates each once.
        manager
            .create_index(
                Index::create()
                    .name("uq_recipient_tasks_request_store_recipient")
                    .table(RecipientTasks::Table)
                    .col(RecipientTasks::RequestId)
                    .col(RecipientTasks::StoreId)
                    .col(RecipientTasks::Recipient)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(integer_null(Organizations::ExportLinkDays))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Organizations::Table).drop_column(Organizations::ExportLinkDays).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(RecipientTasks::Table).to_owned()).await
    }
}
