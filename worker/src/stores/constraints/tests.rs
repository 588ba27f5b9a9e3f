//! Tests of [`super`] (constraints), on synthetic schemas; `tests/tests/datamap_constraints.rs`
//! checks the same against live PostgreSQL, MariaDB and SQLite schemas.

use lethe_entities::datamap::parse::from_yaml;

use super::*;

fn column(name: &str, sql_type: &str, nullable: bool, max_length: Option<u32>) -> ColumnSchema {
    ColumnSchema { nullable, max_length, ..ColumnSchema::new(name, sql_type) }
}

fn fk(name: &str, column: &str, target: &str, on_delete: OnDelete) -> ForeignKey {
    ForeignKey {
        name: Some(name.into()),
        columns: vec![column.into()],
        target_table: target.into(),
        target_columns: vec!["id".into()],
        on_delete,
    }
}

/// A help desk: employees (who report to employees), customers served by a support
/// representative, and tickets.
fn schema(customer_rep: OnDelete) -> Schema {
    let mut schema = Schema::default();
    schema.tables.insert(
        "employee".into(),
        TableSchema {
            columns: vec![
                column("id", "integer", false, None),
                column("email", "varchar(60)", false, Some(60)),
                column("name", "varchar(120)", true, Some(120)),
                column("reports_to", "integer", true, None),
                column("hired", "date", true, None),
            ],
            primary_key: vec!["id".into()],
            foreign_keys: vec![fk("employee_reports_to_fkey", "reports_to", "employee", OnDelete::Refuse)],
            ..Default::default()
        },
    );
    schema.tables.insert(
        "customer".into(),
        TableSchema {
            columns: vec![
                column("id", "integer", false, None),
                column("email", "text", false, None),
                column("support_rep_id", "integer", true, None),
            ],
            primary_key: vec!["id".into()],
            foreign_keys: vec![fk("customer_support_rep_id_fkey", "support_rep_id", "employee", customer_rep)],
            ..Default::default()
        },
    );
    schema.tables.insert(
        "ticket".into(),
        TableSchema {
            columns: vec![column("id", "integer", false, None), column("customer_id", "integer", false, None)],
            primary_key: vec!["id".into()],
            foreign_keys: vec![fk("ticket_customer_id_fkey", "customer_id", "customer", OnDelete::Refuse)],
            ..Default::default()
        },
    );
    schema
}

fn check(yaml: &str, schema: &Schema) -> (Vec<String>, Vec<String>) {
    let (map, _) = from_yaml(yaml).unwrap();
    let checked = check_constraints(&map, schema, &BTreeSet::new());
    (checked.errors.iter().map(|e| format!("{}: {}", e.path, e.message)).collect(), checked.warnings)
}

#[test]
fn deleting_rows_others_refer_to_is_refused_with_what_would_work() {
    let (errors, _) = check(
        "version: 1\ntables:\n  - name: employee\n    primary_key: [id]\n    columns: [{ name: email, identity: email }]\n",
        &schema(OnDelete::Refuse),
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with(
        "tables[0].erasure: delete_row `employee`: rows in `customer` still refer to them through foreign key \
         customer_support_rep_id_fkey"
    ));
    assert!(errors[0].contains("erasure: update, with null or redact"), "{}", errors[0]);
    assert!(errors[1].contains("rows in `employee` still refer to them through foreign key employee_reports_to_fkey"));
}

#[test]
fn deleting_is_accepted_when_the_map_erases_the_referencing_rows_first() {
    let map = "version: 1
tables:
  - name: customer
    primary_key: [id]
    columns: [{ name: email, identity: email }]
  - name: ticket
    primary_key: [id]
    references: [{ column: customer_id, target: { table: customer, column: id }, direction: from }]
";
    assert_eq!(check(map, &schema(OnDelete::Refuse)), (vec![], vec![]));
    // A reference locating does not follow from the customer does not erase the tickets.
    let not_followed = map.replace("direction: from", "direction: none");
    let (errors, _) = check(&not_followed, &schema(OnDelete::Refuse));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("rows in `ticket` still refer to them through foreign key ticket_customer_id_fkey"));
    // Kept rows whose reference is set to NULL no longer refer to the deleted rows, but only where
    // the column takes NULL (ticket.customer_id is NOT NULL).
    let nulled = map.replace(
        "    references:",
        "    erasure: { action: update }\n    columns: [{ name: customer_id, action: \"null\" }]\n    references:",
    );
    let (errors, _) = check(&nulled, &schema(OnDelete::Refuse));
    assert!(errors.iter().any(|e| e.contains("`ticket.customer_id` is NOT NULL")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("rows in `ticket` still refer")), "{errors:?}");
}

#[test]
fn cascades_warn_and_set_null_passes() {
    let map = "version: 1
tables:
  - name: employee
    primary_key: [id]
    columns: [{ name: email, identity: email }]
    references: [{ column: reports_to, target: { table: employee, column: id }, direction: from }]
";
    // Following the self-reference would reach other people (the employee's reports): it never
    // makes deleting safe, and the advice is to keep the rows.
    let self_reference = "rows in `employee` still refer to them through foreign key employee_reports_to_fkey \
        (other rows of the same table: usually other people)";
    let (errors, warnings) = check(map, &schema(OnDelete::Cascade));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains(self_reference) && errors[0].contains("erasure: update"), "{errors:?}");
    assert!(!errors[0].contains("(direction: from) and erase"), "{errors:?}");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("the database also deletes the rows of `customer`"), "{warnings:?}");
    let (errors, warnings) = check(map, &schema(OnDelete::Detach));
    assert_eq!((errors.len(), warnings), (1, vec![]));
}

#[test]
fn column_actions_must_fit_the_column() {
    let map = "version: 1
tables:
  - name: employee
    primary_key: [id]
    erasure: { action: update }
    columns:
      - { name: email, identity: email, action: hash }
      - { name: name, action: redact, redact_with: \"this text is far too long for the column it is written into, which holds one hundred and twenty characters at most, no more than that\" }
      - { name: id, action: \"null\" }
      - { name: hired, action: hash }
      - { name: reports_to, action: \"null\" }
";
    let (errors, _) = check(map, &schema(OnDelete::Refuse));
    assert_eq!(
        errors,
        [
            "tables[0].columns[0].action: `employee.email` holds at most 60 characters, and hash writes a \
             64-character pseudonym; use redact (a text of at most 60 characters) or null",
            "tables[0].columns[1].action: `employee.name` holds at most 120 characters, and the redaction text has \
             133; set a shorter redact_with, or use null",
            "tables[0].columns[2].action: `employee.id` is NOT NULL, so it cannot be set to null; use redact (a \
             fixed text) or hash instead",
            "tables[0].columns[3].action: `employee.hired` is `date`, not text: hash writes text into it; use null, \
             or leave the column out",
        ]
    );
}

#[test]
fn tables_locating_never_reaches_are_not_checked() {
    let map = "version: 1\ntables:\n  - name: employee\n    primary_key: [id]\n";
    let unreachable = BTreeSet::from(["employee".to_owned()]);
    let (map, _) = from_yaml(map).unwrap();
    let checked = check_constraints(&map, &schema(OnDelete::Refuse), &unreachable);
    assert!(checked.errors.is_empty() && checked.warnings.is_empty());
    assert_eq!(check_constraints(&map, &schema(OnDelete::Refuse), &BTreeSet::new()).errors.len(), 2);
}

#[test]
fn types_that_are_not_text() {
    for t in ["integer", "bigint", "numeric(10,2)", "timestamp with time zone", "uuid", "jsonb", "enum('a','b')"] {
        assert!(is_not_text(t), "{t}");
    }
    for t in ["text", "varchar(60)", "character varying", "nvarchar(10)", "", "citext", "clob", "mediumtext"] {
        assert!(!is_not_text(t), "{t}");
    }
}

#[test]
fn text_into_a_type_the_check_does_not_know_is_a_warning() {
    let mut schema = Schema::default();
    let columns = vec![
        column("id", "integer", false, None),
        column("mood", "user-defined", true, None),
        column("note", "", true, None),
    ];
    schema.tables.insert("diary".into(), TableSchema { columns, primary_key: vec!["id".into()], ..Default::default() });
    let (map, _) = from_yaml(
        r#"
version: 1
tables:
  - name: diary
    primary_key: [id]
    columns:
      - { name: id, identity: customer_id }
      - { name: mood, action: redact }
      - { name: note, action: hash }
    erasure: { action: update }
"#,
    )
    .unwrap();
    let checked = check_constraints(&map, &schema, &BTreeSet::new());
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    assert_eq!(
        checked.warnings,
        ["`diary.mood` is `user-defined`, a type the check does not know: make sure it takes the text redact writes"]
    );
}
