//! Per organization, what an access package tells the person besides their data (GDPR Art.
//! 15(1)–(2)): the controller's identity and address, how to reach its data protection officer,
//! the supervisory authority a complaint goes to, and its automated decision-making. All
//! optional; organizational facts, never a person's data.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Organizations {
    Table,
    Controller,
    DpoContact,
    SupervisoryAuthority,
    SupervisoryAuthorityUrl,
    AutomatedDecisions,
}

const COLUMNS: [Organizations; 5] = [
    Organizations::Controller,
    Organizations::DpoContact,
    Organizations::SupervisoryAuthority,
    Organizations::SupervisoryAuthorityUrl,
    Organizations::AutomatedDecisions,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in COLUMNS {
            let mut column = text_null(column);
            manager.alter_table(Table::alter().table(Organizations::Table).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager.alter_table(Table::alter().table(Organizations::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
