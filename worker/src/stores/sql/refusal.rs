//! A store's refusal of an erasure statement, in words: the foreign key that still refers to the
//! rows, the column a value is too long for, the NOT NULL column, the unique constraint. The
//! save-time check ([`crate::stores::constraints`]) refuses such maps, but a constraint added to
//! the store afterwards is only met at erasure time.
//!
//! The refusal is recognised by its code (PostgreSQL's SQLSTATE, MySQL's error number, SQLite's
//! extended result code) and described from the schema, read again, and the step: the driver's
//! text is never passed on (it can quote row values), and no code is shown. A constraint, table
//! or column the driver names is used only when the schema has it.

use lethe_entities::datamap::ColumnAction;
use sea_orm::{DbErr, RuntimeErr, sqlx};

use super::SqlStore;
use super::plan::{ColumnChange, Step, StepKind};
use crate::stores::StoreError;
use crate::stores::constraints::PSEUDONYM_CHARS;
use crate::stores::schema::{ForeignKey, OnDelete, Schema, TableSchema};

/// What the database refused.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// A foreign key: its constraint name as the driver gives it.
    ForeignKey(Option<String>),
    /// A value longer than its column; the column when the driver names it.
    TooLong(Option<String>),
    /// NULL into a NOT NULL column; the column when the driver names it.
    NotNull(Option<String>),
    /// A duplicate in a unique constraint or index: its name as the driver gives it.
    Unique(Option<String>),
}

/// The refusal `e` is, if it is one, as a [`StoreError::Refused`] describing it for `step`
/// (the store's schema is read again: a refusal means it changed since it was last read).
pub async fn explain(store: &SqlStore, e: &DbErr, step: &Step) -> Option<StoreError> {
    let refusal = recognise(e)?;
    // Only the kind: a name read from a driver's message is shown after the schema confirms it.
    let kind = match refusal {
        Refusal::ForeignKey(_) => "foreign_key",
        Refusal::TooLong(_) => "too_long",
        Refusal::NotNull(_) => "not_null",
        Refusal::Unique(_) => "unique",
    };
    tracing::warn!(kind = "refused", refusal = kind, table = %step.table, "SQL store refused an erasure statement");
    let schema = store.fresh_schema().await.ok()?;
    Some(StoreError::Refused(describe(&refusal, &schema, step)))
}

/// Recognises a refusal by its code; the names the driver gives in fields of their own (or,
/// for MySQL and SQLite, in its message) are taken as candidates, checked against the schema later.
fn recognise(e: &DbErr) -> Option<Refusal> {
    let (DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner))) = e else {
        return None;
    };
    let sqlx::Error::Database(db) = inner.as_ref() else { return None };
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let constraint = pg.constraint().map(str::to_owned);
        return match pg.code() {
            "23503" => Some(Refusal::ForeignKey(constraint)),
            "22001" => Some(Refusal::TooLong(None)),
            "23502" => Some(Refusal::NotNull(pg.column().map(str::to_owned))),
            "23505" => Some(Refusal::Unique(constraint)),
            _ => None,
        };
    }
    let message = db.message();
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match mysql.number() {
            1451 | 1452 => Some(Refusal::ForeignKey(quoted(message, "CONSTRAINT `", '`'))),
            1406 => Some(Refusal::TooLong(quoted(message, "for column '", '\''))),
            1048 => Some(Refusal::NotNull(quoted(message, "Column '", '\''))),
            // "Duplicate entry '<value>' for key '<key>'": the key is the last quoted name (a
            // value cannot come after it).
            1062 => Some(Refusal::Unique(last_quoted(message, "for key '", '\''))),
            _ => None,
        };
    }
    let code = db.code()?.parse::<i64>().ok()?;
    let after = |prefix: &str| message.strip_prefix(prefix).map(str::to_owned);
    match code {
        787 => Some(Refusal::ForeignKey(None)),
        // "NOT NULL constraint failed: table.column"
        1299 => Some(Refusal::NotNull(after("NOT NULL constraint failed: ").and_then(last_part))),
        1555 | 2067 => Some(Refusal::Unique(None)),
        _ => None,
    }
}

/// The text between `prefix` and the next `end` in `message`.
fn quoted(message: &str, prefix: &str, end: char) -> Option<String> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    Some(rest[..rest.find(end)?].to_owned())
}

/// As [`quoted`], after the last `prefix` in `message`.
fn last_quoted(message: &str, prefix: &str, end: char) -> Option<String> {
    let rest = &message[message.rfind(prefix)? + prefix.len()..];
    Some(rest[..rest.find(end)?].to_owned())
}

/// `column` of `table.column`.
fn last_part(qualified: String) -> Option<String> {
    qualified.rsplit_once('.').map(|(_, column)| column.to_owned())
}

/// The refusal in words, for `step` against `schema`.
fn describe(refusal: &Refusal, schema: &Schema, step: &Step) -> String {
    let live = schema.tables.get(&step.table).cloned().unwrap_or_default();
    let changes = match &step.kind {
        StepKind::Update(changes) | StepKind::Pseudonymise { changes, .. } => changes.clone(),
        StepKind::BreakCycle(column) => {
            vec![ColumnChange { column: column.clone(), action: ColumnAction::Null, redact_with: String::new() }]
        }
        StepKind::Delete => Vec::new(),
    };
    match refusal {
        Refusal::ForeignKey(name) => foreign_key(schema, step, &changes, name.as_deref()),
        Refusal::TooLong(column) => too_long(&live, &changes, column.as_deref()),
        Refusal::NotNull(column) => {
            let named = column.as_deref().filter(|c| changes.iter().any(|ch| ch.column == *c));
            let columns: Vec<&str> = match named {
                Some(column) => vec![column],
                None => pick(&changes, |c| {
                    c.action == ColumnAction::Null && live.column(&c.column).is_none_or(|l| !l.nullable)
                }),
            };
            format!(
                "{} NOT NULL, so the database refuses to set it to null; map it with redact or hash instead",
                columns_are(&columns)
            )
        }
        Refusal::Unique(name) => {
            let columns = pick(&changes, |c| c.action != ColumnAction::Null);
            let constraint = name
                .as_deref()
                .filter(|n| plain(n))
                .map_or_else(|| "a unique constraint or index".to_owned(), |n| format!("unique constraint {n}"));
            format!(
                "the values written to {} would repeat another row's, and {constraint} refuses that; map it with \
                 hash (a value of its own per original) or null instead",
                list(&columns)
            )
        }
    }
}

/// A foreign key's refusal: rows elsewhere still refer to the rows deleted (or to the values
/// changed), or a value written refers to no row.
fn foreign_key(schema: &Schema, step: &Step, changes: &[ColumnChange], name: Option<&str>) -> String {
    let named = |fk: &ForeignKey| name.is_none() || fk.name.as_deref() == name;
    // This table's own keys, through a column the step writes.
    let own: Vec<&ForeignKey> = schema
        .tables
        .get(&step.table)
        .map(|t| {
            t.foreign_keys
                .iter()
                .filter(|fk| named(fk) && fk.columns.iter().any(|c| changes.iter().any(|ch| &ch.column == c)))
                .collect()
        })
        .unwrap_or_default();
    if let (Some(fk), StepKind::Update(_) | StepKind::Pseudonymise { .. }) = (own.first(), &step.kind)
        && changes.iter().any(|c| c.action != ColumnAction::Null)
    {
        return format!(
            "`{}` is part of {} to `{}`, and the value written refers to no row there; map it with null, or leave \
             it out",
            fk.columns.join("`, `"),
            describe_key(fk),
            fk.target_table
        );
    }
    let referring: Vec<(&String, &ForeignKey)> = schema
        .tables
        .iter()
        .flat_map(|(child, t)| t.foreign_keys.iter().map(move |fk| (child, fk)))
        .filter(|(_, fk)| fk.target_table == step.table && fk.on_delete == OnDelete::Refuse && named(fk))
        .collect();
    let advice = format!(
        "map that table with a reference to `{}` (direction: from) and erase its rows first, or keep these rows \
         and erase their personal columns",
        step.table
    );
    match referring.as_slice() {
        [] => format!("rows in another table still refer to them through a foreign key; {advice}"),
        [(child, fk)] => format!("rows in `{child}` still refer to them through {}; {advice}", describe_key(fk)),
        many => {
            let each: Vec<String> =
                many.iter().map(|(child, fk)| format!("`{child}` through {}", describe_key(fk))).collect();
            format!("rows in one of these tables still refer to them: {}; {advice}", each.join(", "))
        }
    }
}

/// A value too long for its column: the column the driver names, or those whose written text
/// is longer than their declared length.
fn too_long(live: &TableSchema, changes: &[ColumnChange], column: Option<&str>) -> String {
    let named = column.filter(|c| changes.iter().any(|ch| ch.column == *c));
    let written = |c: &ColumnChange| match c.action {
        ColumnAction::Hash => PSEUDONYM_CHARS as usize,
        _ => c.redact_with.chars().count(),
    };
    let over: Vec<&ColumnChange> = changes
        .iter()
        .filter(|c| match named {
            Some(name) => c.column == name,
            None => {
                c.action != ColumnAction::Null
                    && live.column(&c.column).and_then(|l| l.max_length).is_some_and(|max| (max as usize) < written(c))
            }
        })
        .collect();
    let over = if over.is_empty() { changes.iter().filter(|c| c.action != ColumnAction::Null).collect() } else { over };
    let parts: Vec<String> = over
        .iter()
        .map(|c| {
            let limit = live.column(&c.column).and_then(|l| l.max_length);
            match limit {
                Some(max) => format!(
                    "`{}` holds at most {max} characters and {} writes {}",
                    c.column,
                    c.action.as_str(),
                    written(c)
                ),
                None => format!(
                    "`{}` is shorter than what {} writes ({} characters)",
                    c.column,
                    c.action.as_str(),
                    written(c)
                ),
            }
        })
        .collect();
    format!(
        "the value written is longer than the column holds: {}; map it with a shorter redact_with, or null",
        parts.join("; ")
    )
}

/// The columns of `changes` that `keep` selects (all of them when none is selected).
fn pick(changes: &[ColumnChange], keep: impl Fn(&ColumnChange) -> bool) -> Vec<&str> {
    let picked: Vec<&str> = changes.iter().filter(|c| keep(c)).map(|c| c.column.as_str()).collect();
    if picked.is_empty() { changes.iter().map(|c| c.column.as_str()).collect() } else { picked }
}

/// "`a` is" or "`a`, `b` are".
fn columns_are(columns: &[&str]) -> String {
    match columns {
        [one] => format!("`{one}` is"),
        [] => "a column it sets is".to_owned(),
        many => format!("{} are", list(many)),
    }
}

/// "`a`, `b`".
fn list(columns: &[&str]) -> String {
    if columns.is_empty() { "its columns".to_owned() } else { format!("`{}`", columns.join("`, `")) }
}

/// A foreign key by its name, or by its columns when it has none.
fn describe_key(fk: &ForeignKey) -> String {
    match &fk.name {
        Some(name) => format!("foreign key {name}"),
        None => format!("a foreign key on `{}`", fk.columns.join("`, `")),
    }
}

/// Whether `name` is a plain identifier (letters, digits, `_`, `$`), to be shown as it is.
fn plain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::schema::ColumnSchema;

    fn fk(name: Option<&str>, column: &str, target: &str) -> ForeignKey {
        ForeignKey {
            name: name.map(str::to_owned),
            columns: vec![column.into()],
            target_table: target.into(),
            target_columns: vec!["id".into()],
            on_delete: OnDelete::Refuse,
        }
    }

    fn schema() -> Schema {
        let mut schema = Schema::default();
        let column = |name: &str, sql_type: &str, nullable: bool, max_length: Option<u32>| ColumnSchema {
            nullable,
            max_length,
            ..ColumnSchema::new(name, sql_type)
        };
        let customers = TableSchema {
            columns: vec![column("id", "bigint", false, None), column("email", "varchar(20)", false, Some(20))],
            primary_key: vec!["id".into()],
            ..Default::default()
        };
        schema.tables.insert("customers".into(), customers);
        for (table, name) in [("cards", Some("cards_customer_fkey")), ("notes", None)] {
            let t = TableSchema {
                columns: vec![column("id", "bigint", false, None), column("customer_id", "bigint", false, None)],
                primary_key: vec!["id".into()],
                foreign_keys: vec![fk(name, "customer_id", "customers")],
                ..Default::default()
            };
            schema.tables.insert(table.into(), t);
        }
        schema
    }

    fn step(kind: StepKind) -> Step {
        Step { table: "customers".into(), primary_key: vec!["id".into()], kind, rows: vec![vec!["1".into()]] }
    }

    fn change(column: &str, action: ColumnAction, redact_with: &str) -> ColumnChange {
        ColumnChange { column: column.into(), action, redact_with: redact_with.into() }
    }

    #[test]
    fn refusals_are_described_from_the_schema_and_the_step() {
        let schema = schema();
        let delete = step(StepKind::Delete);
        let named = describe(&Refusal::ForeignKey(Some("cards_customer_fkey".into())), &schema, &delete);
        assert!(
            named.starts_with(
                "rows in `cards` still refer to them through foreign key cards_customer_fkey; map that \
                 table with a reference to `customers` (direction: from)"
            ),
            "{named}"
        );
        // SQLite names no key: every key that refuses is listed.
        let unnamed = describe(&Refusal::ForeignKey(None), &schema, &delete);
        assert!(
            unnamed.starts_with(
                "rows in one of these tables still refer to them: `cards` through foreign key \
                 cards_customer_fkey, `notes` through a foreign key on `customer_id`;"
            ),
            "{unnamed}"
        );
        // A name the schema does not have is not shown.
        let unknown = describe(&Refusal::ForeignKey(Some("1234 secret".into())), &schema, &delete);
        assert!(unknown.starts_with("rows in another table still refer"), "{unknown}");

        let update = step(StepKind::Update(vec![change("email", ColumnAction::Hash, "")]));
        assert_eq!(
            describe(&Refusal::TooLong(None), &schema, &update),
            "the value written is longer than the column holds: `email` holds at most 20 characters and hash writes \
             64; map it with a shorter redact_with, or null"
        );
        let nulled = step(StepKind::Update(vec![change("email", ColumnAction::Null, "")]));
        assert_eq!(
            describe(&Refusal::NotNull(Some("email".into())), &schema, &nulled),
            "`email` is NOT NULL, so the database refuses to set it to null; map it with redact or hash instead"
        );
        let redacted = step(StepKind::Update(vec![change("email", ColumnAction::Redact, "x")]));
        assert_eq!(
            describe(&Refusal::Unique(Some("customers_email_key".into())), &schema, &redacted),
            "the values written to `email` would repeat another row's, and unique constraint customers_email_key \
             refuses that; map it with hash (a value of its own per original) or null instead"
        );
    }

    #[test]
    fn driver_messages_give_names_only() {
        let mysql = "Cannot delete or update a parent row: a foreign key constraint fails (`crm`.`calls`, CONSTRAINT \
                     `calls_contact_id_fk` FOREIGN KEY (`contact_id`) REFERENCES `contacts` (`id`))";
        assert_eq!(quoted(mysql, "CONSTRAINT `", '`').as_deref(), Some("calls_contact_id_fk"));
        assert_eq!(quoted("Data too long for column 'email' at row 1", "for column '", '\'').as_deref(), Some("email"));
        assert_eq!(last_part("events.customer_id".into()).as_deref(), Some("customer_id"));
        assert_eq!(quoted("no such thing", "CONSTRAINT `", '`'), None);
        let duplicate = "Duplicate entry 'x for key 'ann' for key 'contacts_email'";
        assert_eq!(last_quoted(duplicate, "for key '", '\'').as_deref(), Some("contacts_email"));
    }
}
