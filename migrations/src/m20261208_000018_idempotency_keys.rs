//! Idempotency keys of trusted intake: per organization and caller, the keyed digest of the key
//! an integration sent, the keyed digest of the body it came with, the request it created and
//! the first answer (encrypted: it holds the status token), so a retried call gets that answer
//! and the same key with another body is refused.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    OrganizationId,
    CallerId,
    KeyDigest,
    BodyDigest,
    RequestId,
    ResponseCiphertext,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(pk_uuid(IdempotencyKeys::Id))
                    .col(uuid(IdempotencyKeys::OrganizationId))
                    .col(uuid(IdempotencyKeys::CallerId))
                    .col(string_len(IdempotencyKeys::KeyDigest, 64))
                    .col(string_len(IdempotencyKeys::BodyDigest, 64))
                    .col(uuid(IdempotencyKeys::RequestId))
                    .col(blob(IdempotencyKeys::ResponseCiphertext))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdempotencyKeys::Table, IdempotencyKeys::OrganizationId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_idempotency_keys_caller_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::OrganizationId)
                    .col(IdempotencyKeys::CallerId)
                    .col(IdempotencyKeys::KeyDigest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_created")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await
    }
}
