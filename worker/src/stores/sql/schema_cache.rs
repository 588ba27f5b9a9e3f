//! A SQL store's introspected schema, kept for the jobs that plan statements from it.
//!
//! Reading a schema costs the store a few catalogue queries (hundreds of milliseconds on a cold
//! PostgreSQL connection), so it is read once and kept. After [`SCHEMA_TTL`] it is read again,
//! in the background: the job that notices the age goes on with the schema it has, and so do
//! the jobs after it until the new one is in (a job never waits for a refresh; a schema change
//! shows within the TTL plus one read, as before). [`SchemaCache::fresh`] reads at once and
//! wins over a background read that started before it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lethe_entities::StoreKind;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Mutex;

use super::introspect;
use crate::stores::schema::Schema;

/// How long an introspected schema is used before it is read again.
pub const SCHEMA_TTL: Duration = Duration::from_secs(60);

/// The kept schema: when it was read and which read it was.
#[derive(Default)]
struct Kept {
    schema: Option<(Instant, Arc<Schema>)>,
    /// Bumped by every read that must win ([`SchemaCache::fresh`]); a background read stores
    /// its result only if nothing bumped it meanwhile.
    generation: u64,
}

/// One store's schema, shared by every clone of its connector.
#[derive(Clone)]
pub struct SchemaCache {
    kept: Arc<Mutex<Kept>>,
    refreshing: Arc<AtomicBool>,
    ttl: Duration,
}

impl Default for SchemaCache {
    fn default() -> Self {
        Self::with_ttl(SCHEMA_TTL)
    }
}

impl SchemaCache {
    /// A cache whose schema is read again once it is `ttl` old.
    pub fn with_ttl(ttl: Duration) -> Self {
        Self { kept: Arc::default(), refreshing: Arc::default(), ttl }
    }

    /// The schema of the store behind `db`: the kept one (starting a background read if it is
    /// older than the TTL), or, the first time, read now.
    pub async fn get(&self, db: &DatabaseConnection, kind: StoreKind) -> Result<Arc<Schema>, DbErr> {
        let mut kept = self.kept.lock().await;
        if let Some((at, schema)) = &kept.schema {
            if at.elapsed() >= self.ttl && !self.refreshing.swap(true, Ordering::SeqCst) {
                self.refresh_in_background(db.clone(), kind, kept.generation);
            }
            return Ok(schema.clone());
        }
        let schema = Arc::new(introspect::read(db, kind).await?);
        kept.schema = Some((Instant::now(), schema.clone()));
        Ok(schema)
    }

    /// Reads the schema now (after a change such as saving a data map or discovery) and keeps
    /// it.
    pub async fn fresh(&self, db: &DatabaseConnection, kind: StoreKind) -> Result<Arc<Schema>, DbErr> {
        let mut kept = self.kept.lock().await;
        kept.generation += 1;
        kept.schema = None;
        let schema = Arc::new(introspect::read(db, kind).await?);
        kept.schema = Some((Instant::now(), schema.clone()));
        Ok(schema)
    }

    /// Reads the schema in a task of its own and keeps it unless a [`Self::fresh`] read came
    /// after `generation`; a failed read keeps the old schema (the next use tries again).
    fn refresh_in_background(&self, db: DatabaseConnection, kind: StoreKind, generation: u64) {
        let (kept, refreshing) = (self.kept.clone(), self.refreshing.clone());
        tokio::spawn(async move {
            match introspect::read(&db, kind).await {
                Ok(schema) => {
                    let mut kept = kept.lock().await;
                    if kept.generation == generation {
                        kept.schema = Some((Instant::now(), Arc::new(schema)));
                    }
                }
                // The store's own words may name its tables: not logged. The next job that uses
                // the store meets the same failure with its classified error.
                Err(_) => tracing::warn!("a store's schema could not be read again; the kept one is used"),
            }
            refreshing.store(false, Ordering::SeqCst);
        });
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database};

    use super::*;

    /// A SQLite store (in a directory that lives as long as the returned guard) with table `a`.
    async fn store_with_table_a() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("store.db").display());
        let db = Database::connect(url).await.unwrap();
        db.execute_unprepared("CREATE TABLE a (id INTEGER PRIMARY KEY)").await.unwrap();
        (dir, db)
    }

    /// A schema past its TTL is answered at once, the old one, while it is read again; the
    /// next uses get the new one without anyone waiting for the read.
    #[tokio::test]
    async fn an_old_schema_is_answered_while_it_is_read_again() {
        let (_dir, db) = store_with_table_a().await;
        let cache = SchemaCache::with_ttl(Duration::ZERO);
        let first = cache.get(&db, StoreKind::Sqlite).await.unwrap();
        assert!(first.tables.contains_key("a") && !first.tables.contains_key("b"));
        db.execute_unprepared("CREATE TABLE b (id INTEGER PRIMARY KEY)").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = cache.get(&db, StoreKind::Sqlite).await.unwrap();
            if now.tables.contains_key("b") {
                break;
            }
            assert!(Instant::now() < deadline, "the schema was never read again");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A fresh read wins over a background read started before it.
    #[tokio::test]
    async fn a_fresh_read_is_kept() {
        let (_dir, db) = store_with_table_a().await;
        let cache = SchemaCache::with_ttl(Duration::from_secs(3600));
        cache.get(&db, StoreKind::Sqlite).await.unwrap();
        db.execute_unprepared("CREATE TABLE b (id INTEGER PRIMARY KEY)").await.unwrap();
        assert!(!cache.get(&db, StoreKind::Sqlite).await.unwrap().tables.contains_key("b"), "kept for the TTL");
        assert!(cache.fresh(&db, StoreKind::Sqlite).await.unwrap().tables.contains_key("b"));
        assert!(cache.get(&db, StoreKind::Sqlite).await.unwrap().tables.contains_key("b"));
    }
}
