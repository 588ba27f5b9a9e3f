//! Discovery in a Redis store: keys sampled with `SCAN` (never `KEYS`) and generalised into
//! patterns with one placeholder, each proposed as a key map keyed by the identity it looks like.

use lethe_entities::datamap::{KeyMap, KeySource, RowErasure};
use lethe_entities::domain::enums::IdentityKind;

use super::{RedisStore, SAMPLE_KEYS};
use crate::stores::StoreError;
use crate::stores::discover::Discovery;

/// Samples the store's keys and proposes a data map of key patterns.
pub async fn discover(redis: &RedisStore) -> Result<Discovery, StoreError> {
    let patterns = redis.sample_patterns(SAMPLE_KEYS).await?;
    let mut discovery = Discovery::empty();
    for (pattern, sample) in patterns {
        let kind = if sample.placeholder == "email" { IdentityKind::Email } else { IdentityKind::CustomerId };
        discovery.notes.push(format!(
            "`{pattern}`: {} sampled key(s) of type {}; the placeholder looks like {}; if its values come from \
             another store's column, change `source` to that column",
            sample.keys, sample.redis_type, sample.placeholder
        ));
        discovery.map.keys.push(KeyMap {
            pattern,
            source: KeySource::Identity(kind),
            category: None,
            label: None,
            purpose: None,
            legal_basis: None,
            origin: None,
            automated_decision: None,
            fields: vec![],
            erasure: RowErasure::DeleteRow,
        });
    }
    Ok(discovery)
}
