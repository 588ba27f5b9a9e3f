//! Erasure in a Redis store, per key pattern, with the same intent/receipt protocol as SQL
//! stores: the receipt is a Redis key written by the same Lua script that deletes the keys (a
//! script runs atomically), so the deletion and its receipt happen together or not at all.
//!
//! * `delete_row`: `DEL` the keys;
//! * `update`: per hash field, `null` removes the field (`HDEL`), `redact` overwrites it;
//! * `keep`: the keys stay (reported as retained).

use std::collections::BTreeMap;

use lethe_entities::datamap::{ColumnAction, DataMap, KeyMap, RowErasure};
use lethe_entities::ledger::entry::EntryKind;
use lethe_entities::ledger::{NewEntry, intent};

use super::RedisStore;
use super::receipts::{RECEIPT_TTL_SECS, fence, receipt_key};
use crate::stores::StoreError;
use crate::stores::erasure::{Applied, Context, EraseError};

/// Deletes (or updates) `keys`, writing the receipt in the same atomic script. Returns the keys
/// touched, or `None` when the receipt slot was already taken (recovery voided the intent).
const ERASE: &str = r#"
if not redis.call('SET', KEYS[1], 'pending', 'NX') then return -1 end
local n = 0
local op = ARGV[1]
for i = 2, #KEYS do
  if op == 'del' then
    n = n + redis.call('DEL', KEYS[i])
  elseif redis.call('EXISTS', KEYS[i]) == 1 then
    n = n + 1
    local j = 3
    while j <= #ARGV do
      if ARGV[j + 1] == 'null' then
        redis.call('HDEL', KEYS[i], ARGV[j])
      else
        redis.call('HSET', KEYS[i], ARGV[j], ARGV[j + 2])
      end
      j = j + 3
    end
  end
end
redis.call('SET', KEYS[1], 'applied:' .. n, 'EX', ARGV[2])
return n
"#;

/// Erases the `located` keys (per pattern) the data map covers, one ledger entry per pattern.
pub async fn erase_located(
    cx: &Context<'_>,
    store: &RedisStore,
    map: &DataMap,
    located: &BTreeMap<String, Vec<Vec<String>>>,
) -> Result<Vec<Applied>, EraseError> {
    let mut applied = Vec::new();
    for pattern in &map.keys {
        let keys: Vec<String> =
            located.get(&pattern.pattern).into_iter().flatten().filter_map(|k| k.first().cloned()).collect();
        applied.extend(erase(cx, store, pattern, &keys).await?);
    }
    Ok(applied)
}

/// Erases `keys` of `pattern` with one ledger entry.
pub async fn erase(
    cx: &Context<'_>,
    store: &RedisStore,
    pattern: &KeyMap,
    keys: &[String],
) -> Result<Option<Applied>, EraseError> {
    let mut args = vec![String::new(), RECEIPT_TTL_SECS.to_string()];
    match &pattern.erasure {
        RowErasure::DeleteRow => args[0] = "del".into(),
        RowErasure::Update | RowErasure::Keep { .. } => {
            args[0] = "hupd".into();
            for field in &pattern.fields {
                match field.action {
                    Some(ColumnAction::Null) => args.extend([field.name.clone(), "null".into(), String::new()]),
                    Some(ColumnAction::Redact) => args.extend([
                        field.name.clone(),
                        "redact".into(),
                        field.redact_with.clone().unwrap_or_else(|| "[redacted]".into()),
                    ]),
                    Some(ColumnAction::Hash) => {
                        return Err(EraseError::Store(
                            StoreError::Config(
                                "`hash` is not supported for Redis hash fields; use null or redact".into(),
                            ),
                            format!("`{}`", pattern.pattern),
                        ));
                    }
                    Some(ColumnAction::Keep) | None => {}
                }
            }
            if args.len() == 2 || keys.is_empty() {
                return Ok(None);
            }
        }
    }
    if keys.is_empty() {
        return Ok(None);
    }
    let action = if args[0] == "del" { "delete_row" } else { "update" };
    let planned = NewEntry {
        request_id: Some(cx.request),
        store: Some(cx.store.to_owned()),
        table: Some(pattern.pattern.clone()),
        action: Some(action.to_owned()),
        subject_refs: cx.subject_refs.to_vec(),
        ..NewEntry::new(EntryKind::Erasure)
    };
    let intent = intent::open(cx.lethe, cx.organization, &planned).await?;
    let mut script_keys = vec![receipt_key(intent.id)];
    script_keys.extend(keys.iter().cloned());
    let result: Result<i64, StoreError> = store.eval(ERASE, &script_keys, &args).await;
    let rows = match result {
        Ok(n) if n >= 0 => n as u64,
        Ok(_) => {
            intent::settle_void(cx.lethe, intent.id).await?;
            return Err(EraseError::Store(
                StoreError::Query("the erasure was voided by recovery"),
                pattern.pattern.clone(),
            ));
        }
        Err(e) => {
            // The script may or may not have run: the receipt says.
            return match fence(store, intent.id).await {
                Ok(Some(n)) => {
                    let seq = intent::settle_applied(cx.lethe, intent.id, n).await?;
                    Ok(Some(Applied { table: pattern.pattern.clone(), action, rows: n, seq: Some(seq) }))
                }
                Ok(None) => {
                    intent::settle_void(cx.lethe, intent.id).await?;
                    Err(EraseError::Store(e, format!("{action} `{}`", pattern.pattern)))
                }
                Err(_) => Err(EraseError::Unknown(e)),
            };
        }
    };
    let seq = intent::settle_applied(cx.lethe, intent.id, rows).await?;
    store.forget_receipt(&receipt_key(intent.id)).await;
    Ok(Some(Applied { table: pattern.pattern.clone(), action, rows, seq: Some(seq) }))
}
