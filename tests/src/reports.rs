//! Requests written straight into Lethe's database with the dates and outcomes a report test
//! needs (received a year ago, closed after so many days, a store waived), and retention runs
//! that purged rows: what a year of work leaves behind, without a year of waiting.

use lethe_entities::domain::enums::{Regime, RequestKind, RequestState, StoreKind, TaskStatus};
use lethe_entities::entity::{organization, request, store_task};
use lethe_entities::reports::Year;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::TestApp;

/// One request to write.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Kind.
    pub kind: RequestKind,
    /// Law.
    pub regime: Regime,
    /// Its state now.
    pub state: RequestState,
    /// When it was received.
    pub received: OffsetDateTime,
    /// Days from receipt to closing (for closed states).
    pub closed_after_days: Option<i64>,
    /// Whether the person verified.
    pub verified: bool,
    /// Days the law allowed (the due date's distance from receipt).
    pub deadline_days: i64,
    /// Due this many days after receipt instead (an extension, or a test's late request).
    pub due_after_days: Option<i64>,
    /// One of its stores was waived.
    pub waived_store: bool,
}

impl Seed {
    /// A request of `kind` under `regime` in `state`, received at `received`, verified, with a
    /// 45-day deadline.
    pub fn new(kind: RequestKind, regime: Regime, state: RequestState, received: OffsetDateTime) -> Self {
        Self {
            kind,
            regime,
            state,
            received,
            closed_after_days: None,
            verified: true,
            deadline_days: 45,
            due_after_days: None,
            waived_store: false,
        }
    }

    /// Closed `days` after receipt.
    pub fn closed_after(mut self, days: i64) -> Self {
        self.closed_after_days = Some(days);
        self
    }
}

/// Writes `seed` as a request of `organization`; returns its id.
pub async fn request(db: &DatabaseConnection, organization: Uuid, seed: &Seed) -> Uuid {
    let id = Uuid::now_v7();
    let due = seed.received + Duration::days(seed.due_after_days.unwrap_or(seed.deadline_days));
    let closed = seed.closed_after_days.map(|d| seed.received + Duration::days(d));
    let mut active = request::ActiveModel::submitted(request::Submitted {
        id,
        organization_id: organization,
        kind: seed.kind,
        regime: seed.regime,
        email_index: format!("{:064x}", id.as_u128()),
        status_token_digest: format!("{:064x}", id.as_u128() ^ 1),
        received_at: seed.received,
        due_at: due,
        acknowledgement_due_at: None,
        message_ciphertext: None,
        locale: "en".into(),
    });
    active.state = Set(seed.state);
    active.original_due_at = Set(seed.received + Duration::days(seed.deadline_days));
    active.verified_at = Set(seed.verified.then(|| seed.received + Duration::hours(1)));
    active.closed_at = Set(closed);
    active.insert(db).await.expect("a seeded request");
    if seed.waived_store {
        store_task::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization),
            request_id: Set(id),
            store_id: Set(Uuid::now_v7()),
            store_name: Set("archive".into()),
            store_kind: Set(StoreKind::Manual),
            status: Set(TaskStatus::Waived),
            counts: Set(None),
            total_rows: Set(0),
            error_code: Set(None),
            error_message: Set(None),
            attempts: Set(0),
            next_attempt_at: Set(None),
            accepted_at: Set(None),
            created_at: Set(seed.received),
            updated_at: Set(seed.received),
        }
        .insert(db)
        .await
        .expect("a waived store task");
    }
    id
}

/// Writes a finished retention run of `organization` that purged `rows`, ending at `finished`.
pub async fn retention_run(db: &DatabaseConnection, organization: Uuid, finished: OffsetDateTime, rows: i64) {
    let backend = db.get_database_backend();
    let p = |n: usize| if backend == DbBackend::Postgres { format!("${n}") } else { format!("?{n}") };
    let sql = format!(
        "INSERT INTO retention_runs (id, organization_id, policy_id, trigger, state, \"rows\", batches, largest_batch, \
         resumes, started_at, finished_at, created_at, updated_at) \
         VALUES ({}, {}, {}, 'manual', 'done', {}, 1, {}, 0, {}, {}, {}, {})",
        p(1),
        p(2),
        p(3),
        p(4),
        p(4),
        p(5),
        p(5),
        p(5),
        p(5)
    );
    let values = vec![Uuid::now_v7().into(), organization.into(), Uuid::now_v7().into(), rows.into(), finished.into()];
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await.expect("a seeded retention run");
}

/// Last year: the year every seeded request is received in.
pub fn last_year() -> Year {
    Year::of(OffsetDateTime::now_utc()).previous()
}

/// `days` after the start of last year.
pub fn day(days: i64) -> OffsetDateTime {
    last_year().start() + Duration::days(days) + Duration::hours(9)
}

/// A year of one organization's requests; returns the organization's id.
///
/// | kind | law | outcomes (days to respond) |
/// |---|---|---|
/// | erasure | CCPA | completed in 2, 4 (a store waived) and 11 (after its due date) |
/// | erasure | GDPR | denied after 1, never verified |
/// | access | CCPA | completed in 5 and 7, denied after 3, one withdrawn, one waiting for approval |
/// | opt-out | CCPA | completed in 2 |
///
/// Not counted: a request of the year before, one of another organization.
pub async fn a_year_of_requests(app: &TestApp, org: &str) -> Uuid {
    let id = organization::Model::find_by_slug(&app.db, org).await.unwrap().unwrap().id;
    let (erasure, access) = (RequestKind::Erasure, RequestKind::Access);
    let done = RequestState::Completed;
    let seeds = [
        Seed::new(erasure, Regime::Ccpa, done, day(3)).closed_after(2),
        Seed { waived_store: true, ..Seed::new(erasure, Regime::Ccpa, done, day(10)).closed_after(4) },
        Seed { due_after_days: Some(10), ..Seed::new(erasure, Regime::Ccpa, done, day(71)).closed_after(11) },
        Seed {
            verified: false,
            deadline_days: 30,
            ..Seed::new(erasure, Regime::Gdpr, RequestState::Denied, day(72)).closed_after(1)
        },
        Seed::new(access, Regime::Ccpa, done, day(100)).closed_after(5),
        Seed::new(access, Regime::Ccpa, done, day(101)).closed_after(7),
        Seed::new(access, Regime::Ccpa, RequestState::Denied, day(102)).closed_after(3),
        Seed::new(access, Regime::Ccpa, RequestState::Canceled, day(103)).closed_after(1),
        Seed { due_after_days: Some(800), ..Seed::new(access, Regime::Ccpa, RequestState::PendingApproval, day(360)) },
        Seed::new(RequestKind::OptOut, Regime::Ccpa, done, day(200)).closed_after(2),
    ];
    for seed in &seeds {
        request(&app.db, id, seed).await;
    }
    let before = last_year().start() - Duration::minutes(1);
    request(&app.db, id, &Seed::new(erasure, Regime::Ccpa, done, before).closed_after(1)).await;
    let (other, _) = lethe_api::accounts::ensure_organization(&app.db, &format!("{org}-other"), "other").await.unwrap();
    request(&app.db, other.id, &Seed::new(erasure, Regime::Ccpa, done, day(5)).closed_after(30)).await;
    id
}
