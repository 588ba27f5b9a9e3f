//! The operator console: TOTP second factors (secrets encrypted, the last accepted step against
//! replays, one-use recovery codes stored as keyed digests), the organization's `mfa_required`
//! setting, the client address on timeline events, and account events (sign-ins, failures,
//! MFA changes, signing out everywhere) for the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    MfaRequired,
}

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    MfaSecret,
    MfaPendingSecret,
    MfaEnabledAt,
    MfaLastStep,
}

#[derive(DeriveIden)]
enum RequestEvents {
    Table,
    IpAddress,
}

#[derive(DeriveIden)]
enum OperatorRecoveryCodes {
    Table,
    Id,
    OrganizationId,
    OperatorId,
    Digest,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OperatorEvents {
    Table,
    Id,
    OrganizationId,
    OperatorId,
    At,
    Kind,
    IpAddress,
    Reason,
    Detail,
}

/// One `ALTER TABLE ... ADD COLUMN` each: SQLite takes one column per statement.
async fn add_column(manager: &SchemaManager<'_>, table: impl IntoIden, column: ColumnDef) -> Result<(), DbErr> {
    let mut column = column;
    manager.alter_table(Table::alter().table(table).add_column(&mut column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, Organizations::Table, boolean(Organizations::MfaRequired).default(false).to_owned())
            .await?;
        add_column(manager, Operators::Table, blob_null(Operators::MfaSecret)).await?;
        add_column(manager, Operators::Table, blob_null(Operators::MfaPendingSecret)).await?;
        add_column(manager, Operators::Table, timestamp_with_time_zone_null(Operators::MfaEnabledAt)).await?;
        add_column(manager, Operators::Table, big_integer_null(Operators::MfaLastStep)).await?;
        add_column(manager, RequestEvents::Table, string_len_null(RequestEvents::IpAddress, 45)).await?;
        manager
            .create_table(
                Table::create()
                    .table(OperatorRecoveryCodes::Table)
                    .col(pk_uuid(OperatorRecoveryCodes::Id))
                    .col(uuid(OperatorRecoveryCodes::OrganizationId))
                    .col(uuid(OperatorRecoveryCodes::OperatorId))
                    .col(string_len(OperatorRecoveryCodes::Digest, 64))
                    .col(timestamp_with_time_zone_null(OperatorRecoveryCodes::UsedAt))
                    .col(timestamp_with_time_zone(OperatorRecoveryCodes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorRecoveryCodes::Table, OperatorRecoveryCodes::OrganizationId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorRecoveryCodes::Table, OperatorRecoveryCodes::OperatorId)
                            .to(Operators::Table, Operators::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_operator_recovery_codes_operator")
                    .table(OperatorRecoveryCodes::Table)
                    .col(OperatorRecoveryCodes::OperatorId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OperatorEvents::Table)
                    .col(pk_uuid(OperatorEvents::Id))
                    .col(uuid(OperatorEvents::OrganizationId))
                    .col(uuid(OperatorEvents::OperatorId))
                    .col(timestamp_with_time_zone(OperatorEvents::At))
                    .col(string_len(OperatorEvents::Kind, 32))
                    .col(string_len_null(OperatorEvents::IpAddress, 45))
                    .col(text_null(OperatorEvents::Reason))
                    .col(json_null(OperatorEvents::Detail))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorEvents::Table, OperatorEvents::OrganizationId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorEvents::Table, OperatorEvents::OperatorId)
                            .to(Operators::Table, Operators::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_operator_events_org")
                    .table(OperatorEvents::Table)
                    .col(OperatorEvents::OrganizationId)
                    .col(OperatorEvents::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OperatorEvents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OperatorRecoveryCodes::Table).to_owned()).await?;
        for (table, column) in [
            (RequestEvents::Table.into_iden(), RequestEvents::IpAddress.into_iden()),
            (Operators::Table.into_iden(), Operators::MfaLastStep.into_iden()),
            (Operators::Table.into_iden(), Operators::MfaEnabledAt.into_iden()),
            (Operators::Table.into_iden(), Operators::MfaPendingSecret.into_iden()),
            (Operators::Table.into_iden(), Operators::MfaSecret.into_iden()),
            (Organizations::Table.into_iden(), Organizations::MfaRequired.into_iden()),
        ] {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
