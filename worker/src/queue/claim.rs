//! Taking one queued job out of the queue to do its work in place, the way a worker takes it:
//! a compare-and-set on apalis' own row (`Pending`, or `Failed` with attempts left, and not
//! locked by a worker) to `Done`, so no worker runs it after. Used where work must happen in an
//! order the queue does not keep (a request's acknowledgement before its answer).

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement, Value};

use super::{JobQueue, QueueDb};

/// Where a job is, for the one who wants to do its work first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// No such job (never enqueued, or removed).
    Absent,
    /// Taken from the queue: the caller does its work now (or gives it back with
    /// [`JobQueue::give_back`]).
    Taken,
    /// A worker holds it right now.
    Busy,
    /// Done, or failed for good: nothing more will happen to it.
    Finished,
}

impl JobQueue {
    fn table(&self) -> (DatabaseBackend, &'static str) {
        match self.db {
            QueueDb::Sqlite(_) => (DatabaseBackend::Sqlite, "Jobs"),
            QueueDb::Postgres(_) => (DatabaseBackend::Postgres, "apalis.jobs"),
        }
    }

    fn statement(&self, sql: &str, values: [&str; 2]) -> Statement {
        let (backend, table) = self.table();
        let sql = sql.replace("{table}", table);
        let sql = match backend {
            DatabaseBackend::Postgres => sql.replace("?1", "$1").replace("?2", "$2").replace("{now}", "now()"),
            _ => sql.replace("{now}", "strftime('%s', 'now')"),
        };
        Statement::from_sql_and_values(backend, sql, values.map(|v| Value::from(v.to_owned())))
    }

    /// Takes the job of `queue` with `key` from the queue if no worker has it; says where it is.
    pub async fn take(&self, db: &DatabaseConnection, queue: &str, key: &str) -> Result<Claim, DbErr> {
        let taken = db
            .execute_raw(self.statement(
                "UPDATE {table} SET status = 'Done', done_at = {now} \
                 WHERE job_type = ?1 AND idempotency_key = ?2 AND lock_by IS NULL \
                   AND (status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts))",
                [queue, key],
            ))
            .await?;
        if taken.rows_affected() == 1 {
            return Ok(Claim::Taken);
        }
        let row = db
            .query_one_raw(self.statement(
                "SELECT status, attempts, max_attempts FROM {table} WHERE job_type = ?1 AND idempotency_key = ?2",
                [queue, key],
            ))
            .await?;
        let Some(row) = row else { return Ok(Claim::Absent) };
        let status: String = row.try_get("", "status")?;
        let (attempts, max): (i64, i64) = match self.db {
            QueueDb::Sqlite(_) => (row.try_get("", "attempts")?, row.try_get("", "max_attempts")?),
            QueueDb::Postgres(_) => {
                (i64::from(row.try_get::<i32>("", "attempts")?), i64::from(row.try_get::<i32>("", "max_attempts")?))
            }
        };
        Ok(match status.as_str() {
            "Done" | "Killed" => Claim::Finished,
            "Failed" if attempts >= max => Claim::Finished,
            _ => Claim::Busy,
        })
    }

    /// Gives a job taken with [`JobQueue::take`] back to the queue (its work could not be done
    /// in place), for a worker to run as before.
    pub async fn give_back(&self, db: &DatabaseConnection, queue: &str, key: &str) -> Result<(), DbErr> {
        db.execute_raw(self.statement(
            "UPDATE {table} SET status = 'Pending', done_at = NULL \
             WHERE job_type = ?1 AND idempotency_key = ?2 AND status = 'Done' AND lock_by IS NULL",
            [queue, key],
        ))
        .await?;
        // Its worker may be in this process or in another: wake both.
        self.wake.signal(queue);
        if let QueueDb::Postgres(_) = self.db {
            let notify = "SELECT pg_notify('apalis::job::insert', json_build_object('job_type', $1::text)::text)";
            db.execute_raw(Statement::from_sql_and_values(DatabaseBackend::Postgres, notify, [queue.into()])).await?;
        }
        Ok(())
    }
}
