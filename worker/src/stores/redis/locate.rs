//! One lookup of locating in a Redis store: the pattern's placeholder filled with each value,
//! and which of those keys exist (pipelined); for exports, each new key's value.

use std::collections::BTreeMap;

use super::RedisStore;
use crate::stores::StoreError;
use crate::stores::lookup::{Find, Found, Mode, Seen};

/// Answers `find`, handing each key not `seen` before to `sink`. Returns the round trips issued.
pub async fn lookup(
    store: &RedisStore,
    find: Find<'_>,
    seen: &mut Seen,
    sink: &mut (dyn FnMut(Found<'_>) + Send),
) -> Result<usize, StoreError> {
    let Some(pattern) = find.map.keys.iter().find(|k| k.pattern == find.table) else { return Ok(0) };
    let keys: Vec<String> = find.values.iter().filter_map(|v| pattern.key_for(v)).collect();
    let (existing, mut trips) = store.existing(&keys).await?;
    for key in existing {
        if !seen.first_time(&key) {
            continue;
        }
        let full = match find.mode {
            Mode::Rows => {
                trips += 1;
                let value = store.read(&key).await?;
                Some(BTreeMap::from([("value".to_owned(), value)]))
            }
            Mode::Keys => None,
        };
        let parts = [Some(key.clone())];
        sink(Found { key: &key, key_parts: &parts, sources: &[], row: full.as_ref() });
    }
    Ok(trips)
}
