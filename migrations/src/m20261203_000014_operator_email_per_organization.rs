//! Operator e-mail addresses unique per organization instead of across the installation: one
//! address may hold an account in several organizations, so creating an operator no longer
//! tells an admin whether another organization uses the address. A composite unique index
//! (organization, e-mail) replaces the column's unique constraint, and a plain index on the
//! address keeps sign-in's lookup fast.
//!
//! PostgreSQL drops the constraint; SQLite cannot drop a column's UNIQUE, so the table is
//! rebuilt (its documented twelve-step procedure: foreign keys off on one connection, a new
//! table, the rows copied, the old one dropped, the new one renamed, foreign keys checked).

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseExecutor};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    OrganizationId,
    Email,
    PasswordHash,
    Role,
    Disabled,
    TokenVersion,
    FailedLogins,
    LockedUntil,
    MfaSecret,
    MfaPendingSecret,
    MfaEnabledAt,
    MfaLastStep,
    CreatedAt,
    UpdatedAt,
}

/// The rebuilt table's temporary name (SQLite).
const NEW_TABLE: &str = "operators_rebuilt";
/// The per-organization unique index.
const UNIQUE_INDEX: &str = "idx_operators_organization_email";
/// Sign-in's lookup by address.
const EMAIL_INDEX: &str = "idx_operators_email";
/// PostgreSQL's name for the column's unique constraint of the first migration.
const PG_UNIQUE: &str = "operators_email_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => rebuild_sqlite(manager, false).await?,
            _ => {
                let sql = format!("ALTER TABLE \"operators\" DROP CONSTRAINT \"{PG_UNIQUE}\"");
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        create_indexes(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Fails if an address is used in two organizations by then: resolve those first.
        for name in [UNIQUE_INDEX, EMAIL_INDEX] {
            manager.drop_index(Index::drop().name(name).table(Operators::Table).to_owned()).await?;
        }
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => rebuild_sqlite(manager, true).await,
            _ => {
                let sql = format!("ALTER TABLE \"operators\" ADD CONSTRAINT \"{PG_UNIQUE}\" UNIQUE (\"email\")");
                manager.get_connection().execute_unprepared(&sql).await.map(drop)
            }
        }
    }
}

/// The per-organization unique index and the index on the address.
async fn create_indexes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_index(
            Index::create()
                .name(UNIQUE_INDEX)
                .table(Operators::Table)
                .col(Operators::OrganizationId)
                .col(Operators::Email)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(Index::create().name(EMAIL_INDEX).table(Operators::Table).col(Operators::Email).to_owned())
        .await
}

/// The `operators` table as it stands after the console's second-factor migration, named
/// `name`, with the address unique across the installation (`globally_unique`) or not.
fn operators_table(name: &str, globally_unique: bool) -> TableCreateStatement {
    let email =
        if globally_unique { string_len_uniq(Operators::Email, 254) } else { string_len(Operators::Email, 254) };
    Table::create()
        .table(Alias::new(name))
        .col(pk_uuid(Operators::Id))
        .col(uuid(Operators::OrganizationId))
        .col(email)
        .col(string(Operators::PasswordHash))
        .col(string_len(Operators::Role, 16))
        .col(boolean(Operators::Disabled).default(false))
        .col(integer(Operators::TokenVersion).default(0))
        .col(integer(Operators::FailedLogins).default(0))
        .col(timestamp_with_time_zone_null(Operators::LockedUntil))
        .col(timestamp_with_time_zone(Operators::CreatedAt))
        .col(timestamp_with_time_zone(Operators::UpdatedAt))
        .col(blob_null(Operators::MfaSecret))
        .col(blob_null(Operators::MfaPendingSecret))
        .col(timestamp_with_time_zone_null(Operators::MfaEnabledAt))
        .col(big_integer_null(Operators::MfaLastStep))
        .foreign_key(
            ForeignKey::create()
                .from(Alias::new(name), Operators::OrganizationId)
                .to(Organizations::Table, Organizations::Id),
        )
        .to_owned()
}

/// Rebuilds SQLite's `operators` with the address unique across the installation
/// (`globally_unique`, for `down`) or not, on one connection with foreign keys off (other
/// tables' references to `operators` stay as they are and find the new table by its name).
async fn rebuild_sqlite(manager: &SchemaManager<'_>, globally_unique: bool) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::sqlx;
    let DatabaseExecutor::Connection(db) = manager.get_connection() else {
        return Err(DbErr::Migration("rebuilding operators on SQLite needs a connection, not a transaction".into()));
    };
    let fail = |e: sqlx::Error| DbErr::Migration(format!("rebuilding operators: {e}"));
    let mut conn = db.get_sqlite_connection_pool().acquire().await.map_err(fail)?;
    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await.map_err(fail)?;
    let rebuilt = rebuild_on(&mut conn, globally_unique).await;
    let restored = sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await;
    rebuilt.map_err(fail)?;
    restored.map(drop).map_err(fail)
}

/// The rebuild itself, in one transaction: the new table, the rows, the old table dropped, the
/// new one renamed and indexed, and no foreign key left dangling.
async fn rebuild_on(
    conn: &mut sea_orm_migration::sea_orm::sqlx::SqliteConnection,
    globally_unique: bool,
) -> Result<(), sea_orm_migration::sea_orm::sqlx::Error> {
    use sea_orm_migration::sea_orm::sqlx::{self, Connection};
    let columns = "id, organization_id, email, password_hash, role, disabled, token_version, failed_logins, \
                   locked_until, created_at, updated_at, mfa_secret, mfa_pending_secret, mfa_enabled_at, mfa_last_step";
    let statements = [
        operators_table(NEW_TABLE, globally_unique).to_string(SqliteQueryBuilder),
        format!("INSERT INTO \"{NEW_TABLE}\" ({columns}) SELECT {columns} FROM \"operators\""),
        "DROP TABLE \"operators\"".to_owned(),
        format!("ALTER TABLE \"{NEW_TABLE}\" RENAME TO \"operators\""),
        "CREATE INDEX \"idx_operators_organization\" ON \"operators\" (\"organization_id\")".to_owned(),
    ];
    let mut txn = conn.begin().await?;
    for sql in &statements {
        // Fixed statements of this migration: no input reaches them.
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).execute(&mut *txn).await?;
    }
    if !sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *txn).await?.is_empty() {
        return Err(sqlx::Error::Protocol("a foreign key would dangle".into()));
    }
    txn.commit().await
}
