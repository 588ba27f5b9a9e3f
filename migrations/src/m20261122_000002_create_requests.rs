//! Requests, their encrypted identities, timeline events and verification challenges.

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
    OrganizationId,
    Kind,
    Regime,
    State,
    HeldFrom,
    EmailIndex,
    StatusTokenDigest,
    ReceivedAt,
    DueAt,
    OriginalDueAt,
    AcknowledgementDueAt,
    ExtendedAt,
    ExtensionReason,
    VerifiedAt,
    DenialReason,
    ClosedAt,
    MessageCiphertext,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SubjectIdentities {
    Table,
    Id,
    OrganizationId,
    RequestId,
    Kind,
    Ciphertext,
    BlindIndex,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RequestEvents {
    Table,
    Id,
    OrganizationId,
    RequestId,
    At,
    ActorKind,
    ActorId,
    Kind,
    FromState,
    ToState,
    Reason,
    Detail,
}

#[derive(DeriveIden)]
enum VerificationChallenges {
    Table,
    Id,
    OrganizationId,
    RequestId,
    CodeDigest,
    ExpiresAt,
    Attempts,
    MaxAttempts,
    ConsumedAt,
    CreatedAt,
}

fn belongs_to_org(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(Organizations::Table, Organizations::Id).to_owned()
}

fn belongs_to_request(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(Requests::Table, Requests::Id).to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut idx = Index::create().name(name).table(table).to_owned();
    for col in cols {
        idx.col(col);
    }
    idx
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_requests(manager).await?;
        create_subject_identities(manager).await?;
        create_request_events(manager).await?;
        create_verification_challenges(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            VerificationChallenges::Table.into_iden(),
            RequestEvents::Table.into_iden(),
            SubjectIdentities::Table.into_iden(),
            Requests::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

/// The `requests` table and its indexes.
async fn create_requests(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Requests::Table)
                .col(pk_uuid(Requests::Id))
                .col(uuid(Requests::OrganizationId))
                .col(string_len(Requests::Kind, 24))
                .col(string_len(Requests::Regime, 16))
                .col(string_len(Requests::State, 24))
                .col(string_len_null(Requests::HeldFrom, 24))
                .col(string_len(Requests::EmailIndex, 64))
                .col(string_len(Requests::StatusTokenDigest, 64))
                .col(timestamp_with_time_zone(Requests::ReceivedAt))
                .col(timestamp_with_time_zone(Requests::DueAt))
                .col(timestamp_with_time_zone(Requests::OriginalDueAt))
                .col(timestamp_with_time_zone_null(Requests::AcknowledgementDueAt))
                .col(timestamp_with_time_zone_null(Requests::ExtendedAt))
                .col(string_len_null(Requests::ExtensionReason, 2000))
                .col(timestamp_with_time_zone_null(Requests::VerifiedAt))
                .col(string_len_null(Requests::DenialReason, 2000))
                .col(timestamp_with_time_zone_null(Requests::ClosedAt))
                .col(blob_null(Requests::MessageCiphertext))
                .col(timestamp_with_time_zone(Requests::UpdatedAt))
                .foreign_key(&mut belongs_to_org(Requests::Table, Requests::OrganizationId))
                .to_owned(),
        )
        .await?;
    for idx in [
        index(
            "idx_requests_org_state",
            Requests::Table,
            vec![Requests::OrganizationId.into_iden(), Requests::State.into_iden()],
        ),
        index(
            "idx_requests_org_due",
            Requests::Table,
            vec![Requests::OrganizationId.into_iden(), Requests::DueAt.into_iden()],
        ),
        index(
            "idx_requests_org_email",
            Requests::Table,
            vec![Requests::OrganizationId.into_iden(), Requests::EmailIndex.into_iden()],
        ),
    ] {
        manager.create_index(idx).await?;
    }
    Ok(())
}

/// The `subject_identities` table and its indexes.
async fn create_subject_identities(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(SubjectIdentities::Table)
                .col(pk_uuid(SubjectIdentities::Id))
                .col(uuid(SubjectIdentities::OrganizationId))
                .col(uuid(SubjectIdentities::RequestId))
                .col(string_len(SubjectIdentities::Kind, 16))
                .col(blob(SubjectIdentities::Ciphertext))
                .col(string_len(SubjectIdentities::BlindIndex, 64))
                .col(timestamp_with_time_zone(SubjectIdentities::CreatedAt))
                .foreign_key(&mut belongs_to_org(SubjectIdentities::Table, SubjectIdentities::OrganizationId))
                .foreign_key(&mut belongs_to_request(SubjectIdentities::Table, SubjectIdentities::RequestId))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "idx_subject_identities_lookup",
            SubjectIdentities::Table,
            vec![
                SubjectIdentities::OrganizationId.into_iden(),
                SubjectIdentities::Kind.into_iden(),
                SubjectIdentities::BlindIndex.into_iden(),
            ],
        ))
        .await?;
    manager
        .create_index(index(
            "idx_subject_identities_request",
            SubjectIdentities::Table,
            vec![SubjectIdentities::RequestId.into_iden()],
        ))
        .await?;
    Ok(())
}

/// The `request_events` table and its indexes.
async fn create_request_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RequestEvents::Table)
                .col(pk_uuid(RequestEvents::Id))
                .col(uuid(RequestEvents::OrganizationId))
                .col(uuid(RequestEvents::RequestId))
                .col(timestamp_with_time_zone(RequestEvents::At))
                .col(string_len(RequestEvents::ActorKind, 16))
                .col(uuid_null(RequestEvents::ActorId))
                .col(string_len(RequestEvents::Kind, 32))
                .col(string_len_null(RequestEvents::FromState, 24))
                .col(string_len_null(RequestEvents::ToState, 24))
                .col(string_len_null(RequestEvents::Reason, 2000))
                .col(json_null(RequestEvents::Detail))
                .foreign_key(&mut belongs_to_org(RequestEvents::Table, RequestEvents::OrganizationId))
                .foreign_key(&mut belongs_to_request(RequestEvents::Table, RequestEvents::RequestId))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "idx_request_events_request",
            RequestEvents::Table,
            vec![RequestEvents::RequestId.into_iden(), RequestEvents::Id.into_iden()],
        ))
        .await?;
    Ok(())
}

/// The `verification_challenges` table and its indexes.
async fn create_verification_challenges(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(VerificationChallenges::Table)
                .col(pk_uuid(VerificationChallenges::Id))
                .col(uuid(VerificationChallenges::OrganizationId))
                .col(uuid(VerificationChallenges::RequestId))
                .col(string_len(VerificationChallenges::CodeDigest, 64))
                .col(timestamp_with_time_zone(VerificationChallenges::ExpiresAt))
                .col(integer(VerificationChallenges::Attempts).default(0))
                .col(integer(VerificationChallenges::MaxAttempts))
                .col(timestamp_with_time_zone_null(VerificationChallenges::ConsumedAt))
                .col(timestamp_with_time_zone(VerificationChallenges::CreatedAt))
                .foreign_key(&mut belongs_to_org(VerificationChallenges::Table, VerificationChallenges::OrganizationId))
                .foreign_key(&mut belongs_to_request(VerificationChallenges::Table, VerificationChallenges::RequestId))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "idx_verification_challenges_request",
            VerificationChallenges::Table,
            vec![VerificationChallenges::RequestId.into_iden(), VerificationChallenges::CreatedAt.into_iden()],
        ))
        .await?;
    Ok(())
}
