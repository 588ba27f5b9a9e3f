//! Per organization, how many days before its due date a request counts as due soon in the
//! console's queue (its colour and the "due soon" filter); 7 until an admin changes it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    DueSoonDays,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut column = integer(Organizations::DueSoonDays).default(7).to_owned();
        manager.alter_table(Table::alter().table(Organizations::Table).add_column(&mut column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::DueSoonDays).to_owned())
            .await
    }
}
