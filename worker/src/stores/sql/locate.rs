//! One lookup of locating in a SQL store: the rows of a mapped table whose column holds one of
//! the values, streamed, with their primary key, the columns the walk follows, and (for
//! exports) every column.

use std::collections::BTreeMap;

use super::SqlStore;
use super::fetch::Lookup;
use crate::stores::StoreError;
use crate::stores::lookup::{Find, Found, Mode, Seen};

/// Answers `find`, handing each row not `seen` before to `sink`. Returns the statements issued.
pub async fn lookup(
    store: &SqlStore,
    find: Find<'_>,
    seen: &mut Seen,
    sink: &mut (dyn FnMut(Found<'_>) + Send),
) -> Result<usize, StoreError> {
    let Some(table) = find.map.table(find.table) else { return Ok(0) };
    let schema = find.schema.ok_or(StoreError::NoDataMap)?;
    let Some(live) = schema.tables.get(&table.name) else {
        return Err(StoreError::Schema(format!("table `{}` is gone", table.name)));
    };
    let mut select: Vec<String> = table.primary_key.clone();
    for c in find.sources {
        if !select.contains(c) {
            select.push(c.clone());
        }
    }
    if find.mode == Mode::Rows {
        for c in &live.columns {
            if !select.contains(&c.name) {
                select.push(c.name.clone());
            }
        }
    }
    let pk_len = table.primary_key.len();
    let positions: Vec<usize> = find.sources.iter().map(|s| select.iter().position(|c| c == s).unwrap_or(0)).collect();
    let lookup = Lookup {
        table: &table.name,
        schema: live,
        column: find.column,
        ignore_case: find.ignore_case,
        values: find.values,
    };
    store
        .fetch(lookup, &select, |row| {
            let key: String = row[..pk_len].iter().map(|v| v.as_deref().unwrap_or("")).collect::<Vec<_>>().join(",");
            if !seen.first_time(&key) {
                return;
            }
            let sources: Vec<(&str, Option<&str>)> =
                find.sources.iter().zip(&positions).map(|(s, i)| (s.as_str(), row[*i].as_deref())).collect();
            let full = (find.mode == Mode::Rows).then(|| {
                select
                    .iter()
                    .zip(row.iter())
                    .map(|(c, v)| (c.clone(), v.clone().map_or(serde_json::Value::Null, serde_json::Value::String)))
                    .collect::<BTreeMap<_, _>>()
            });
            sink(Found { key: &key, key_parts: &row[..pk_len], sources: &sources, row: full.as_ref() });
        })
        .await
}
