//! The customer portal: per organization its branding (a small uploaded logo and its media
//! type, a brand colour, the privacy-policy URL) and which further identifiers its request form
//! asks for; per request the language the person chose, for the e-mails they get.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    PortalLogo,
    PortalLogoType,
    PortalColour,
    PrivacyPolicyUrl,
    PortalAskPhone,
    PortalAskCustomerId,
}

#[derive(DeriveIden)]
enum Requests {
    Table,
    Locale,
}

/// One `ALTER TABLE ... ADD COLUMN` each: SQLite takes one column per statement.
async fn add_column(manager: &SchemaManager<'_>, table: impl IntoIden, column: ColumnDef) -> Result<(), DbErr> {
    let mut column = column;
    manager.alter_table(Table::alter().table(table).add_column(&mut column).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, Organizations::Table, blob_null(Organizations::PortalLogo)).await?;
        add_column(manager, Organizations::Table, string_len_null(Organizations::PortalLogoType, 32)).await?;
        add_column(manager, Organizations::Table, string_len_null(Organizations::PortalColour, 7)).await?;
        add_column(manager, Organizations::Table, string_len_null(Organizations::PrivacyPolicyUrl, 2048)).await?;
        add_column(manager, Organizations::Table, boolean(Organizations::PortalAskPhone).default(false).to_owned())
            .await?;
        add_column(
            manager,
            Organizations::Table,
            boolean(Organizations::PortalAskCustomerId).default(false).to_owned(),
        )
        .await?;
        add_column(manager, Requests::Table, string_len(Requests::Locale, 8).default("en").to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            (Requests::Table.into_iden(), Requests::Locale.into_iden()),
            (Organizations::Table.into_iden(), Organizations::PortalAskCustomerId.into_iden()),
            (Organizations::Table.into_iden(), Organizations::PortalAskPhone.into_iden()),
            (Organizations::Table.into_iden(), Organizations::PrivacyPolicyUrl.into_iden()),
            (Organizations::Table.into_iden(), Organizations::PortalColour.into_iden()),
            (Organizations::Table.into_iden(), Organizations::PortalLogoType.into_iden()),
            (Organizations::Table.into_iden(), Organizations::PortalLogo.into_iden()),
        ] {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
