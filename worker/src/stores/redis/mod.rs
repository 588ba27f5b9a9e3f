//! Redis stores: personal data under key patterns such as `session:{customer_id}`.
//!
//! Locating fills a pattern's placeholder with values (the subject's identities, or values of a
//! column found in another store) and asks which keys exist, pipelined (one round trip per
//! chunk of keys). Discovery samples keys with `SCAN` (never `KEYS`) and proposes patterns.
//!
//! The connector's work: [`locate`], [`discover`], [`erase`], [`receipts`] (settling intents),
//! [`retention`] (ages, previews) and [`purge`] (retention runs).

pub mod discover;
pub mod erase;
pub mod locate;
pub mod purge;
pub mod receipts;
pub mod retention;

use std::collections::BTreeMap;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, Value};

use super::StoreError;
use crate::targets::{self, TargetPolicy};

/// Keys per pipelined round trip.
pub const CHUNK: usize = 500;
/// How many keys discovery samples at most.
pub const SAMPLE_KEYS: usize = 10_000;

/// A connection to one Redis store.
#[derive(Clone)]
pub struct RedisStore {
    connection: MultiplexedConnection,
}

/// Reduces a Redis error to a [`StoreError`] without its text (which can quote the server's
/// answer); its kind is logged.
fn classify(e: &RedisError) -> StoreError {
    tracing::warn!(kind = ?e.kind(), "Redis store error");
    match e.kind() {
        ErrorKind::AuthenticationFailed => StoreError::AuthFailed,
        ErrorKind::Io => StoreError::Unreachable("could not connect"),
        ErrorKind::InvalidClientConfig => StoreError::Config("the Redis URL is not valid".into()),
        _ => StoreError::Query("Redis reported an error"),
    }
}

/// The connection settings of `url` with the host replaced by an address the target policy
/// allows (TLS, `rediss://`, is not built in).
async fn pin(policy: &TargetPolicy, url: &str) -> Result<ConnectionInfo, StoreError> {
    let info = url.into_connection_info().map_err(|e| classify(&e))?;
    let addr = match info.addr().clone() {
        ConnectionAddr::Tcp(host, port) => {
            let addrs = policy.resolve(&host, port).await?;
            ConnectionAddr::Tcp(targets::first_reachable(&addrs).await.ip().to_string(), port)
        }
        ConnectionAddr::Unix(path) => return Err(policy.socket(&path.display().to_string()).into()),
        _ => return Err(StoreError::Config("the Redis URL is not valid".into())),
    };
    Ok(info.set_addr(addr))
}

impl RedisStore {
    /// Connects to the address the target policy allows and authenticates.
    pub async fn connect(policy: &TargetPolicy, url: &str) -> Result<Self, StoreError> {
        super::check_url(lethe_entities::StoreKind::Redis, url)?;
        let client = redis::Client::open(pin(policy, url).await?).map_err(|e| classify(&e))?;
        let connection = tokio::time::timeout(Duration::from_secs(5), client.get_multiplexed_async_connection())
            .await
            .map_err(|_| StoreError::Unreachable("timed out connecting"))?
            .map_err(|e| classify(&e))?;
        Ok(Self { connection })
    }

    /// Checks `url` against the target policy without connecting.
    pub async fn check(policy: &TargetPolicy, url: &str) -> Result<(), StoreError> {
        pin(policy, url).await.map(drop)
    }

    /// `PING`, then the number of keys in the database.
    pub async fn test(&self) -> Result<u64, StoreError> {
        let mut c = self.connection.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await.map_err(|e| classify(&e))?;
        redis::cmd("DBSIZE").query_async(&mut c).await.map_err(|e| classify(&e))
    }

    /// Which of `keys` exist. Returns them with the number of round trips issued.
    pub async fn existing(&self, keys: &[String]) -> Result<(Vec<String>, usize), StoreError> {
        let mut c = self.connection.clone();
        let mut found = Vec::new();
        let mut trips = 0;
        for chunk in keys.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.exists(key);
            }
            trips += 1;
            let exists: Vec<bool> = pipe.query_async(&mut c).await.map_err(|e| classify(&e))?;
            found.extend(chunk.iter().zip(exists).filter(|(_, e)| *e).map(|(k, _)| k.clone()));
        }
        Ok((found, trips))
    }

    /// Runs a Lua script (atomic in Redis) with `keys` and `args`.
    pub async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &str,
        keys: &[String],
        args: &[String],
    ) -> Result<T, StoreError> {
        let mut c = self.connection.clone();
        let script = redis::Script::new(script);
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        invocation.invoke_async(&mut c).await.map_err(|e| classify(&e))
    }

    /// One `SCAN` page of keys matching `pattern` from `cursor`: the next cursor (0 when the
    /// scan is complete) and the keys (a key may come more than once; a page may be empty).
    pub async fn scan(&self, cursor: u64, pattern: &str, count: usize) -> Result<(u64, Vec<String>), StoreError> {
        let mut c = self.connection.clone();
        redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count)
            .query_async(&mut c)
            .await
            .map_err(|e| classify(&e))
    }

    /// Deletes a settled receipt (best effort: a leftover one expires).
    pub async fn forget_receipt(&self, key: &str) {
        let mut c = self.connection.clone();
        let _: Result<i64, _> = c.del(key).await;
    }

    /// Reads one key's value as JSON-able data (string, hash, list, set or sorted set).
    pub async fn read(&self, key: &str) -> Result<serde_json::Value, StoreError> {
        let mut c = self.connection.clone();
        let kind: String = redis::cmd("TYPE").arg(key).query_async(&mut c).await.map_err(|e| classify(&e))?;
        let value: Value = match kind.as_str() {
            "string" => c.get(key).await,
            "hash" => {
                let fields: BTreeMap<String, String> = c.hgetall(key).await.map_err(|e| classify(&e))?;
                return Ok(serde_json::to_value(fields).unwrap_or_default());
            }
            "list" => c.lrange(key, 0, -1).await,
            "set" => c.smembers(key).await,
            "zset" => c.zrange(key, 0, -1).await,
            _ => Ok(Value::Nil),
        }
        .map_err(|e| classify(&e))?;
        Ok(to_json(value))
    }

    /// Samples up to `limit` keys with `SCAN` and groups them into patterns: each `:`-separated
    /// segment that looks like an identifier (digits, UUID, e-mail address, long hex) becomes a
    /// placeholder. Returns pattern → (placeholder kind, number of sampled keys, Redis type of
    /// one of them).
    pub async fn sample_patterns(&self, limit: usize) -> Result<BTreeMap<String, PatternSample>, StoreError> {
        let mut c = self.connection.clone();
        let mut cursor: u64 = 0;
        let mut seen = 0;
        let mut patterns: BTreeMap<String, PatternSample> = BTreeMap::new();
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut c)
                .await
                .map_err(|e| classify(&e))?;
            for key in keys {
                seen += 1;
                if let Some((pattern, placeholder)) = generalise(&key) {
                    let entry = patterns.entry(pattern).or_insert_with(|| PatternSample {
                        placeholder,
                        keys: 0,
                        example_key: key.clone(),
                        redis_type: String::new(),
                    });
                    entry.keys += 1;
                }
            }
            cursor = next;
            if cursor == 0 || seen >= limit {
                break;
            }
        }
        for sample in patterns.values_mut() {
            sample.redis_type =
                redis::cmd("TYPE").arg(&sample.example_key).query_async(&mut c).await.map_err(|e| classify(&e))?;
        }
        Ok(patterns)
    }
}

/// What discovery saw of one key pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternSample {
    /// The kind of value in the placeholder: `email`, `uuid` or `id`.
    pub placeholder: &'static str,
    /// Sampled keys matching the pattern.
    pub keys: usize,
    /// One matching key (personal data: never returned or logged; used to read the type).
    pub example_key: String,
    /// Its Redis type (`string`, `hash`, ...).
    pub redis_type: String,
}

/// Generalises a key to a pattern with exactly one placeholder, or `None` when it has no
/// identifier-like segment or several.
pub fn generalise(key: &str) -> Option<(String, &'static str)> {
    let mut placeholder = None;
    let mut parts = Vec::new();
    for segment in key.split(':') {
        let kind = if segment.contains('@') && segment.contains('.') {
            Some("email")
        } else if uuid::Uuid::parse_str(segment).is_ok() {
            Some("uuid")
        } else if (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()))
            || (segment.len() >= 16 && segment.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            Some("id")
        } else {
            None
        };
        match kind {
            Some(kind) if placeholder.is_none() => {
                placeholder = Some(kind);
                parts.push(format!("{{{kind}}}"));
            }
            Some(_) => return None,
            None => parts.push(segment.to_owned()),
        }
    }
    placeholder.map(|p| (parts.join(":"), p))
}

fn to_json(value: Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Nil => J::Null,
        Value::Int(i) => J::from(i),
        Value::BulkString(bytes) => J::String(String::from_utf8_lossy(&bytes).into_owned()),
        Value::SimpleString(s) => J::String(s),
        Value::Okay => J::String("OK".into()),
        Value::Array(items) | Value::Set(items) => J::Array(items.into_iter().map(to_json).collect()),
        Value::Map(pairs) => J::Object(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        J::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Double(d) => J::from(d),
        Value::Boolean(b) => J::Bool(b),
        other => J::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_generalise_to_one_placeholder() {
        assert_eq!(generalise("session:42"), Some(("session:{id}".into(), "id")));
        assert_eq!(generalise("t1a2b:cart:ann@example.com"), Some(("t1a2b:cart:{email}".into(), "email")));
        assert_eq!(
            generalise("user:6f1c3a1e-2b4d-4c1e-9b7a-0a1b2c3d4e5f:prefs"),
            Some(("user:{uuid}:prefs".into(), "uuid"))
        );
        assert_eq!(generalise("config:site"), None);
        assert_eq!(generalise("rel:1:2"), None);
    }
}
