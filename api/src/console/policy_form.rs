//! The retention policy form of the console: its fields as typed, the policy they are read into
//! (the JSON API's [`PolicySpec`]), the form filled from a policy, and where the API's field
//! errors show. Filter conditions are a few rows of column, operator and value; anonymised
//! columns a list of `column:null` or `column:hash`.

use lethe_entities::StoreKind;
use lethe_entities::datamap::ColumnAction;
use lethe_entities::entity::store;
use lethe_entities::retention::{AnonymiseColumn, Filter, FilterOp, PolicyAction, PolicySpec};
use serde::Deserialize;
use uuid::Uuid;

use super::fields::{FieldErrors, Placement};
use super::view::{name, parse};
use crate::state::AppState;
use crate::web::WebResult;

/// Filter rows the form offers.
pub const FILTER_ROWS: usize = 3;

/// The operators of a filter row's `<select>`.
pub const OPERATORS: &[&str] = &["eq", "ne", "lt", "lte", "gt", "gte", "is_null", "is_not_null"];

/// One filter row as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct FilterRow {
    /// The column.
    #[serde(default)]
    pub column: String,
    /// The operator's stored name.
    #[serde(default)]
    pub op: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

/// The form as typed (every field text, so that an invalid form shows again what was sent).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    pub(super) csrf: String,
    /// The policy's name.
    #[serde(default)]
    pub name: String,
    /// The store's id.
    #[serde(default)]
    pub store: String,
    /// The table (SQL) or key pattern (Redis).
    #[serde(default)]
    pub target: String,
    /// The age column (SQL), or the hash field of the last use (Redis; blank: idle time).
    #[serde(default)]
    pub age_column: String,
    /// ISO 8601 duration.
    #[serde(default)]
    pub max_age: String,
    #[serde(default)]
    f0_column: String,
    #[serde(default)]
    f0_op: String,
    #[serde(default)]
    f0_value: String,
    #[serde(default)]
    f1_column: String,
    #[serde(default)]
    f1_op: String,
    #[serde(default)]
    f1_value: String,
    #[serde(default)]
    f2_column: String,
    #[serde(default)]
    f2_op: String,
    #[serde(default)]
    f2_value: String,
    /// `delete_row` or `anonymise`.
    #[serde(default)]
    pub action: String,
    /// The anonymised columns: `column:null` or `column:hash`, by commas or lines.
    #[serde(default)]
    pub columns: String,
    /// Cron expression (blank: on demand only).
    #[serde(default)]
    pub schedule: String,
    /// IANA time zone (blank: UTC).
    #[serde(default)]
    pub time_zone: String,
    /// Rows per batch (blank: 1000).
    #[serde(default)]
    pub batch_size: String,
    /// Rows per second at most (blank: no throttle).
    #[serde(default)]
    pub throttle: String,
    /// The legal basis.
    #[serde(default)]
    pub legal_basis: String,
    /// The checkbox: present when ticked.
    #[serde(default)]
    pub enabled: Option<String>,
}

impl PolicyForm {
    /// An empty form for a new policy (enabled, UTC, batches of 1000, rows deleted).
    pub fn new_policy() -> Self {
        Self {
            action: "delete_row".to_owned(),
            time_zone: "UTC".to_owned(),
            batch_size: "1000".to_owned(),
            enabled: Some("on".to_owned()),
            ..Self::default()
        }
    }

    /// The form filled from `spec`.
    pub fn of(spec: &PolicySpec) -> Self {
        let mut form = Self {
            csrf: String::new(),
            name: spec.name.clone(),
            store: spec.store_id.to_string(),
            target: spec.target().to_owned(),
            age_column: spec.age_column.clone().unwrap_or_default(),
            max_age: spec.max_age.clone(),
            action: spec.action.as_str().to_owned(),
            columns: match &spec.action {
                PolicyAction::DeleteRow => String::new(),
                PolicyAction::Anonymise { columns } => {
                    columns.iter().map(|c| format!("{}:{}", c.name, c.action.as_str())).collect::<Vec<_>>().join(", ")
                }
            },
            schedule: spec.schedule.clone().unwrap_or_default(),
            time_zone: spec.time_zone.clone(),
            batch_size: spec.batch_size.to_string(),
            throttle: spec.throttle_rows_per_sec.map(|t| t.to_string()).unwrap_or_default(),
            legal_basis: spec.legal_basis.clone(),
            enabled: spec.enabled.then(|| "on".to_owned()),
            ..Self::default()
        };
        for (i, f) in spec.filter.iter().take(FILTER_ROWS).enumerate() {
            let row =
                FilterRow { column: f.column.clone(), op: name(&f.op), value: f.value.clone().unwrap_or_default() };
            form.set_row(i, row);
        }
        form
    }

    /// The filter rows with their indexes, in order.
    pub fn rows(&self) -> Vec<(usize, FilterRow)> {
        [
            (&self.f0_column, &self.f0_op, &self.f0_value),
            (&self.f1_column, &self.f1_op, &self.f1_value),
            (&self.f2_column, &self.f2_op, &self.f2_value),
        ]
        .into_iter()
        .map(|(column, op, value)| FilterRow { column: column.clone(), op: op.clone(), value: value.clone() })
        .enumerate()
        .collect()
    }

    fn set_row(&mut self, i: usize, row: FilterRow) {
        let (column, op, value) = match i {
            0 => (&mut self.f0_column, &mut self.f0_op, &mut self.f0_value),
            1 => (&mut self.f1_column, &mut self.f1_op, &mut self.f1_value),
            _ => (&mut self.f2_column, &mut self.f2_op, &mut self.f2_value),
        };
        (*column, *op, *value) = (row.column, row.op, row.value);
    }

    /// The policy the form says, for a store of `kind` (absent: Lethe's own database, whose
    /// built-in policies name tables). Mistakes the API could not be sent go into `errors`;
    /// also returns which form row each of the spec's filter conditions came from.
    pub fn spec(&self, kind: Option<StoreKind>, errors: &mut FieldErrors) -> (Option<PolicySpec>, Vec<usize>) {
        let store_id = Uuid::parse_str(self.store.trim()).ok();
        if store_id.is_none() {
            errors.add("policy-store", "Store", "Choose one of the listed stores.");
        }
        let mut filter = Vec::new();
        let mut from_rows = Vec::new();
        for (i, row) in self.rows() {
            if row.column.trim().is_empty() {
                continue;
            }
            match parse::<FilterOp>(&row.op) {
                Some(op) => {
                    let value = Some(row.value.clone()).filter(|v| !v.is_empty());
                    filter.push(Filter { column: row.column.trim().to_owned(), op, value });
                    from_rows.push(i);
                }
                None => {
                    errors.add(&format!("policy-f{i}-op"), "Filter operator", "Choose one of the listed operators.")
                }
            }
        }
        let action = match self.action.as_str() {
            "delete_row" => Some(PolicyAction::DeleteRow),
            "anonymise" => self.anonymised(errors).map(|columns| PolicyAction::Anonymise { columns }),
            _ => {
                errors.add("policy-action", "Action", "Choose delete or anonymise.");
                None
            }
        };
        let batch_size = match self.batch_size.trim() {
            "" => Some(1000),
            n => number(n, "policy-batch-size", "Batch size", errors),
        };
        let throttle = match self.throttle.trim() {
            "" => Some(None),
            n => number(n, "policy-throttle", "Throttle", errors).map(Some),
        };
        let target = Some(self.target.trim().to_owned()).filter(|t| !t.is_empty());
        let redis = kind.is_some_and(StoreKind::has_key_patterns);
        let (Some(store_id), Some(action), Some(batch_size), Some(throttle_rows_per_sec)) =
            (store_id, action, batch_size, throttle)
        else {
            return (None, from_rows);
        };
        let spec = PolicySpec {
            name: self.name.trim().to_owned(),
            store_id,
            table: target.clone().filter(|_| !redis),
            key_pattern: target.filter(|_| redis),
            age_column: Some(self.age_column.trim().to_owned()).filter(|c| !c.is_empty()),
            max_age: self.max_age.trim().to_owned(),
            filter,
            action,
            schedule: Some(self.schedule.trim().to_owned()).filter(|s| !s.is_empty()),
            time_zone: Some(self.time_zone.trim().to_owned()).filter(|z| !z.is_empty()).unwrap_or_else(|| "UTC".into()),
            batch_size,
            throttle_rows_per_sec,
            legal_basis: self.legal_basis.trim().to_owned(),
            enabled: self.enabled.is_some(),
        };
        (Some(spec), from_rows)
    }

    /// The anonymised columns of `column:action` items, by commas or lines.
    fn anonymised(&self, errors: &mut FieldErrors) -> Option<Vec<AnonymiseColumn>> {
        let items = self.columns.split([',', '\n']).map(str::trim).filter(|i| !i.is_empty());
        let parsed: Option<Vec<AnonymiseColumn>> = items
            .map(|item| {
                let (column, action) = item.split_once(':')?;
                let action = parse::<ColumnAction>(action.trim())?;
                Some(AnonymiseColumn { name: column.trim().to_owned(), action })
            })
            .collect();
        if parsed.is_none() {
            errors.add("policy-columns", "Anonymised columns", "Write each as `column:null` or `column:hash`.");
        }
        parsed
    }
}

fn number(text: &str, id: &str, label: &str, errors: &mut FieldErrors) -> Option<i32> {
    let n = text.parse().ok();
    if n.is_none() {
        errors.add(id, label, "A whole number.");
    }
    n
}

/// Where the form shows the API's field errors; `rows` is which form row each of the spec's
/// filter conditions came from, `columns` how many columns it anonymises.
pub fn placements(rows: &[usize], columns: usize) -> Vec<(String, String, String)> {
    let fixed = [
        ("name", "policy-name", "Name"),
        ("store_id", "policy-store", "Store"),
        ("table", "policy-target", "Table or key pattern"),
        ("key_pattern", "policy-target", "Table or key pattern"),
        ("age_column", "policy-age-column", "Age column"),
        ("max_age", "policy-max-age", "Maximum age"),
        ("filter", "policy-f0-column", "Filter"),
        ("action", "policy-action", "Action"),
        ("action.columns", "policy-columns", "Anonymised columns"),
        ("schedule", "policy-schedule", "Schedule"),
        ("time_zone", "policy-time-zone", "Time zone"),
        ("batch_size", "policy-batch-size", "Batch size"),
        ("throttle_rows_per_sec", "policy-throttle", "Throttle"),
        ("legal_basis", "policy-legal-basis", "Legal basis"),
    ];
    let mut all: Vec<(String, String, String)> =
        fixed.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect();
    for (spec, row) in rows.iter().enumerate() {
        for part in ["column", "value"] {
            all.push((format!("filter[{spec}].{part}"), format!("policy-f{row}-{part}"), format!("Filter {part}")));
        }
    }
    for i in 0..columns {
        for part in ["name", "action"] {
            all.push((format!("action.columns[{i}].{part}"), "policy-columns".into(), "Anonymised columns".into()));
        }
    }
    all
}

/// `placements` as [`FieldErrors::place`] takes them.
pub fn borrowed(all: &[(String, String, String)]) -> Vec<Placement<'_>> {
    all.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect()
}

/// A store the form offers.
pub struct StoreOption {
    /// Id.
    pub id: String,
    /// Name and kind.
    pub label: String,
}

/// The stores retention reaches (SQL and Redis), and Lethe's own database for a built-in policy.
pub async fn store_options(state: &AppState, organization: Uuid, builtin: bool) -> WebResult<Vec<StoreOption>> {
    let mut options: Vec<StoreOption> = store::Model::all_in_org(&state.db, organization)
        .await?
        .into_iter()
        .filter(|s| s.kind.is_automated())
        .map(|s| StoreOption { id: s.id.to_string(), label: format!("{} ({})", s.name, s.kind.as_str()) })
        .collect();
    if builtin {
        options.insert(0, StoreOption { id: Uuid::nil().to_string(), label: "Lethe (its own database)".to_owned() });
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_form_reads_back_into_its_policy() {
        let spec: PolicySpec = serde_json::from_value(serde_json::json!({
            "name": "logs", "store_id": Uuid::nil(), "table": "logs", "age_column": "at", "max_age": "P14D",
            "filter": [{"column": "status", "op": "eq", "value": "closed"}, {"column": "note", "op": "is_null"}],
            "action": {"type": "anonymise", "columns": [{"name": "email", "action": "hash"}, {"name": "ip", "action": "null"}]},
            "schedule": "0 3 * * *", "throttle_rows_per_sec": 10, "legal_basis": "14 days", "enabled": false
        }))
        .unwrap();
        let form = PolicyForm::of(&spec);
        assert_eq!(form.columns, "email:hash, ip:null");
        let mut errors = FieldErrors::default();
        let (read, rows) = form.spec(Some(StoreKind::Postgres), &mut errors);
        assert!(errors.is_empty());
        assert_eq!(read, Some(spec));
        assert_eq!(rows, [0, 1]);
    }

    #[test]
    fn what_cannot_be_sent_is_named_by_field() {
        let mut form = PolicyForm::new_policy();
        form.f1_column = "status".into();
        form.f1_op = "like".into();
        form.action = "anonymise".into();
        form.columns = "email".into();
        form.throttle = "fast".into();
        let mut errors = FieldErrors::default();
        let (spec, _) = form.spec(Some(StoreKind::Redis), &mut errors);
        assert!(spec.is_none());
        let ids: Vec<&str> = errors.all().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["policy-store", "policy-f1-op", "policy-columns", "policy-throttle"]);
    }

    #[test]
    fn api_errors_of_a_skipped_row_go_to_the_row_typed() {
        let all = placements(&[2], 1);
        let row = all.iter().find(|(api, _, _)| api == "filter[0].column").unwrap();
        assert_eq!(row.1, "policy-f2-column");
        assert!(all.iter().any(|(api, id, _)| api == "action.columns[0].name" && id == "policy-columns"));
    }
}
