//! Jobs enqueued by other processes, on PostgreSQL: one `LISTEN` connection per process hears
//! apalis' `NOTIFY` (sent by its trigger when a due job is inserted, at the inserting
//! transaction's commit; and by [`super::JobQueue::give_back`]) and raises that queue
//! ([`super::wake`]).
//!
//! Whenever listening (re)starts, every queue is raised, since jobs may have been inserted
//! while nobody listened; a failed connection is opened again after a second, and the fallback
//! poll covers the gap meanwhile.

use std::time::Duration;

use apalis_postgres::{PgListener, PgPool};
use futures::future::BoxFuture;
use serde::Deserialize;

use super::wake::Wake;

/// apalis' channel for inserted jobs that are due.
const CHANNEL: &str = "apalis::job::insert";

/// How long to wait before listening again after the connection failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// What apalis' trigger says of an inserted job.
#[derive(Debug, Deserialize)]
struct Inserted {
    job_type: String,
}

/// Listens until `stop` resolves, raising each notified job's queue in `wake`.
pub async fn run(pool: PgPool, wake: Wake, stop: BoxFuture<'static, ()>) {
    tokio::select! {
        () = stop => {}
        () = listen_forever(pool, wake) => {}
    }
}

async fn listen_forever(pool: PgPool, wake: Wake) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    // Jobs inserted before this moment were not heard: look once.
                    wake.signal_all();
                    hear(&mut listener, &wake).await;
                }
                Err(e) => tracing::warn!(error = %e, "could not listen for new jobs; polling meanwhile"),
            },
            Err(e) => tracing::warn!(error = %e, "could not connect to listen for new jobs; polling meanwhile"),
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

/// Raises queues as notifications arrive, until the connection fails.
async fn hear(listener: &mut PgListener, wake: &Wake) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if let Ok(inserted) = serde_json::from_str::<Inserted>(notification.payload()) {
                    wake.signal(&inserted.job_type);
                }
            }
            // The connection was lost (and notifications with it): raise everything.
            Ok(None) => wake.signal_all(),
            Err(e) => {
                tracing::warn!(error = %e, "lost the connection that listens for new jobs");
                return;
            }
        }
    }
}
