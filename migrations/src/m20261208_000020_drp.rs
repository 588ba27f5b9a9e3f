//! The Data Rights Protocol 1.0, Lethe as the covered business: the authorized agents an admin
//! registered (their id in the DRP directory, the organization's business id as the agent knows
//! it, the Ed25519 key they sign with, a contact kept encrypted, and the keyed digest of the
//! bearer token the pair-wise key setup issued, with the setup's `issued-at`: a later setup must
//! be issued later, so a replayed one is refused), and the requests they filed (the agent's own
//! request id, the exercise, a digest of the signed message that refuses a replay, the status
//! callback kept encrypted and where its delivery stands).

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
enum DrpAgents {
    Table,
    Id,
    OrganizationId,
    AgentId,
    BusinessId,
    Name,
    VerifyKey,
    ContactCiphertext,
    TokenDigest,
    TokenIssuedAt,
    SetupIssuedAt,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DrpRequests {
    Table,
    Id,
    OrganizationId,
    AgentId,
    AgentRequestId,
    Exercise,
    MessageDigest,
    CallbackCiphertext,
    CallbackOpen,
    CallbackStatus,
    CallbackSent,
    CallbackAttempts,
    CallbackNextAt,
    CallbackError,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_agents(manager).await?;
        create_requests(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DrpRequests::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(DrpAgents::Table).to_owned()).await
    }
}

/// The `drp_agents` table and its indexes.
async fn create_agents(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(DrpAgents::Table)
                .col(pk_uuid(DrpAgents::Id))
                .col(uuid(DrpAgents::OrganizationId))
                .col(string_len(DrpAgents::AgentId, 64))
                .col(string_len(DrpAgents::BusinessId, 64))
                .col(string_len(DrpAgents::Name, 200))
                .col(blob(DrpAgents::VerifyKey))
                .col(blob_null(DrpAgents::ContactCiphertext))
                .col(string_len_null(DrpAgents::TokenDigest, 64))
                .col(timestamp_with_time_zone_null(DrpAgents::TokenIssuedAt))
                .col(timestamp_with_time_zone_null(DrpAgents::SetupIssuedAt))
                .col(boolean(DrpAgents::Enabled).default(true))
                .col(timestamp_with_time_zone(DrpAgents::CreatedAt))
                .col(timestamp_with_time_zone(DrpAgents::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(DrpAgents::Table, DrpAgents::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("uq_drp_agents_agent_business")
                .table(DrpAgents::Table)
                .col(DrpAgents::AgentId)
                .col(DrpAgents::BusinessId)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("uq_drp_agents_token")
                .table(DrpAgents::Table)
                .col(DrpAgents::TokenDigest)
                .unique()
                .to_owned(),
        )
        .await
}

/// The `drp_requests` table and its indexes.
async fn create_requests(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(DrpRequests::Table)
                .col(pk_uuid(DrpRequests::Id))
                .col(uuid(DrpRequests::OrganizationId))
                .col(uuid(DrpRequests::AgentId))
                .col(string_len_null(DrpRequests::AgentRequestId, 200))
                .col(string_len(DrpRequests::Exercise, 32))
                .col(string_len(DrpRequests::MessageDigest, 64))
                .col(blob_null(DrpRequests::CallbackCiphertext))
                .col(boolean(DrpRequests::CallbackOpen).default(false))
                .col(string_len_null(DrpRequests::CallbackStatus, 64))
                .col(string_len_null(DrpRequests::CallbackSent, 64))
                .col(integer(DrpRequests::CallbackAttempts).default(0))
                .col(timestamp_with_time_zone_null(DrpRequests::CallbackNextAt))
                .col(string_len_null(DrpRequests::CallbackError, 64))
                .col(timestamp_with_time_zone(DrpRequests::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(DrpRequests::Table, DrpRequests::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .foreign_key(
                    ForeignKey::create().from(DrpRequests::Table, DrpRequests::Id).to(Requests::Table, Requests::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DrpRequests::Table, DrpRequests::AgentId)
                        .to(DrpAgents::Table, DrpAgents::Id),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("uq_drp_requests_message")
                .table(DrpRequests::Table)
                .col(DrpRequests::MessageDigest)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_drp_requests_callback")
                .table(DrpRequests::Table)
                .col(DrpRequests::CallbackOpen)
                .col(DrpRequests::CallbackNextAt)
                .to_owned(),
        )
        .await
}
