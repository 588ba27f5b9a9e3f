//! Encrypting a column of clear text in place, for the migrations that start encrypting one:
//! a ciphertext column is added, every row's text is encrypted into it under the keyring (bound
//! to the row's owners as the entity binds it), and the clear column is dropped. `down` does the
//! reverse into a nullable text column.
//!
//! Each step can be taken again: a migration interrupted part way (SQLite runs a migration's
//! statements without one enclosing transaction) resumes where it stopped when it runs again:
//! a column already added is not added again, rows already converted are skipped, and a clear
//! column already dropped means that column is done.

use lethe_entities::Keyring;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{blob_null, text_null};
use uuid::Uuid;

/// Rows encrypted (or decrypted) per statement batch.
const BATCH: u64 = 500;

/// One column of clear text and the ciphertext column that replaces it.
pub(crate) struct SealedColumn {
    /// The table.
    pub table: &'static str,
    /// The clear column.
    pub clear: &'static str,
    /// The ciphertext column.
    pub sealed: &'static str,
    /// The columns holding the ids the ciphertext is bound to, in the order `context` takes
    /// them; one of them is `id`, the row's key.
    pub owners: &'static [&'static str],
    /// The associated data from those ids: the entity's own function.
    pub context: fn(&[Uuid]) -> Vec<u8>,
}

/// Which way a column is converted.
#[derive(Clone, Copy)]
enum Direction {
    Seal,
    Open,
}

impl SealedColumn {
    /// Adds the ciphertext column, encrypts every row's text into it, drops the clear column;
    /// done already when the clear column is gone.
    pub async fn seal(&self, manager: &SchemaManager<'_>, keyring: &Keyring) -> Result<(), DbErr> {
        if !manager.has_column(self.table, self.clear).await? {
            return Ok(());
        }
        self.add(manager, blob_null(Alias::new(self.sealed))).await?;
        self.convert(manager, keyring, Direction::Seal).await?;
        self.drop(manager, self.clear).await
    }

    /// Adds the clear column back (nullable text), decrypts every row into it, drops the
    /// ciphertext column; done already when the ciphertext column is gone.
    pub async fn open(&self, manager: &SchemaManager<'_>, keyring: &Keyring) -> Result<(), DbErr> {
        if !manager.has_column(self.table, self.sealed).await? {
            return Ok(());
        }
        self.add(manager, text_null(Alias::new(self.clear))).await?;
        self.convert(manager, keyring, Direction::Open).await?;
        self.drop(manager, self.sealed).await
    }

    /// Adds `column` unless an interrupted run added it already.
    async fn add(&self, manager: &SchemaManager<'_>, mut column: ColumnDef) -> Result<(), DbErr> {
        if manager.has_column(self.table, &column.get_column_name()).await? {
            return Ok(());
        }
        manager.alter_table(Table::alter().table(Alias::new(self.table)).add_column(&mut column).to_owned()).await
    }

    async fn drop(&self, manager: &SchemaManager<'_>, column: &str) -> Result<(), DbErr> {
        let alter = Table::alter().table(Alias::new(self.table)).drop_column(Alias::new(column)).to_owned();
        manager.alter_table(alter).await
    }

    /// Converts the rows whose source column is set and target column is not, a batch at a
    /// time, until none is left.
    async fn convert(&self, manager: &SchemaManager<'_>, keyring: &Keyring, way: Direction) -> Result<(), DbErr> {
        let (from, to) = match way {
            Direction::Seal => (self.clear, self.sealed),
            Direction::Open => (self.sealed, self.clear),
        };
        let db = manager.get_connection();
        loop {
            let batch = Query::select()
                .columns(self.owners.iter().map(|c| Alias::new(*c)))
                .column(Alias::new(from))
                .from(Alias::new(self.table))
                .and_where(Expr::col(Alias::new(from)).is_not_null())
                .and_where(Expr::col(Alias::new(to)).is_null())
                .limit(BATCH)
                .to_owned();
            let rows = db.query_all(&batch).await?;
            if rows.is_empty() {
                return Ok(());
            }
            for row in rows {
                let owners = self.owners.iter().map(|c| row.try_get::<Uuid>("", c)).collect::<Result<Vec<_>, _>>()?;
                let id = owners[self.owners.iter().position(|c| *c == "id").expect("`id` is an owner")];
                let context = (self.context)(&owners);
                let value: Value = match way {
                    Direction::Seal => keyring.seal_text(&row.try_get::<String>("", from)?, &context).into(),
                    Direction::Open => {
                        let blob = row.try_get::<Vec<u8>>("", from)?;
                        let text = keyring.open_text(&blob, &context).map_err(|e| {
                            DbErr::Migration(format!("{}.{} of row {id}: {e}", self.table, self.sealed))
                        })?;
                        text.into()
                    }
                };
                let update = Query::update()
                    .table(Alias::new(self.table))
                    .value(Alias::new(to), value)
                    .and_where(Expr::col(Alias::new("id")).eq(id))
                    .to_owned();
                db.execute(&update).await?;
            }
        }
    }
}
