//! Lethe's own retention, as built-in policies every organization has (listed by the API like
//! any other, on by default; their age, schedule and pace can be changed, not their target):
//!
//! * `lethe-verification-challenges`: verification codes after 24 hours (deleted);
//! * `lethe-closed-request-identities`: the encrypted identities (and message) of requests
//!   closed 90 days ago: the ciphertext is deleted, the request row stays with its HMAC blind
//!   indexes and its timeline for accountability (`anonymise`);
//! * `lethe-request-events`: the audit log after 12 months: request timeline events and the
//!   operators' account events and console actions (`operator_events`), each table with its own
//!   ledger entries;
//! * `lethe-finished-jobs`: finished, failed and killed job rows after 14 days (the queue is
//!   shared by the whole installation, so this one runs across organizations; job rows hold
//!   ids, no personal data, and get no ledger entry);
//! * `lethe-expired-exports`: access packages past their link's expiry, crypto-shredded with an
//!   `export_purge` entry (every worker does this every minute; a run does it now).
//!
//! Each batch is one transaction in Lethe's database with its `retention_purge` ledger entry
//! (store `lethe`) and the run's counts, so a crash loses nothing and counts nothing twice.

use lethe_entities::domain::enums::RequestState;
use lethe_entities::entity::retention_policy::{self, Model as Policy};
use lethe_entities::entity::retention_run::{Model as Run, Progress};
use lethe_entities::entity::{
    operator_event, organization, request, request_event, subject_identity, verification_challenge,
};
use lethe_entities::ledger::{EntryKind, NewEntry, append};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Statement,
};
use time::OffsetDateTime;
use uuid::Uuid;

use lethe_entities::datamap::ColumnAction;
use lethe_entities::retention::{AnonymiseColumn, PolicyAction, Schedule};

/// The store name built-in entries carry in the ledger.
pub const STORE: &str = "lethe";

/// One built-in policy.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its key (`builtin` column).
    pub key: &'static str,
    /// The table it works on.
    pub table: &'static str,
    /// Default maximum age.
    pub max_age: &'static str,
    /// Default schedule (none: see the module documentation).
    pub schedule: Option<&'static str>,
    /// Whether rows are anonymised rather than deleted.
    pub anonymise: bool,
    /// The legal basis, in words.
    pub legal_basis: &'static str,
}

/// Every built-in policy.
pub const BUILTINS: [Builtin; 5] = [
    Builtin {
        key: "verification_challenges",
        table: "verification_challenges",
        max_age: "P1D",
        schedule: Some("0 * * * *"),
        anonymise: false,
        legal_basis: "Verification codes serve only to prove the address; kept 24 hours.",
    },
    Builtin {
        key: "closed_request_identities",
        table: "subject_identities",
        max_age: "P90D",
        schedule: Some("30 3 * * *"),
        anonymise: true,
        legal_basis: "A closed request keeps its HMAC references and timeline for accountability; \
                      its encrypted identities go 90 days after closing.",
    },
    Builtin {
        key: "request_events",
        table: "request_events",
        max_age: "P12M",
        schedule: Some("45 3 * * *"),
        anonymise: false,
        legal_basis: "The audit log (request timelines, operators' account events and console actions) is kept \
                      12 months.",
    },
    Builtin {
        key: "finished_jobs",
        table: "jobs",
        max_age: "P14D",
        schedule: Some("15 4 * * *"),
        anonymise: false,
        legal_basis: "Finished job rows are kept 14 days for troubleshooting.",
    },
    Builtin {
        key: "expired_exports",
        table: "exports",
        max_age: "P7D",
        schedule: None,
        anonymise: false,
        legal_basis: "Access packages are kept until their download link expires, then crypto-shredded \
                      (checked every minute by every worker).",
    },
];

/// The built-in policy with `key`.
pub fn find(key: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.key == key)
}

/// A built-in policy's name.
pub fn name(key: &str) -> String {
    format!("lethe-{}", key.replace('_', "-"))
}

/// Creates the built-in policies `organization` does not have yet (another process creating
/// them at the same moment is fine).
pub async fn ensure(db: &DatabaseConnection, organization: Uuid, now: OffsetDateTime) -> Result<(), DbErr> {
    let have: Vec<Option<String>> = retention_policy::Entity::find()
        .select_only()
        .column(retention_policy::Column::Builtin)
        .filter(retention_policy::Column::OrganizationId.eq(organization))
        .filter(retention_policy::Column::Builtin.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    for builtin in BUILTINS.iter().filter(|b| !have.iter().any(|h| h.as_deref() == Some(b.key))) {
        let action = if builtin.anonymise {
            PolicyAction::Anonymise {
                columns: vec![AnonymiseColumn { name: "ciphertext".into(), action: ColumnAction::Null }],
            }
        } else {
            PolicyAction::DeleteRow
        };
        let next_run_at = builtin.schedule.and_then(|s| Schedule::parse(s, "UTC").ok()).and_then(|s| s.next_after(now));
        let created = retention_policy::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization),
            name: Set(name(builtin.key)),
            store_id: Set(Uuid::nil()),
            target: Set(builtin.table.to_owned()),
            age_column: Set(None),
            max_age: Set(builtin.max_age.to_owned()),
            filter: Set(serde_json::json!([])),
            action: Set(serde_json::to_value(&action).expect("actions serialise")),
            schedule: Set(builtin.schedule.map(str::to_owned)),
            time_zone: Set("UTC".to_owned()),
            batch_size: Set(1000),
            throttle_rows_per_sec: Set(None),
            legal_basis: Set(builtin.legal_basis.to_owned()),
            enabled: Set(true),
            builtin: Set(Some(builtin.key.to_owned())),
            next_run_at: Set(next_run_at),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await;
        match created {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates missing built-in policies for every organization that lacks some.
pub async fn ensure_all(db: &DatabaseConnection, now: OffsetDateTime) -> Result<(), DbErr> {
    let organizations = organization::Entity::find().count(db).await?;
    let complete =
        retention_policy::Entity::find().filter(retention_policy::Column::Builtin.is_not_null()).count(db).await?;
    if complete >= organizations * BUILTINS.len() as u64 {
        return Ok(());
    }
    for org in organization::Entity::find().all(db).await? {
        ensure(db, org.id, now).await?;
    }
    Ok(())
}

const FINAL: [RequestState; 3] = [RequestState::Completed, RequestState::Denied, RequestState::Canceled];

/// Rows of `builtin` past `cutoff` for `organization` (for previews).
pub async fn count(
    db: &DatabaseConnection,
    builtin: &Builtin,
    organization: Uuid,
    cutoff: OffsetDateTime,
) -> Result<u64, DbErr> {
    match builtin.key {
        "verification_challenges" => {
            verification_challenge::Entity::find()
                .filter(verification_challenge::Column::OrganizationId.eq(organization))
                .filter(verification_challenge::Column::CreatedAt.lt(cutoff))
                .count(db)
                .await
        }
        "closed_request_identities" => {
            subject_identity::Entity::find()
                .filter(subject_identity::Column::OrganizationId.eq(organization))
                .filter(subject_identity::Column::Ciphertext.ne(Vec::<u8>::new()))
                .filter(subject_identity::Column::RequestId.in_subquery(closed_before(organization, cutoff)))
                .count(db)
                .await
        }
        "request_events" => {
            let timelines = request_event::Entity::find()
                .filter(request_event::Column::OrganizationId.eq(organization))
                .filter(request_event::Column::At.lt(cutoff))
                .count(db)
                .await?;
            let accounts = operator_event::Entity::find()
                .filter(operator_event::Column::OrganizationId.eq(organization))
                .filter(operator_event::Column::At.lt(cutoff))
                .count(db)
                .await?;
            Ok(timelines + accounts)
        }
        "finished_jobs" => {
            let row = db.query_one_raw(jobs_statement(db, "SELECT COUNT(*) AS n", cutoff, None)).await?;
            Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0) as u64)
        }
        "expired_exports" => {
            use lethe_entities::entity::export::{self, ExportState};
            export::Entity::find()
                .filter(export::Column::OrganizationId.eq(organization))
                .filter(export::Column::State.eq(ExportState::Ready))
                .filter(export::Column::ExpiresAt.lte(OffsetDateTime::now_utc()))
                .count(db)
                .await
        }
        _ => Ok(0),
    }
}

/// Requests of `organization` closed before `cutoff`.
fn closed_before(organization: Uuid, cutoff: OffsetDateTime) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(request::Column::Id)
        .from(request::Entity)
        .and_where(request::Column::OrganizationId.eq(organization))
        .and_where(request::Column::State.is_in(FINAL))
        .and_where(request::Column::ClosedAt.lt(cutoff))
        .to_owned()
}

/// A statement over the queue's finished jobs done before `cutoff`: `head` followed by the
/// table and condition, with an optional limit (fixed SQL text; the time is bound).
fn jobs_statement(db: &impl ConnectionTrait, head: &str, cutoff: OffsetDateTime, limit: Option<u64>) -> Statement {
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    match db.get_database_backend() {
        DbBackend::Postgres => Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("{head} FROM apalis.jobs WHERE status IN ('Done', 'Failed', 'Killed') AND done_at < $1{limit}"),
            [cutoff.into()],
        ),
        backend => Statement::from_sql_and_values(
            backend,
            format!("{head} FROM Jobs WHERE status IN ('Done', 'Failed', 'Killed') AND done_at < ?{limit}"),
            [cutoff.unix_timestamp().into()],
        ),
    }
}

/// The table of `operator_events`, which the `request_events` policy also purges.
const OPERATOR_EVENTS: &str = "operator_events";

/// One batch of `builtin` in `txn`: at most `limit` rows; returns how many per table (the
/// `request_events` policy fills a batch with timeline events first, then account events).
async fn batch(
    txn: &DatabaseTransaction,
    builtin: &Builtin,
    organization: Uuid,
    cutoff: OffsetDateTime,
    limit: u64,
) -> Result<Vec<(&'static str, u64)>, DbErr> {
    if builtin.key == "request_events" {
        let timelines = batch_rows(txn, builtin, organization, cutoff, limit).await?;
        let accounts = match limit - timelines {
            0 => 0,
            room => {
                use operator_event::Column;
                let columns = [Column::Id, Column::OrganizationId, Column::At];
                delete_before::<operator_event::Entity>(txn, columns, organization, cutoff, room).await?
            }
        };
        return Ok(vec![(builtin.table, timelines), (OPERATOR_EVENTS, accounts)]);
    }
    Ok(vec![(builtin.table, batch_rows(txn, builtin, organization, cutoff, limit).await?)])
}

/// Deletes at most `limit` rows of `E` whose columns `[id, org, at]` say they belong to
/// `organization` and are dated before `cutoff`; returns how many.
async fn delete_before<E: EntityTrait>(
    txn: &DatabaseTransaction,
    [id, org, at]: [E::Column; 3],
    organization: Uuid,
    cutoff: OffsetDateTime,
    limit: u64,
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = E::find()
        .select_only()
        .column(id)
        .filter(org.eq(organization))
        .filter(at.lt(cutoff))
        .limit(limit)
        .into_tuple()
        .all(txn)
        .await?;
    Ok(E::delete_many().filter(id.is_in(ids)).exec(txn).await?.rows_affected)
}

/// The rows of one batch in `builtin`'s own table.
async fn batch_rows(
    txn: &DatabaseTransaction,
    builtin: &Builtin,
    organization: Uuid,
    cutoff: OffsetDateTime,
    limit: u64,
) -> Result<u64, DbErr> {
    Ok(match builtin.key {
        "verification_challenges" => {
            use verification_challenge::Column;
            let columns = [Column::Id, Column::OrganizationId, Column::CreatedAt];
            delete_before::<verification_challenge::Entity>(txn, columns, organization, cutoff, limit).await?
        }
        "closed_request_identities" => {
            let ids: Vec<Uuid> = subject_identity::Entity::find()
                .select_only()
                .column(subject_identity::Column::Id)
                .filter(subject_identity::Column::OrganizationId.eq(organization))
                .filter(subject_identity::Column::Ciphertext.ne(Vec::<u8>::new()))
                .filter(subject_identity::Column::RequestId.in_subquery(closed_before(organization, cutoff)))
                .limit(limit)
                .into_tuple()
                .all(txn)
                .await?;
            request::Entity::update_many()
                .col_expr(request::Column::MessageCiphertext, Expr::value(Option::<Vec<u8>>::None))
                .filter(request::Column::Id.in_subquery(closed_before(organization, cutoff)))
                .filter(request::Column::MessageCiphertext.is_not_null())
                .exec(txn)
                .await?;
            subject_identity::Entity::update_many()
                .col_expr(subject_identity::Column::Ciphertext, Expr::value(Vec::<u8>::new()))
                .filter(subject_identity::Column::Id.is_in(ids))
                .exec(txn)
                .await?
                .rows_affected
        }
        "request_events" => {
            use request_event::Column;
            let columns = [Column::Id, Column::OrganizationId, Column::At];
            delete_before::<request_event::Entity>(txn, columns, organization, cutoff, limit).await?
        }
        "finished_jobs" => {
            let select = jobs_statement(txn, "SELECT id", cutoff, Some(limit));
            let ids: Vec<String> = txn
                .query_all_raw(select)
                .await?
                .iter()
                .map(|r| r.try_get_by_index::<String>(0))
                .collect::<Result<_, _>>()?;
            if ids.is_empty() {
                return Ok(0);
            }
            let (table, marks): (&str, Vec<String>) = match txn.get_database_backend() {
                DbBackend::Postgres => ("apalis.jobs", (1..=ids.len()).map(|i| format!("${i}")).collect()),
                _ => ("Jobs", vec!["?".to_owned(); ids.len()]),
            };
            let delete = Statement::from_sql_and_values(
                txn.get_database_backend(),
                format!("DELETE FROM {table} WHERE id IN ({})", marks.join(", ")),
                ids.into_iter().map(sea_orm::Value::from),
            );
            txn.execute_raw(delete).await?.rows_affected()
        }
        _ => 0,
    })
}

/// Works a run of a built-in policy to the end. Returns the rows handled.
pub async fn work(
    db: &DatabaseConnection,
    ctx: &crate::context::JobContext,
    builtin: &Builtin,
    policy: &Policy,
    mut run: Run,
    cutoff: OffsetDateTime,
) -> Result<Run, crate::error::JobError> {
    if builtin.key == "expired_exports" {
        let done = crate::export::purge_expired(db, &ctx.keyring, &ctx.exports.dir, OffsetDateTime::now_utc()).await?;
        return Ok(take(db, None, run.clone(), done.exports as u64).await?.unwrap_or(run));
    }
    let limit = policy.batch_size.max(1) as u64;
    loop {
        let txn = lethe_entities::entity::begin_write(db).await?;
        let tables = batch(&txn, builtin, policy.organization_id, cutoff, limit).await?;
        let rows: u64 = tables.iter().map(|(_, n)| n).sum();
        if rows == 0 {
            return Ok(run);
        }
        if builtin.key != "finished_jobs" {
            let entries: Vec<NewEntry> = tables
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(table, n)| NewEntry {
                    policy_id: Some(policy.id),
                    store: Some(STORE.to_owned()),
                    table: Some((*table).to_owned()),
                    action: Some(if builtin.anonymise { "anonymise" } else { "delete_row" }.to_owned()),
                    row_count: *n,
                    ..NewEntry::new(EntryKind::RetentionPurge)
                })
                .collect();
            append(&txn, policy.organization_id, &entries).await.map_err(crate::error::JobError::Ledger)?;
        }
        run = match take(db, Some(txn), run.clone(), rows).await? {
            Some(taken) => taken,
            // Stopped by an operator: this batch is rolled back, the run keeps what it did.
            None => return Ok(run),
        };
        if rows < limit {
            return Ok(run);
        }
    }
}

/// Adds a batch to the run's counts (inside `txn`, which it commits, when given: unless the run
/// was stopped meanwhile, when the batch is rolled back and `None` returned).
async fn take(
    db: &DatabaseConnection,
    txn: Option<DatabaseTransaction>,
    run: Run,
    rows: u64,
) -> Result<Option<Run>, DbErr> {
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    let Some(txn) = txn else {
        return Ok(run.record(db, Progress::Tally { rows }).await?.or(Some(run)));
    };
    let Some(next) = run.record(&txn, Progress::Count { rows }).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    txn.commit().await?;
    Ok(Some(next))
}
