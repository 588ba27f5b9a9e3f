//! Settling intents in groups.
//!
//! An organization's ledger head is locked from a transaction's first append until its commit
//! is on disk, so the ledger transactions of one organization go one at a time, each waiting for
//! the disk. When many jobs of one worker process finish their stores' transactions at about the
//! same time, settling each job's intents in a transaction of its own makes them queue for that
//! lock one disk wait after another. Here they hand their intents to one settler per process,
//! which settles whatever has gathered in one transaction per organization
//! ([`intent::settle_applied_many`], entries in arrival order): one disk wait for the group.
//!
//! The result is the same as settling alone: each caller gets its intents' entries, in its own
//! order. If a group's transaction fails, its members are settled one by one so that one bad
//! intent cannot fail the others; and if the settler is gone, callers settle directly.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use lethe_entities::ledger::{LedgerError, intent};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// At most this many callers' intents go into one transaction.
const MAX_GROUP: usize = 64;

/// A handle to this process's settler (started on first use).
#[derive(Clone, Default)]
pub struct Settlements {
    settler: Arc<OnceLock<mpsc::UnboundedSender<Settlement>>>,
}

/// One caller's intents and where its answer goes.
struct Settlement {
    organization: Uuid,
    settled: Vec<(Uuid, u64)>,
    reply: oneshot::Sender<Result<Vec<u64>, LedgerError>>,
}

impl Settlements {
    /// Settles `settled` (intents of `organization` whose store transaction committed, each with
    /// its row count) like [`intent::settle_applied_many`], possibly in one transaction with other
    /// jobs' intents. Returns each intent's entry, in the given order.
    pub async fn settle(
        &self,
        db: &DatabaseConnection,
        organization: Uuid,
        settled: Vec<(Uuid, u64)>,
    ) -> Result<Vec<u64>, LedgerError> {
        if settled.is_empty() {
            return Ok(Vec::new());
        }
        let settler = self.settler.get_or_init(|| spawn_settler(db.clone()));
        let (reply, answer) = oneshot::channel();
        if let Err(refused) = settler.send(Settlement { organization, settled, reply }) {
            return intent::settle_applied_many(db, &refused.0.settled).await;
        }
        match answer.await {
            Ok(result) => result,
            // The settler stopped (its runtime is shutting down): nothing was answered for these
            // intents, and settling is idempotent.
            Err(_) => Err(LedgerError::Invalid("the ledger settler stopped; the job is retried")),
        }
    }
}

/// Starts the settler: it takes whatever has gathered, groups it by organization and settles each
/// group in one transaction.
fn spawn_settler(db: DatabaseConnection) -> mpsc::UnboundedSender<Settlement> {
    let (sender, mut queue) = mpsc::unbounded_channel::<Settlement>();
    tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            let mut gathered = vec![first];
            while gathered.len() < MAX_GROUP
                && let Ok(next) = queue.try_recv()
            {
                gathered.push(next);
            }
            let mut groups: BTreeMap<Uuid, Vec<Settlement>> = BTreeMap::new();
            for settlement in gathered {
                groups.entry(settlement.organization).or_default().push(settlement);
            }
            for group in groups.into_values() {
                settle_group(&db, group).await;
            }
        }
    });
    sender
}

/// Settles one organization's gathered intents in one transaction, or one caller at a time if
/// that fails.
async fn settle_group(db: &DatabaseConnection, group: Vec<Settlement>) {
    if group.len() > 1 {
        let all: Vec<(Uuid, u64)> = group.iter().flat_map(|s| s.settled.iter().copied()).collect();
        if let Ok(seqs) = intent::settle_applied_many(db, &all).await {
            let mut seqs = seqs.into_iter();
            for settlement in group {
                let mine: Vec<u64> = seqs.by_ref().take(settlement.settled.len()).collect();
                let _ = settlement.reply.send(Ok(mine));
            }
            return;
        }
    }
    for settlement in group {
        let result = intent::settle_applied_many(db, &settlement.settled).await;
        let _ = settlement.reply.send(result);
    }
}
