//! The `cache` store: Redis keys under the company's prefix: `session:{customer_id}` hashes
//! and `cart:{email}` JSON strings.

use super::people::{Customer, Owners};
use super::{ANN_CUSTOMER_ID, KEY_TTL_SECS};

const STORE: &str = "cache";

/// The server's URL (override with `LETHE_TEST_REDIS_URL`).
pub(super) fn server_url() -> String {
    std::env::var("LETHE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// One key to write.
pub(super) enum Entry {
    /// A hash of field/value pairs.
    Hash(String, Vec<(&'static str, String)>),
    /// A string.
    Text(String, String),
}

/// The keys that fill the cache, recording Ann's and Bob's in `owners`.
pub(super) fn seed(customers: &[Customer], prefix: &str, owners: &mut Owners) -> Vec<Entry> {
    let sessions = format!("{prefix}session:{{customer_id}}");
    let carts = format!("{prefix}cart:{{email}}");
    let session = |id: i64, ip: String, agent: &str| {
        Entry::Hash(format!("{prefix}session:{id}"), vec![("ip", ip), ("user_agent", agent.to_owned())])
    };
    let mut entries = Vec::new();
    for c in customers {
        if c.session {
            let agent = if c.id == ANN_CUSTOMER_ID { "Mozilla/5.0 (Ann's laptop)" } else { "Mozilla/5.0 (X11; Linux)" };
            entries.push(session(c.id, super::people::ip(c, 0), agent));
            owners.add(c.owner, STORE, &sessions, format!("{prefix}session:{}", c.id));
        }
        if c.cart {
            let email = c.email.to_lowercase();
            let cart = format!(r#"{{"email":"{email}","items":[{{"product_id":3,"quantity":2}}]}}"#);
            entries.push(Entry::Text(format!("{prefix}cart:{email}"), cart));
            owners.add(c.owner, STORE, &carts, format!("{prefix}cart:{email}"));
        }
    }
    // A guest whose id starts like Ann's (101): a pattern match must be exact.
    entries.push(session(1010, "192.0.2.201".to_owned(), "curl/8.0"));
    entries
}

/// Writes the entries, each expiring after [`KEY_TTL_SECS`].
pub(super) async fn create(url: &str, entries: &[Entry]) {
    let mut con = connection(url).await.unwrap_or_else(|e| panic!("Redis must be running on {url} ({e})"));
    let mut pipe = redis::pipe();
    for entry in entries {
        let key = match entry {
            Entry::Hash(key, fields) => {
                let hset = pipe.cmd("HSET").arg(key);
                for (field, value) in fields {
                    hset.arg(*field).arg(value);
                }
                hset.ignore();
                key
            }
            Entry::Text(key, value) => {
                pipe.cmd("SET").arg(key).arg(value).ignore();
                key
            }
        };
        pipe.cmd("EXPIRE").arg(key).arg(KEY_TTL_SECS).ignore();
    }
    pipe.query_async::<()>(&mut con).await.expect("fill the cache");
}

async fn connection(url: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    redis::Client::open(url)?.get_multiplexed_async_connection().await
}

/// Deletes every key under `prefix`.
pub(super) async fn delete_prefix(url: &str, prefix: &str) -> anyhow::Result<()> {
    let mut con = connection(url).await?;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL").arg(&keys).query_async::<()>(&mut con).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
