//! Access exports: one row per access request, for its encrypted package (file name, the
//! per-export key wrapped under the master key, the digest of the download link, downloads,
//! expiry) through its states `building` -> `ready` -> `purged`.

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
enum Exports {
    Table,
    Id,
    OrganizationId,
    RequestId,
    State,
    FileName,
    KeyCiphertext,
    TokenDigest,
    RowCount,
    Counts,
    FileBytes,
    Downloads,
    MaxDownloads,
    ExpiresAt,
    ReadyAt,
    MailedAt,
    PurgedAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Exports::Table)
                    .col(pk_uuid(Exports::Id))
                    .col(uuid(Exports::OrganizationId))
                    .col(uuid(Exports::RequestId))
                    .col(string_len(Exports::State, 16))
                    .col(string_len_null(Exports::FileName, 128))
                    .col(blob_null(Exports::KeyCiphertext))
                    .col(string_len_null(Exports::TokenDigest, 64))
                    .col(big_integer(Exports::RowCount).default(0))
                    .col(json_null(Exports::Counts))
                    .col(big_integer(Exports::FileBytes).default(0))
                    .col(integer(Exports::Downloads).default(0))
                    .col(integer(Exports::MaxDownloads))
                    .col(timestamp_with_time_zone_null(Exports::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Exports::ReadyAt))
                    .col(timestamp_with_time_zone_null(Exports::MailedAt))
                    .col(timestamp_with_time_zone_null(Exports::PurgedAt))
                    .col(timestamp_with_time_zone(Exports::CreatedAt))
                    .col(timestamp_with_time_zone(Exports::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Exports::Table, Exports::OrganizationId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create().from(Exports::Table, Exports::RequestId).to(Requests::Table, Requests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_exports_request")
                    .table(Exports::Table)
                    .col(Exports::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_exports_token_digest")
                    .table(Exports::Table)
                    .col(Exports::TokenDigest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_exports_state_expires")
                    .table(Exports::Table)
                    .col(Exports::State)
                    .col(Exports::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Exports::Table).to_owned()).await
    }
}
