//! The deletion ledger: append-only entries, tiles (roots of each 256 entries, for fast proofs)
//! and checkpoints (refused UPDATE/DELETE by triggers),
//! the per-organization head (a mutable cursor), intents for work done in customers' stores,
//! and the encrypted checkpoint-signing key.
//!
//! Ledger rows have no foreign key to requests: they outlive the requests they record.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    OrganizationId,
    Seq,
    RecordedAtUs,
    Kind,
    RequestId,
    PolicyId,
    Store,
    TableName,
    Action,
    RowCount,
    SubjectRefs,
    PrevHash,
    LeafHash,
}

#[derive(DeriveIden)]
enum LedgerSubjectRefs {
    Table,
    OrganizationId,
    SubjectRef,
    Seq,
}

#[derive(DeriveIden)]
enum LedgerTiles {
    Table,
    OrganizationId,
    Idx,
    Hash,
}

#[derive(DeriveIden)]
enum LedgerCheckpoints {
    Table,
    OrganizationId,
    TreeSize,
    SignedAtUs,
    RootHash,
    KeyId,
    Signature,
}

#[derive(DeriveIden)]
enum LedgerHeads {
    Table,
    OrganizationId,
    TreeSize,
    LastHash,
    Frontier,
    CheckpointedSize,
    CheckpointedAtUs,
}

#[derive(DeriveIden)]
enum LedgerIntents {
    Table,
    Id,
    OrganizationId,
    Kind,
    RequestId,
    PolicyId,
    Store,
    TableName,
    Action,
    SubjectRefs,
    State,
    RowCount,
    Seq,
    CreatedAtUs,
    SettledAtUs,
}

#[derive(DeriveIden)]
enum LedgerKeys {
    Table,
    Slot,
    KeyId,
    PublicKey,
    PrivateKeyCiphertext,
    CreatedAtUs,
}

/// Tables whose rows may only be inserted.
const APPEND_ONLY: [&str; 4] = ["ledger_entries", "ledger_subject_refs", "ledger_tiles", "ledger_checkpoints"];

fn belongs_to_org(table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(Organizations::Table, Organizations::Id).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_ledger_entries(manager).await?;
        create_ledger_subject_refs(manager).await?;
        create_ledger_tiles(manager).await?;
        create_ledger_checkpoints(manager).await?;
        create_ledger_heads(manager).await?;
        create_ledger_intents(manager).await?;
        create_ledger_keys(manager).await?;
        append_only_triggers(manager).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Rolling back would destroy the proof of every erasure: refuse.
        Err(DbErr::Migration("the deletion ledger cannot be rolled back".into()))
    }
}

/// The `ledger_entries` table and its indexes.
async fn create_ledger_entries(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerEntries::Table)
                .col(uuid(LedgerEntries::OrganizationId))
                .col(big_integer(LedgerEntries::Seq))
                .col(big_integer(LedgerEntries::RecordedAtUs))
                .col(string_len(LedgerEntries::Kind, 32))
                .col(uuid_null(LedgerEntries::RequestId))
                .col(uuid_null(LedgerEntries::PolicyId))
                .col(string_len_null(LedgerEntries::Store, 128))
                .col(string_len_null(LedgerEntries::TableName, 128))
                .col(string_len_null(LedgerEntries::Action, 128))
                .col(big_integer(LedgerEntries::RowCount))
                .col(blob(LedgerEntries::SubjectRefs))
                .col(blob(LedgerEntries::PrevHash))
                .col(blob(LedgerEntries::LeafHash))
                .primary_key(Index::create().col(LedgerEntries::OrganizationId).col(LedgerEntries::Seq))
                .foreign_key(&mut belongs_to_org(LedgerEntries::Table, LedgerEntries::OrganizationId))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_ledger_entries_request")
                .table(LedgerEntries::Table)
                .col(LedgerEntries::OrganizationId)
                .col(LedgerEntries::RequestId)
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `ledger_subject_refs` table and its indexes.
async fn create_ledger_subject_refs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerSubjectRefs::Table)
                .col(uuid(LedgerSubjectRefs::OrganizationId))
                .col(blob(LedgerSubjectRefs::SubjectRef))
                .col(big_integer(LedgerSubjectRefs::Seq))
                .primary_key(
                    Index::create()
                        .col(LedgerSubjectRefs::OrganizationId)
                        .col(LedgerSubjectRefs::SubjectRef)
                        .col(LedgerSubjectRefs::Seq),
                )
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `ledger_tiles` table and its indexes.
async fn create_ledger_tiles(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerTiles::Table)
                .col(uuid(LedgerTiles::OrganizationId))
                .col(big_integer(LedgerTiles::Idx))
                .col(blob(LedgerTiles::Hash))
                .primary_key(Index::create().col(LedgerTiles::OrganizationId).col(LedgerTiles::Idx))
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `ledger_checkpoints` table and its indexes.
async fn create_ledger_checkpoints(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerCheckpoints::Table)
                .col(uuid(LedgerCheckpoints::OrganizationId))
                .col(big_integer(LedgerCheckpoints::TreeSize))
                .col(big_integer(LedgerCheckpoints::SignedAtUs))
                .col(blob(LedgerCheckpoints::RootHash))
                .col(string_len(LedgerCheckpoints::KeyId, 32))
                .col(blob(LedgerCheckpoints::Signature))
                .primary_key(Index::create().col(LedgerCheckpoints::OrganizationId).col(LedgerCheckpoints::TreeSize))
                .foreign_key(&mut belongs_to_org(LedgerCheckpoints::Table, LedgerCheckpoints::OrganizationId))
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `ledger_heads` table and its indexes.
async fn create_ledger_heads(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerHeads::Table)
                .col(pk_uuid(LedgerHeads::OrganizationId))
                .col(big_integer(LedgerHeads::TreeSize))
                .col(blob(LedgerHeads::LastHash))
                .col(blob(LedgerHeads::Frontier))
                .col(big_integer(LedgerHeads::CheckpointedSize))
                .col(big_integer(LedgerHeads::CheckpointedAtUs))
                .foreign_key(&mut belongs_to_org(LedgerHeads::Table, LedgerHeads::OrganizationId))
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `ledger_intents` table and its indexes.
async fn create_ledger_intents(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerIntents::Table)
                .col(pk_uuid(LedgerIntents::Id))
                .col(uuid(LedgerIntents::OrganizationId))
                .col(string_len(LedgerIntents::Kind, 32))
                .col(uuid_null(LedgerIntents::RequestId))
                .col(uuid_null(LedgerIntents::PolicyId))
                .col(string_len(LedgerIntents::Store, 128))
                .col(string_len_null(LedgerIntents::TableName, 128))
                .col(string_len_null(LedgerIntents::Action, 128))
                .col(blob(LedgerIntents::SubjectRefs))
                .col(string_len(LedgerIntents::State, 16))
                .col(big_integer_null(LedgerIntents::RowCount))
                .col(big_integer_null(LedgerIntents::Seq))
                .col(big_integer(LedgerIntents::CreatedAtUs))
                .col(big_integer_null(LedgerIntents::SettledAtUs))
                .foreign_key(&mut belongs_to_org(LedgerIntents::Table, LedgerIntents::OrganizationId))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_ledger_intents_state")
                .table(LedgerIntents::Table)
                .col(LedgerIntents::State)
                .col(LedgerIntents::CreatedAtUs)
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `ledger_keys` table and its indexes.
async fn create_ledger_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerKeys::Table)
                .col(string_len(LedgerKeys::Slot, 32).primary_key())
                .col(string_len(LedgerKeys::KeyId, 32))
                .col(blob(LedgerKeys::PublicKey))
                .col(blob(LedgerKeys::PrivateKeyCiphertext))
                .col(big_integer(LedgerKeys::CreatedAtUs))
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// Triggers that refuse updates and deletes of the append-only tables.
async fn append_only_triggers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            db.execute_unprepared(
                "CREATE FUNCTION lethe_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'the deletion ledger is append-only (% on %)', TG_OP, TG_TABLE_NAME; END $$",
            )
            .await?;
            for table in APPEND_ONLY {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION lethe_ledger_append_only()"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                     FOR EACH STATEMENT EXECUTE FUNCTION lethe_ledger_append_only()"
                ))
                .await?;
            }
        }
        _ => {
            for table in APPEND_ONLY {
                for op in ["UPDATE", "DELETE"] {
                    let lower = op.to_lowercase();
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_no_{lower} BEFORE {op} ON {table} \
                         BEGIN SELECT RAISE(ABORT, 'the deletion ledger is append-only'); END"
                    ))
                    .await?;
                }
            }
        }
    }
    Ok(())
}
