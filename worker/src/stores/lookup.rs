//! What locating asks a connector ([`Find`]) and what the connector hands back for each row or
//! key it finds ([`Found`]). The walk across stores ([`crate::locate`]) is the same for every
//! kind; each kind's `locate` module answers one lookup.

use std::collections::{BTreeMap, HashSet};

use lethe_entities::datamap::DataMap;
use sha2::{Digest, Sha256};

use super::schema::Schema;

/// What locating reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Primary keys only (preview, erasure planning).
    Keys,
    /// Whole rows (access exports).
    Rows,
}

/// One lookup: the rows (keys) of `table` whose `column` holds one of `values`.
pub struct Find<'a> {
    /// The table or key pattern.
    pub table: &'a str,
    /// The column compared (for a key pattern, its placeholder's source).
    pub column: &'a str,
    /// Compare ignoring case.
    pub ignore_case: bool,
    /// The values (personal data: never logged).
    pub values: &'a [String],
    /// The columns whose values the walk follows further; their values are reported per row.
    pub sources: &'a [String],
    /// Keys only or whole rows.
    pub mode: Mode,
    /// The store's data map.
    pub map: &'a DataMap,
    /// The store's live schema, as checked at the start of the walk (SQL stores).
    pub schema: Option<&'a Schema>,
}

/// One row (key) a lookup found for the first time.
pub struct Found<'a> {
    /// The primary key as text (composite keys joined with `,` in key order), or the Redis key.
    pub key: &'a str,
    /// The primary key's columns as text, in key order (one element, the key, for Redis).
    pub key_parts: &'a [Option<String>],
    /// The values of [`Find::sources`] in this row (`None` for NULL).
    pub sources: &'a [(&'a str, Option<&'a str>)],
    /// The row's columns as text (in [`Mode::Rows`]); for Redis, the value under `value`.
    pub row: Option<&'a BTreeMap<String, serde_json::Value>>,
}

/// The rows a walk has already seen in one table: a 16-byte digest per primary key.
#[derive(Debug, Default)]
pub struct Seen(HashSet<[u8; 16]>);

impl Seen {
    /// Records `key`; `true` the first time it is seen.
    pub fn first_time(&mut self, key: &str) -> bool {
        let hash = Sha256::digest(key.as_bytes());
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&hash[..16]);
        self.0.insert(digest)
    }
}
