//! Retention in a Redis store: keys matching a pattern (`SCAN MATCH`, never `KEYS`) whose age
//! is past the policy's maximum are deleted.
//!
//! A key's age is its idle time (`OBJECT IDLETIME`: seconds since it was last read or written)
//! when the policy names no field, or a hash field holding Unix seconds (a "last seen" time).
//! The deletion and its ledger receipt are one Lua script (atomic in Redis), which checks each
//! key's age again: a key used since the page was read is left alone.

use lethe_entities::entity::retention_policy::Model as Policy;
use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::RedisStore;
use super::receipts::{RECEIPT_TTL_SECS, receipt_key};
use crate::retention::preview_types::{Preview, SAMPLE};
use crate::stores::StoreError;

/// The keys among `KEYS` past the age, each with its age as Unix seconds (ARGV: field, limit,
/// now). Read-only.
const AGED: &str = r#"
local out = {}
for i = 1, #KEYS do
  local at = false
  if ARGV[1] == '' then
    local idle = redis.call('OBJECT', 'IDLETIME', KEYS[i])
    if idle and idle >= tonumber(ARGV[2]) then at = tonumber(ARGV[3]) - idle end
  elseif redis.call('TYPE', KEYS[i]).ok == 'hash' then
    local v = tonumber(redis.call('HGET', KEYS[i], ARGV[1]) or '')
    if v and v < tonumber(ARGV[2]) then at = v end
  end
  if at then
    out[#out + 1] = KEYS[i]
    out[#out + 1] = tostring(at)
  end
end
return out
"#;

/// Deletes the keys among `KEYS[2..]` past the age and writes the receipt `KEYS[1]` in the same
/// atomic step (ARGV: receipt TTL, field, limit). Returns the keys deleted, or -1 when the
/// receipt slot was taken (recovery voided the intent).
const PURGE: &str = r#"
if not redis.call('SET', KEYS[1], 'pending', 'NX') then return -1 end
local n = 0
for i = 2, #KEYS do
  local old = false
  if ARGV[2] == '' then
    local idle = redis.call('OBJECT', 'IDLETIME', KEYS[i])
    old = idle and idle >= tonumber(ARGV[3])
  elseif redis.call('TYPE', KEYS[i]).ok == 'hash' then
    local v = tonumber(redis.call('HGET', KEYS[i], ARGV[2]) or '')
    old = v and v < tonumber(ARGV[3])
  end
  if old then n = n + redis.call('DEL', KEYS[i]) end
end
redis.call('SET', KEYS[1], 'applied:' .. n, 'EX', ARGV[1])
return n
"#;

/// When a key counts as past the age.
#[derive(Debug, Clone)]
pub struct Age {
    /// The hash field with Unix seconds, or empty for the idle time.
    field: String,
    /// Idle seconds at least this (idle time), or a field value below this (Unix seconds).
    limit: i64,
}

impl Age {
    /// The rule of `policy` for a run whose cutoff is `cutoff`, at `now`.
    pub fn of(policy: &Policy, cutoff: OffsetDateTime, now: OffsetDateTime) -> Self {
        match &policy.age_column {
            Some(field) => Self { field: field.clone(), limit: cutoff.unix_timestamp() },
            None => Self { field: String::new(), limit: (now - cutoff).whole_seconds().max(0) },
        }
    }
}

/// The keys of `keys` past the age, with their ages (Unix seconds).
pub async fn aged(
    store: &RedisStore,
    keys: &[String],
    age: &Age,
    now: OffsetDateTime,
) -> Result<Vec<(String, i64)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let flat: Vec<String> =
        store.eval(AGED, keys, &[age.field.clone(), age.limit.to_string(), now.unix_timestamp().to_string()]).await?;
    Ok(flat.chunks(2).filter_map(|p| Some((p.first()?.clone(), p.get(1)?.parse().ok()?))).collect())
}

/// Deletes those of `keys` still past the age, with the receipt of `intent`; `None` when the
/// receipt slot was taken.
pub async fn purge(
    store: &RedisStore,
    intent: uuid::Uuid,
    keys: &[String],
    age: &Age,
) -> Result<Option<u64>, StoreError> {
    let mut script_keys = Vec::with_capacity(keys.len() + 1);
    script_keys.push(receipt_key(intent));
    script_keys.extend(keys.iter().cloned());
    let n: i64 = store
        .eval(PURGE, &script_keys, &[RECEIPT_TTL_SECS.to_string(), age.field.clone(), age.limit.to_string()])
        .await?;
    Ok(u64::try_from(n).ok())
}

/// Previews `policy` in a Redis store: one full `SCAN` of the pattern; keys in `held` (legal
/// holds on subjects) are not counted.
pub async fn preview(
    store: &RedisStore,
    policy: &Policy,
    cutoff: OffsetDateTime,
    now: OffsetDateTime,
    held: &BTreeSet<String>,
) -> Result<Preview, StoreError> {
    let age = Age::of(policy, cutoff, now);
    let (mut cursor, mut rows, mut oldest, mut newest) = (0u64, 0u64, None::<i64>, None::<i64>);
    let mut sample = Vec::new();
    loop {
        let (next, keys) = store.scan(cursor, &policy.target, policy.batch_size.max(1) as usize).await?;
        let mut found = aged(store, &keys, &age, now).await?;
        found.retain(|(key, _)| !held.contains(key));
        found.sort();
        found.dedup();
        for (key, at) in found {
            rows += 1;
            oldest = Some(oldest.map_or(at, |o| o.min(at)));
            newest = Some(newest.map_or(at, |n| n.max(at)));
            if sample.len() < SAMPLE as usize {
                sample.push(vec![key]);
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let text = |at: i64| {
        OffsetDateTime::from_unix_timestamp(at)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
    };
    sample.sort();
    Ok(Preview { cutoff, rows, oldest: oldest.and_then(text), newest: newest.and_then(text), sample, held_by: None })
}
