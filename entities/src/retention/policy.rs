//! What a retention policy says, and the checks that need no live store.
//!
//! A policy names one table of a SQL store (or one key pattern of a Redis store), the column
//! that dates each row, the maximum age as an ISO 8601 duration, an optional structured filter
//! (column, operator from a fixed set, value: never SQL text), what to do with rows past the
//! age (`delete_row`, or anonymise columns with `null`/`hash`), a cron schedule in an IANA time
//! zone, a batch size, a throttle and the legal basis.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schedule::{Schedule, is_time_zone};
use crate::datamap::ColumnAction;
use crate::datamap::validate::is_iso8601_duration;
use crate::domain::enums::StoreKind;

/// Largest batch a policy may ask for.
pub const MAX_BATCH: i32 = 50_000;
/// Most filter conditions per policy.
pub const MAX_FILTERS: usize = 16;

/// A comparison operator of a filter condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// `column = value`.
    Eq,
    /// `column <> value`.
    Ne,
    /// `column < value`.
    Lt,
    /// `column <= value`.
    Lte,
    /// `column > value`.
    Gt,
    /// `column >= value`.
    Gte,
    /// `column IS NULL` (no value).
    IsNull,
    /// `column IS NOT NULL` (no value).
    IsNotNull,
}

impl FilterOp {
    /// Whether the operator compares with a value.
    pub fn takes_value(self) -> bool {
        !matches!(self, Self::IsNull | Self::IsNotNull)
    }
}

/// One condition: all of a policy's conditions must hold for a row to be purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The column compared.
    pub column: String,
    /// How.
    pub op: FilterOp,
    /// The value (text; compared as the column's type), absent for `is_null`/`is_not_null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A column anonymised in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnonymiseColumn {
    /// The column.
    pub name: String,
    /// `null` or `hash` (a keyed HMAC, the erasure's pseudonym: equal values stay equal).
    pub action: ColumnAction,
}

/// What happens to rows past their age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyAction {
    /// Delete the rows (Redis: the keys).
    DeleteRow,
    /// Keep the rows and anonymise these columns.
    Anonymise {
        /// The columns and what to do with each.
        columns: Vec<AnonymiseColumn>,
    },
}

impl PolicyAction {
    /// The ledger action: `delete_row` or `anonymise`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DeleteRow => "delete_row",
            Self::Anonymise { .. } => "anonymise",
        }
    }
}

/// A policy as written by an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "api-logs-14-days", "store_id": "01938f6e-8b7c-7d4e-9a55-0c1d2e3f4a5b",
    "table": "api_logs", "age_column": "created_at", "max_age": "P14D",
    "filter": [{"column": "status", "op": "eq", "value": "closed"}],
    "action": {"type": "delete_row"}, "schedule": "0 3 * * *", "time_zone": "Europe/Stockholm",
    "batch_size": 1000, "throttle_rows_per_sec": 5000,
    "legal_basis": "Security questionnaire: API logs are kept 14 days"
}))]
pub struct PolicySpec {
    /// Unique name in the organization: lower-case letters, digits, `-` and `_` (1-64).
    pub name: String,
    /// The store.
    pub store_id: uuid::Uuid,
    /// SQL stores: the table (`schema.table` outside the default schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Redis stores: the key pattern (a `SCAN MATCH` glob, e.g. `session:*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pattern: Option<String>,
    /// SQL: the column dating each row (a timestamp, or an integer of Unix seconds). Redis:
    /// absent for the key's idle time, or a hash field holding Unix seconds (last seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_column: Option<String>,
    /// The maximum age, an ISO 8601 duration (`P14D`, `P30D`, `P1Y`, `PT12H`).
    pub max_age: String,
    /// Further conditions a row must meet (all of them), e.g. `status = 'closed'`.
    #[serde(default)]
    pub filter: Vec<Filter>,
    /// What happens to rows past their age.
    pub action: PolicyAction,
    /// Cron schedule (`minute hour day month weekday`); absent: only run on demand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The organization's IANA time zone the schedule is read in (default `UTC`).
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Rows per batch (each batch is one transaction in the store), 1 to 50,000 (default 1000).
    #[serde(default = "default_batch")]
    pub batch_size: i32,
    /// At most this many rows per second (absent: no throttle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_rows_per_sec: Option<i32>,
    /// Why the data may be kept this long and must go after (shown to auditors).
    pub legal_basis: String,
    /// Whether the schedule is active (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn utc() -> String {
    "UTC".to_owned()
}

fn default_batch() -> i32 {
    1000
}

fn yes() -> bool {
    true
}

/// One problem with a policy, at a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The field (`table`, `filter[1].value`, ...).
    pub field: String,
    /// What is wrong, in Lethe's words (no data values).
    pub message: String,
}

impl SpecError {
    /// A problem at `field`.
    pub fn at(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl PolicySpec {
    /// The table or key pattern.
    pub fn target(&self) -> &str {
        self.table.as_deref().or(self.key_pattern.as_deref()).unwrap_or_default()
    }

    /// Every problem that needs no live store, for a store of `kind`.
    pub fn check(&self, kind: StoreKind) -> Vec<SpecError> {
        let mut errors = Vec::new();
        if !valid_slug(&self.name) {
            errors.push(SpecError::at(
                "name",
                "1 to 64 characters: lower-case letters, digits, `-` and `_`, starting with a letter or digit",
            ));
        }
        self.check_target(kind, &mut errors);
        if !is_iso8601_duration(&self.max_age) {
            errors.push(SpecError::at("max_age", "an ISO 8601 duration, e.g. `P14D`, `P1Y`, `PT12H`"));
        }
        self.check_filters(&mut errors);
        self.check_action(kind, &mut errors);
        if let Some(expression) = &self.schedule
            && let Err(e) = Schedule::parse(expression, "UTC")
        {
            errors.push(SpecError::at("schedule", e.to_string()));
        }
        if !is_time_zone(&self.time_zone) {
            errors.push(SpecError::at("time_zone", "not an IANA time zone name (e.g. `Europe/Stockholm`, `UTC`)"));
        }
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            errors.push(SpecError::at("batch_size", format!("1 to {MAX_BATCH}")));
        }
        if self.throttle_rows_per_sec.is_some_and(|t| t < 1) {
            errors.push(SpecError::at("throttle_rows_per_sec", "at least 1 (leave it out for no throttle)"));
        }
        if self.legal_basis.trim().is_empty() || self.legal_basis.chars().count() > 2000 {
            errors.push(SpecError::at("legal_basis", "1 to 2000 characters"));
        }
        errors
    }

    /// The target: a table and age column for SQL stores, a key pattern for Redis; other kinds
    /// have no retention.
    fn check_target(&self, kind: StoreKind, errors: &mut Vec<SpecError>) {
        match kind {
            k if k.is_sql() => {
                if self.key_pattern.is_some() {
                    errors.push(SpecError::at("key_pattern", "SQL stores take a `table`"));
                }
                match &self.table {
                    Some(t) => identifier(t, "table", errors),
                    None => errors.push(SpecError::at("table", "required for SQL stores")),
                }
                match &self.age_column {
                    Some(c) => identifier(c, "age_column", errors),
                    None => errors.push(SpecError::at("age_column", "required for SQL stores")),
                }
            }
            StoreKind::Redis => {
                if self.table.is_some() {
                    errors.push(SpecError::at("table", "Redis stores take a `key_pattern`"));
                }
                match &self.key_pattern {
                    Some(p) if !p.is_empty() && p.len() <= 256 && !p.chars().any(char::is_control) => {}
                    Some(_) => errors.push(SpecError::at("key_pattern", "1 to 256 printable characters")),
                    None => errors.push(SpecError::at("key_pattern", "required for Redis stores")),
                }
                if let Some(c) = &self.age_column {
                    identifier(c, "age_column", errors);
                }
                if !self.filter.is_empty() {
                    errors.push(SpecError::at("filter", "Redis policies have no filter"));
                }
            }
            other => errors.push(SpecError::at(
                "store_id",
                format!(
                    "{} stores are not reached by Lethe; retention applies to SQL and Redis stores",
                    other.as_str()
                ),
            )),
        }
    }

    /// The filter's conditions: at most [`MAX_FILTERS`], each on a column with a value when its
    /// operator takes one.
    fn check_filters(&self, errors: &mut Vec<SpecError>) {
        if self.filter.len() > MAX_FILTERS {
            errors.push(SpecError::at("filter", format!("at most {MAX_FILTERS} conditions")));
        }
        for (i, f) in self.filter.iter().enumerate() {
            identifier(&f.column, &format!("filter[{i}].column"), errors);
            match (&f.value, f.op.takes_value()) {
                (None, true) => errors.push(SpecError::at(format!("filter[{i}].value"), "this operator needs a value")),
                (Some(_), false) => {
                    errors.push(SpecError::at(format!("filter[{i}].value"), "this operator takes no value"))
                }
                (Some(v), true) if v.chars().count() > 256 => {
                    errors.push(SpecError::at(format!("filter[{i}].value"), "at most 256 characters"))
                }
                _ => {}
            }
        }
    }

    /// An anonymisation: SQL only, at least one column, each `null` or `hash`, none twice.
    fn check_action(&self, kind: StoreKind, errors: &mut Vec<SpecError>) {
        if let PolicyAction::Anonymise { columns } = &self.action {
            if kind == StoreKind::Redis {
                errors.push(SpecError::at("action", "Redis policies delete keys (`delete_row`)"));
            }
            if columns.is_empty() {
                errors.push(SpecError::at("action.columns", "name at least one column"));
            }
            for (i, c) in columns.iter().enumerate() {
                identifier(&c.name, &format!("action.columns[{i}].name"), errors);
                if !matches!(c.action, ColumnAction::Null | ColumnAction::Hash) {
                    errors.push(SpecError::at(format!("action.columns[{i}].action"), "`null` or `hash`"));
                }
                if columns[..i].iter().any(|o| o.name == c.name) {
                    errors.push(SpecError::at(format!("action.columns[{i}].name"), "listed twice"));
                }
            }
        }
    }
}

fn valid_slug(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn identifier(value: &str, field: &str, errors: &mut Vec<SpecError>) {
    if value.trim().is_empty() || value.chars().count() > 128 || value.chars().any(char::is_control) {
        errors.push(SpecError::at(field, "a name of 1 to 128 printable characters"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PolicySpec {
        serde_json::from_value(serde_json::json!({
            "name": "logs", "store_id": uuid::Uuid::nil(), "table": "logs", "age_column": "at",
            "max_age": "P14D", "action": {"type": "delete_row"}, "legal_basis": "promised 14 days"
        }))
        .unwrap()
    }

    #[test]
    fn defaults_and_a_good_policy() {
        let s = spec();
        assert_eq!((s.batch_size, s.time_zone.as_str(), s.enabled), (1000, "UTC", true));
        assert!(s.check(StoreKind::Postgres).is_empty());
    }

    #[test]
    fn mistakes_are_named_by_field() {
        let mut s = spec();
        s.max_age = "14 days".into();
        s.schedule = Some("every night".into());
        s.time_zone = "Europe/Nowhere".into();
        s.batch_size = 0;
        s.filter = vec![
            Filter { column: "status".into(), op: FilterOp::Eq, value: None },
            Filter { column: "x".into(), op: FilterOp::IsNull, value: Some("1".into()) },
        ];
        s.action =
            PolicyAction::Anonymise { columns: vec![AnonymiseColumn { name: "e".into(), action: ColumnAction::Keep }] };
        let fields: Vec<String> = s.check(StoreKind::Sqlite).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "max_age",
                "filter[0].value",
                "filter[1].value",
                "action.columns[0].action",
                "schedule",
                "time_zone",
                "batch_size"
            ]
        );
        let fields: Vec<String> = spec().check(StoreKind::Redis).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["table", "key_pattern"]);
        assert_eq!(spec().check(StoreKind::Manual)[0].field, "store_id");
    }
}
