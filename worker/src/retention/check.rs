//! Checking a policy against the store's live schema at save time: the table, its primary key,
//! the age column, the filter's and the anonymised columns must exist, so a policy never fails
//! at 3 a.m. for a typo.

use lethe_entities::retention::{PolicyAction, PolicySpec, SpecError};

use crate::stores::schema::Schema;

/// Every problem of `spec` against `schema` (empty when it fits). Messages list what exists.
pub fn against_schema(spec: &PolicySpec, schema: &Schema) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let Some(table) = spec.table.as_deref() else { return errors };
    let Some(live) = schema.tables.get(table) else {
        errors.push(SpecError::at(
            "table",
            format!("the store has no table `{table}`; it has: {}", list(schema.tables.keys())),
        ));
        return errors;
    };
    if live.primary_key.is_empty() {
        errors.push(SpecError::at(
            "table",
            format!("table `{table}` has no primary key; runs walk the table by its primary key"),
        ));
    }
    let mut column = |field: String, name: &str| {
        if live.column(name).is_none() {
            errors.push(SpecError::at(
                field,
                format!(
                    "table `{table}` has no column `{name}`; it has: {}",
                    list(live.columns.iter().map(|c| &c.name))
                ),
            ));
        }
    };
    if let Some(age) = &spec.age_column {
        column("age_column".into(), age);
    }
    for (i, f) in spec.filter.iter().enumerate() {
        column(format!("filter[{i}].column"), &f.column);
    }
    if let PolicyAction::Anonymise { columns } = &spec.action {
        for (i, c) in columns.iter().enumerate() {
            column(format!("action.columns[{i}].name"), &c.name);
        }
        for (i, c) in columns.iter().enumerate() {
            if live.primary_key.contains(&c.name) {
                errors.push(SpecError::at(
                    format!("action.columns[{i}].name"),
                    format!("`{}` is part of the primary key and cannot be anonymised", c.name),
                ));
            }
        }
    }
    errors
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<&str> = names.map(String::as_str).collect();
    if all.is_empty() { "nothing".to_owned() } else { all.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::schema::{ColumnSchema, TableSchema};

    #[test]
    fn missing_tables_and_columns_are_named() {
        let column = |n: &str| ColumnSchema::new(n, "text");
        let mut schema = Schema::default();
        schema.tables.insert(
            "logs".into(),
            TableSchema {
                columns: vec![column("id"), column("at")],
                primary_key: vec!["id".into()],
                ..Default::default()
            },
        );
        let mut spec: PolicySpec = serde_json::from_value(serde_json::json!({
            "name": "logs", "store_id": uuid::Uuid::nil(), "table": "logs", "age_column": "created",
            "max_age": "P1D", "filter": [{"column": "status", "op": "is_null"}],
            "action": {"type": "anonymise", "columns": [{"name": "id", "action": "null"}]},
            "legal_basis": "x"
        }))
        .unwrap();
        let text: Vec<String> =
            against_schema(&spec, &schema).into_iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        assert_eq!(
            text,
            [
                "age_column: table `logs` has no column `created`; it has: id, at",
                "filter[0].column: table `logs` has no column `status`; it has: id, at",
                "action.columns[0].name: `id` is part of the primary key and cannot be anonymised",
            ]
        );
        spec.table = Some("log".into());
        assert_eq!(against_schema(&spec, &schema)[0].message, "the store has no table `log`; it has: logs");
    }
}
