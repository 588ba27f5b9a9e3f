//! Migrations on a database with data. An operator with an API key and a recovery code keeps
//! them when addresses become unique per organization (SQLite rebuilds the table), and the
//! database then takes the address in another organization but not twice in one. The free text
//! an installation stored in clear before it was encrypted (a timeline reason, a request's
//! denial and extension reasons, a legal hold's reason, matter and release reason, an account
//! event's reason) is encrypted in place by the migration, reads back through the entities and
//! the API, and `down` restores it; an encryption interrupted part way resumes when run again.
//! Each test runs on SQLite and on PostgreSQL.

use lethe_api::engine::Mode;
use lethe_entities::domain::enums::Role;
use lethe_entities::entity::{legal_hold, operator, operator_event, request, request_event};
use lethe_entities::{Keyring, MasterKey};
use lethe_migrations::{Migrator, MigratorTraitSelf};
use lethe_tests::app::{hashing, spawn_on};
use lethe_tests::{Backend, both_backends, raw};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, ColumnDef, Expr, ExprTrait, Query, SimpleExpr, Table};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, SqlErr};
use time::OffsetDateTime;
use uuid::Uuid;

/// Migrations before operator addresses became unique per organization (the 14th).
const BEFORE_PER_ORGANIZATION: u32 = 13;

const PASSWORD: &str = "a long test password";

const EVENT: &str = "Denied: Ann Example owes invoice 4711";
const DENIAL: &str = "other: Ann Example owes invoice 4711";
const EXTENSION: &str = "Records of Ann Example in forty systems";
const HOLD: &str = "Litigation against Carl Claimant";
const MATTER: &str = "Claimant versus Shop";
const RELEASE: &str = "Carl Claimant settled";
const ACCOUNT: &str = "operator 1: lost phone, seen in person by Dee Admin";

/// Ids of the rows written before the migration.
struct Rows {
    organization: Uuid,
    request: Uuid,
    hold: Uuid,
}

async fn insert(db: &DatabaseConnection, table: &str, values: Vec<(&str, SimpleExpr)>) {
    let (columns, values): (Vec<_>, Vec<_>) = values.into_iter().unzip();
    let statement = Query::insert()
        .into_table(Alias::new(table))
        .columns(columns.into_iter().map(Alias::new))
        .values_panic(values)
        .to_owned();
    db.execute(&statement).await.unwrap_or_else(|e| panic!("insert into {table}: {e}"));
}

/// An organization written as the schema of the 13th and 14th migrations holds it (the
/// model's newer columns do not exist yet); returns its id.
async fn old_organization(db: &DatabaseConnection, slug: &str, name: &str) -> Uuid {
    let org = Uuid::now_v7();
    let organization = vec![
        ("id", org.into()),
        ("slug", SimpleExpr::from(slug)),
        ("name", SimpleExpr::from(name)),
        ("auto_approve", false.into()),
        ("default_deadline_days", 30.into()),
        ("default_extension_days", 0.into()),
        ("due_soon_days", 7.into()),
        ("mfa_required", false.into()),
        ("portal_ask_phone", false.into()),
        ("portal_ask_customer_id", false.into()),
        ("created_at", OffsetDateTime::now_utc().into()),
    ];
    insert(db, "organizations", organization).await;
    org
}

/// An organization's admin with an API key and a recovery code, as the schema before the 14th
/// migration holds them; returns the organization and the admin.
async fn operator_rows(db: &DatabaseConnection) -> (Uuid, Uuid) {
    let org = old_organization(db, "old-shop", "Old Shop").await;
    let hashing = hashing();
    let made =
        lethe_api::accounts::create_operator(db, &hashing, org, "dpo@old.example", Role::Admin, Some(PASSWORD.into()));
    let admin = made.await.unwrap().operator;
    let now = SimpleExpr::from(OffsetDateTime::now_utc());
    let text = |v: &str| SimpleExpr::from(v.to_owned());
    let key = vec![
        ("id", Uuid::now_v7().into()),
        ("organization_id", org.into()),
        ("name", text("old key")),
        ("prefix", text("lk_old")),
        ("secret_digest", text(&"s".repeat(64))),
        ("scopes", text("requests:read")),
        ("created_by", admin.id.into()),
        ("created_at", now.clone()),
        ("rotated_at", now.clone()),
    ];
    insert(db, "api_keys", key).await;
    let code = vec![
        ("id", Uuid::now_v7().into()),
        ("organization_id", org.into()),
        ("operator_id", admin.id.into()),
        ("digest", text(&"r".repeat(64))),
        ("created_at", now),
    ];
    insert(db, "operator_recovery_codes", code).await;
    (org, admin.id)
}

/// After the 14th migration: the admin and what refers to them are intact; the database itself
/// refuses the address twice in one organization and takes it in another.
async fn assert_operators_kept(db: &DatabaseConnection, org: Uuid, admin: Uuid) {
    let kept = operator::Entity::find_by_id(admin).one(db).await.unwrap().expect("the operator is kept");
    assert_eq!((kept.organization_id, kept.email.as_str()), (org, "dpo@old.example"));
    for table in ["api_keys", "operator_recovery_codes"] {
        let select = Query::select().expr(Expr::cust("COUNT(*) AS n")).from(Alias::new(table)).to_owned();
        assert_eq!(db.query_one(&select).await.unwrap().unwrap().try_get::<i64>("", "n").unwrap(), 1, "{table}");
    }
    let mut again = kept.clone().into_active_model().reset_all();
    again.id = Set(Uuid::now_v7());
    let twice = again.insert(db).await.expect_err("an address twice in one organization");
    assert!(matches!(twice.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))), "{twice}");
    let other = old_organization(db, "other-shop", "Other Shop").await;
    let hashing = hashing();
    let elsewhere =
        lethe_api::accounts::create_operator(db, &hashing, other, &kept.email, Role::Admin, Some(PASSWORD.into()));
    elsewhere.await.expect("the address in another organization");
}

/// Writes, as the schema before the encryption stores them, a denied and extended request with
/// its timeline event, a released legal hold and an account event of `admin` of `org`.
async fn clear_rows(db: &DatabaseConnection, org: Uuid, admin: Uuid) -> Rows {
    let (request, hold, now) = (Uuid::now_v7(), Uuid::now_v7(), OffsetDateTime::now_utc());
    let id = |v: Uuid| SimpleExpr::from(v);
    let text = |v: &str| SimpleExpr::from(v.to_owned());
    let at = |v: OffsetDateTime| SimpleExpr::from(v);
    insert(
        db,
        "requests",
        vec![
            ("id", id(request)),
            ("organization_id", id(org)),
            ("kind", text("access")),
            ("regime", text("gdpr")),
            ("state", text("denied")),
            ("email_index", text(&"e".repeat(64))),
            ("status_token_digest", text(&"d".repeat(64))),
            ("received_at", at(now)),
            ("due_at", at(now)),
            ("original_due_at", at(now)),
            ("extended_at", at(now)),
            ("extension_reason", text(EXTENSION)),
            ("denial_reason", text(DENIAL)),
            ("closed_at", at(now)),
            ("updated_at", at(now)),
        ],
    )
    .await;
    insert(
        db,
        "request_events",
        vec![
            ("id", id(Uuid::now_v7())),
            ("organization_id", id(org)),
            ("request_id", id(request)),
            ("at", at(now)),
            ("actor_kind", text("operator")),
            ("actor_id", id(admin)),
            ("kind", text("denied")),
            ("reason", text(EVENT)),
        ],
    )
    .await;
    insert(
        db,
        "legal_holds",
        vec![
            ("id", id(hold)),
            ("organization_id", id(org)),
            ("scope", text("organization")),
            ("reason", text(HOLD)),
            ("owner", text("legal@old.example")),
            ("matter", text(MATTER)),
            ("placed_by", id(admin)),
            ("placed_at", at(now)),
            ("released_at", at(now)),
            ("released_by", id(admin)),
            ("release_reason", text(RELEASE)),
        ],
    )
    .await;
    insert(
        db,
        "operator_events",
        vec![
            ("id", id(Uuid::now_v7())),
            ("organization_id", id(org)),
            ("operator_id", id(admin)),
            ("at", at(now)),
            ("kind", text("mfa_reset")),
            ("reason", text(ACCOUNT)),
        ],
    )
    .await;
    Rows { organization: org, request, hold }
}

/// Every row written, read through the entities: the texts decrypt; read directly, no column
/// holds one in clear.
async fn assert_sealed(db: &DatabaseConnection, keyring: &Keyring, rows: &Rows) {
    let req = request::Entity::find_by_id(rows.request).one(db).await.unwrap().unwrap();
    let events = request_event::Entity::find().all(db).await.unwrap();
    let hold = legal_hold::Entity::find_by_id(rows.hold).one(db).await.unwrap().unwrap();
    let accounts = operator_event::Entity::find().all(db).await.unwrap();
    assert_eq!(req.organization_id, rows.organization);
    assert_eq!(
        (req.denial_reason(keyring).unwrap(), req.extension_reason(keyring).unwrap()),
        (Some(DENIAL.into()), Some(EXTENSION.into()))
    );
    assert_eq!(events[0].reason(keyring).unwrap().as_deref(), Some(EVENT));
    assert_eq!(
        (hold.reason(keyring).unwrap(), hold.matter(keyring).unwrap(), hold.release_reason(keyring).unwrap()),
        (HOLD.to_owned(), Some(MATTER.to_owned()), Some(RELEASE.to_owned()))
    );
    assert_eq!(accounts[0].reason(keyring).unwrap().as_deref(), Some(ACCOUNT));
    let texts = [EVENT, DENIAL, EXTENSION, HOLD, MATTER, RELEASE, ACCOUNT];
    for table in ["request_events", "requests", "legal_holds", "operator_events"] {
        assert_eq!(raw::in_clear(db, table, rows.organization, &texts).await, Vec::<String>::new(), "{table}");
    }
}

/// Which way to migrate, and how far.
enum Way {
    /// This many more migrations, or all.
    Up(Option<u32>),
    /// Back this many.
    Down(u32),
}

/// Migrates on a pool of its own, then opens a new pool for what follows: a pooled SQLite
/// connection keeps the columns of the statements it prepared, which a schema change leaves
/// stale (sqlx #2517); a running Lethe never changes its schema after it started.
async fn migrate(url: &str, migrator: &Migrator, way: Way) -> DatabaseConnection {
    let db = lethe_worker::database::connect(url).await.unwrap();
    match way {
        Way::Up(steps) => migrator.up(&db, steps).await.unwrap(),
        Way::Down(steps) => migrator.down(&db, Some(steps)).await.unwrap(),
    }
    db.close().await.unwrap();
    lethe_worker::database::connect(url).await.unwrap()
}

/// The clear column `column` of `table`'s only row, read directly (after `down`).
async fn clear_value(db: &DatabaseConnection, table: &str, column: &str) -> String {
    let select = Query::select().column(Alias::new(column)).from(Alias::new(table)).to_owned();
    db.query_one(&select).await.unwrap().unwrap().try_get::<String>("", column).unwrap()
}

/// Leaves the database as the encryption migration leaves it when killed part way (SQLite runs
/// a migration's statements without an enclosing transaction): the timeline's reasons sealed
/// and their clear column dropped; the requests' denial reasons given their ciphertext column,
/// nothing converted yet.
async fn interrupt_encryption(db: &DatabaseConnection, keyring: &Keyring) {
    let add = |table: &str, column: &str| {
        Table::alter().table(Alias::new(table)).add_column(ColumnDef::new(Alias::new(column)).blob().null()).to_owned()
    };
    db.execute(&add("request_events", "reason_ciphertext")).await.unwrap();
    let owners = ["organization_id", "request_id", "id"];
    let select = Query::select()
        .columns(owners.map(Alias::new))
        .column(Alias::new("reason"))
        .from(Alias::new("request_events"))
        .to_owned();
    for row in db.query_all(&select).await.unwrap() {
        let ids = owners.map(|c| row.try_get::<Uuid>("", c).unwrap());
        let Ok(reason) = row.try_get::<String>("", "reason") else { continue };
        let sealed = keyring.seal_text(&reason, &request_event::reason_context(ids[0], ids[1], ids[2]));
        let update = Query::update()
            .table(Alias::new("request_events"))
            .value(Alias::new("reason_ciphertext"), sealed)
            .and_where(Expr::col(Alias::new("id")).eq(ids[2]))
            .to_owned();
        db.execute(&update).await.unwrap();
    }
    db.execute(&Table::alter().table(Alias::new("request_events")).drop_column(Alias::new("reason")).to_owned())
        .await
        .unwrap();
    db.execute(&add("requests", "denial_reason_ciphertext")).await.unwrap();
}

both_backends! {
    async fn an_interrupted_encryption_resumes_where_it_stopped(backend: Backend) {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display()),
            Backend::Postgres => lethe_tests::postgres::empty_database().await,
        };
        let keyring = Keyring::derive(&MasterKey::generate());
        let migrator = Migrator::new(&keyring);
        let mut db = migrate(&url, &migrator, Way::Up(Some(BEFORE_PER_ORGANIZATION))).await;
        let (org, admin) = operator_rows(&db).await;
        db = migrate(&url, &migrator, Way::Up(Some(1))).await;
        let rows = clear_rows(&db, org, admin).await;
        interrupt_encryption(&db, &keyring).await;
        db.close().await.unwrap();

        // Run again, the migration finishes: nothing added twice, nothing sealed twice.
        db = migrate(&url, &migrator, Way::Up(None)).await;
        assert_sealed(&db, &keyring, &rows).await;
    }
}

both_backends! {
    async fn existing_rows_are_kept_and_encrypted_in_place(backend: Backend) {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display()),
            Backend::Postgres => lethe_tests::postgres::empty_database().await,
        };
        let master = MasterKey::generate();
        let keyring = Keyring::derive(&master);
        let migrator = Migrator::new(&keyring);
        let mut db = migrate(&url, &migrator, Way::Up(Some(BEFORE_PER_ORGANIZATION))).await;
        let (org, admin) = operator_rows(&db).await;
        db = migrate(&url, &migrator, Way::Up(Some(1))).await;
        assert_operators_kept(&db, org, admin).await;
        let rows = clear_rows(&db, org, admin).await;

        db = migrate(&url, &migrator, Way::Up(None)).await;
        assert_sealed(&db, &keyring, &rows).await;

        // Down (past the DRP tables, the reports' column, the idempotency keys, the webhook tables and the privacy notice's columns)
        // puts the texts back in clear; up encrypts them again.
        db = migrate(&url, &migrator, Way::Down(6)).await;
        assert_eq!(clear_value(&db, "request_events", "reason").await, EVENT);
        assert_eq!(clear_value(&db, "legal_holds", "matter").await, MATTER);
        assert_eq!(clear_value(&db, "operator_events", "reason").await, ACCOUNT);
        db = migrate(&url, &migrator, Way::Up(None)).await;
        assert_sealed(&db, &keyring, &rows).await;
        db.close().await.unwrap();

        // Lethe starts on the migrated database and shows the texts.
        let app = spawn_on(url, &master.to_base64(), Mode::Serve, dir.path().join("outbox")).await;
        let token = app.login_to("old-shop", "dpo@old.example", PASSWORD).await;
        let (_, detail) = app.get(&format!("/v1/requests/{}", rows.request), Some(&token)).await;
        assert_eq!((detail["denial_reason"].as_str(), detail["extension_reason"].as_str()), (Some(DENIAL), Some(EXTENSION)), "{detail}");
        assert_eq!(detail["timeline"][0]["reason"], EVENT);
        let (_, holds) = app.get("/v1/holds", Some(&token)).await;
        assert_eq!((holds[0]["reason"].as_str(), holds[0]["matter"].as_str()), (Some(HOLD), Some(MATTER)), "{holds}");
    }
}
