//! The deletion ledger through the API and the database: closing entries, subject lookup,
//! append-only tables, concurrent appends, checkpoints, proofs checked against an independent
//! computation, and a client that refuses a hostile server's proofs.

use std::time::Duration;

use base64::Engine;
use ed25519_dalek::VerifyingKey;
use lethe_entities::entity::organization;
use lethe_entities::ledger::checkpoint::{CheckpointRecord, parse_public_key};
use lethe_entities::ledger::entry::{EntryRecord, from_hex32};
use lethe_entities::ledger::merkle::{self, Hash, node_hash};
use lethe_entities::ledger::verify::verify_export;
use lethe_entities::ledger::{self, EntryKind, NewEntry};
use lethe_tests::app::org_slug;
use lethe_tests::{Backend, TestApp, both_backends, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

async fn org_id(app: &TestApp, slug: &str) -> Uuid {
    organization::Model::find_by_slug(&app.db, slug).await.unwrap().unwrap().id
}

/// Appends `n` erasure entries in one transaction, as an erasure job would.
async fn append(app: &TestApp, org: Uuid, n: usize, store: &str) {
    let entries: Vec<NewEntry> = (0..n)
        .map(|i| NewEntry {
            store: Some(store.into()),
            table: Some(format!("table_{}", i % 5)),
            action: Some("delete_row".into()),
            row_count: i as u64,
            subject_refs: vec![[i as u8; 32]],
            ..NewEntry::new(EntryKind::Erasure)
        })
        .collect();
    let txn = lethe_entities::entity::begin_write(&app.db).await.unwrap();
    ledger::append(&txn, org, &entries).await.unwrap();
    txn.commit().await.unwrap();
}

/// An independent reference for the tree head: the RFC 9162 definition, recursively.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = n.next_power_of_two() / 2;
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

async fn all_entries(app: &TestApp, bearer: &str) -> Vec<EntryRecord> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = app.get(&format!("/v1/ledger/entries?limit=1000{after}"), Some(bearer)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        out.extend(serde_json::from_value::<Vec<EntryRecord>>(page["entries"].clone()).unwrap());
        match page["next_after"].as_u64() {
            Some(next) => after = format!("&after={next}"),
            None => return out,
        }
    }
}

async fn pinned_key(base: &str) -> VerifyingKey {
    let body: Value = reqwest::get(format!("{base}/v1/ledger/public-key")).await.unwrap().json().await.unwrap();
    let from_pem = parse_public_key(body["pem"].as_str().unwrap()).unwrap();
    assert_eq!(Some(from_pem), parse_public_key(body["public_key"].as_str().unwrap()));
    from_pem
}

/// What a careful client does: fetch the latest checkpoint, check its signature with the key it
/// pinned, then check the inclusion proof of `entry` against that checkpoint's root.
async fn client_checks_inclusion(base: &str, bearer: &str, key: &VerifyingKey, entry: u64) -> Result<(), String> {
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let r = http.get(format!("{base}{path}")).bearer_auth(bearer).send().await.map_err(|e| e.to_string())?;
            r.json::<Value>().await.map_err(|e| e.to_string())
        }
    };
    let cp: CheckpointRecord = serde_json::from_value(get("/v1/ledger/checkpoints/latest".into()).await?)
        .map_err(|e| format!("checkpoint: {e}"))?;
    let cp = cp.to_checkpoint().ok_or("malformed checkpoint")?;
    if !cp.verify(key) {
        return Err("checkpoint signature does not verify".into());
    }
    let proof = get(format!("/v1/ledger/proofs/inclusion?entry={entry}&tree_size={}", cp.tree_size)).await?;
    let page = match entry.checked_sub(1) {
        None => get("/v1/ledger/entries?limit=1".into()).await?,
        Some(before) => get(format!("/v1/ledger/entries?after={before}&limit=1")).await?,
    };
    let record: EntryRecord = serde_json::from_value(page["entries"][0].clone()).map_err(|e| format!("entry: {e}"))?;
    // The leaf is recomputed from the entry's contents, never taken from the server.
    let leaf = record.to_entry().map_err(|e| e.to_string())?.leaf_hash();
    let path: Vec<Hash> = proof["audit_path"]
        .as_array()
        .ok_or("no audit path")?
        .iter()
        .map(|h| h.as_str().and_then(from_hex32).ok_or("bad hash"))
        .collect::<Result<_, _>>()?;
    if merkle::verify_inclusion(&leaf, entry, cp.tree_size, &path, &cp.root_hash) {
        Ok(())
    } else {
        Err("inclusion proof does not verify against the signed root".into())
    }
}

both_backends! {
    async fn closing_a_request_is_recorded_and_found_by_identity_only(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let auditor = app.operator_in(&org, &format!("auditor@{org}.test"), lethe_entities::Role::Auditor).await;
        let email = "ledger.person@example.com";
        let r = app.verified(&org, "erasure", "gdpr", email).await;
        let (status, _) = app.post(&format!("/v1/requests/{}/deny", r.id), Some(&admin),
            json!({"ground": "excessive"})).await;
        assert_eq!(status, StatusCode::OK);

        let entries = all_entries(&app, &admin).await;
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!((e.seq, e.kind.as_str(), e.action.as_deref()), (0, "request_closed", Some("denied")));
        assert_eq!(e.request_id.map(|id| id.to_string()), Some(r.id.clone()));
        assert_eq!(e.subject_refs.len(), 1);
        let raw = serde_json::to_string(&entries).unwrap().to_lowercase();
        assert!(!raw.contains("ledger.person"), "no identity in clear in the ledger");
        assert!(!raw.contains(&r.token.to_lowercase()), "no token in the ledger");

        // Auditors find the entry by identity (normalised: case does not matter) ...
        let lookup = |value: &str| json!({"identities": [{"kind": "email", "value": value}]});
        let (status, found) = app.post("/v1/ledger/lookup", Some(&auditor), lookup("  Ledger.Person@Example.COM ")).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["entries"].as_array().unwrap().len(), 1);
        assert_eq!(found["entries"][0]["seq"], 0);
        let (_, none) = app.post("/v1/ledger/lookup", Some(&auditor), lookup("someone.else@example.com")).await;
        assert_eq!(none["entries"].as_array().unwrap().len(), 0);
        // ... with validation errors for bad input, never a 500 ...
        let (status, bad) = app.post("/v1/ledger/lookup", Some(&auditor), lookup("not an address")).await;
        assert_eq!((status, bad["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")));
        assert_eq!(bad["errors"][0]["field"], "identities[0].value");
        // ... the subject finds it with their own request's token ...
        let (status, own) = app.post("/v1/ledger/lookup", None, json!({"request_id": r.id, "token": r.token})).await;
        assert_eq!(status, StatusCode::OK, "{own}");
        assert_eq!(own["entries"].as_array().unwrap().len(), 1);
        let (status, wrong) = app.post("/v1/ledger/lookup", None, json!({"request_id": r.id, "token": "nope"})).await;
        assert_eq!((status, wrong["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));

        // An unverified request is not attributed to anyone: it may carry someone else's address.
        let unverified = app.submit(&org, "erasure", "gdpr", "not.proven@example.com").await;
        let (status, _) = app.post(&format!("/v1/requests/{}/cancel", unverified.id), None,
            json!({"token": unverified.token})).await;
        assert_eq!(status, StatusCode::OK);
        let entries = all_entries(&app, &admin).await;
        assert_eq!((entries[1].kind.as_str(), entries[1].action.as_deref()), ("request_closed", Some("canceled")));
        assert!(entries[1].subject_refs.is_empty());

        // Another organization sees nothing of this ledger.
        let other = org_slug();
        let other_admin = app.admin(&other).await;
        assert!(all_entries(&app, &other_admin).await.is_empty());
        let (_, theirs) = app.post("/v1/ledger/lookup", Some(&other_admin), lookup(email)).await;
        assert_eq!(theirs["entries"].as_array().unwrap().len(), 0);
    }

    async fn the_database_refuses_to_change_or_remove_ledger_rows(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let id = org_id(&app, &org).await;
        append(&app, id, 300, "shop").await;
        let (status, _) = app.post("/v1/ledger/checkpoints", Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::CREATED);
        for sql in [
            "UPDATE ledger_entries SET row_count = 0",
            "DELETE FROM ledger_entries",
            "UPDATE ledger_checkpoints SET tree_size = 1",
            "DELETE FROM ledger_checkpoints",
            "DELETE FROM ledger_subject_refs",
            "UPDATE ledger_tiles SET idx = 7",
            "DELETE FROM ledger_tiles",
        ] {
            let err = app.db.execute_unprepared(sql).await.expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        if backend == Backend::Postgres {
            let err = app.db.execute_unprepared("TRUNCATE ledger_entries").await;
            assert!(err.is_err(), "TRUNCATE is refused too");
        }
        assert_eq!(all_entries(&app, &admin).await.len(), 300);
    }

    async fn concurrent_appends_never_fork_the_chain(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let id = org_id(&app, &org).await;
        let mut tasks = Vec::new();
        for t in 0..8 {
            let db = app.db.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..5 {
                    let entries: Vec<NewEntry> = (0..10)
                        .map(|i| NewEntry { row_count: i, store: Some(format!("store-{t}")), ..NewEntry::new(EntryKind::Erasure) })
                        .collect();
                    let txn = lethe_entities::entity::begin_write(&db).await.unwrap();
                    ledger::append(&txn, id, &entries).await.unwrap();
                    txn.commit().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (status, _) = app.post("/v1/ledger/checkpoints", Some(&admin), json!({})).await;
        assert_eq!(status, StatusCode::CREATED);
        let mut out = Vec::new();
        ledger::read::export(&app.db, id, "test", &mut out).await.unwrap();
        let key = pinned_key(&app.base).await;
        let report = verify_export(out.as_slice(), &key).expect("the exported chain verifies");
        assert_eq!((report.entries, report.checkpoints, report.unsigned_tail()), (400, 1, 0));
    }

    async fn proofs_match_an_independent_computation_and_exports_verify(backend: Backend) {
        let app = spawn_app(backend).await;
        let org = org_slug();
        let admin = app.admin(&org).await;
        let id = org_id(&app, &org).await;
        let key = pinned_key(&app.base).await;
        let (status, empty) = app.get("/v1/ledger/checkpoints/latest", Some(&admin)).await;
        assert_eq!((status, empty["code"].as_str()), (StatusCode::NOT_FOUND, Some("no_checkpoint")));

        append(&app, id, 300, "shop").await;
        let (status, first) = app.post("/v1/ledger/checkpoints", Some(&admin), json!({})).await;
        assert_eq!((status, first["created"].as_bool()), (StatusCode::CREATED, Some(true)));
        let (status, again) = app.post("/v1/ledger/checkpoints", Some(&admin), json!({})).await;
        assert_eq!((status, again["created"].as_bool()), (StatusCode::OK, Some(false)));
        append(&app, id, 1000, "crm").await;
        let (_, second) = app.post("/v1/ledger/checkpoints", Some(&admin), json!({})).await;

        // Leaves recomputed by the test from the entries' contents, roots by the recursive definition.
        let entries = all_entries(&app, &admin).await;
        assert_eq!(entries.len(), 1300);
        let leaves: Vec<Hash> = entries.iter().map(|e| e.to_entry().unwrap().leaf_hash()).collect();
        for (i, e) in entries.iter().enumerate().skip(1) {
            assert_eq!(from_hex32(&e.prev_hash).unwrap(), leaves[i - 1], "chain link of entry {i}");
        }
        for (cp, size) in [(&first["checkpoint"], 300usize), (&second["checkpoint"], 1300)] {
            let cp: CheckpointRecord = serde_json::from_value(cp.clone()).unwrap();
            let cp = cp.to_checkpoint().unwrap();
            assert_eq!(cp.tree_size, size as u64);
            assert!(cp.verify(&key));
            assert_eq!(cp.root_hash, reference_root(&leaves[..size]));
        }

        // Sizes above 256 make the server combine stored tiles with leaves.
        for (entry, size) in [(0u64, 300u64), (255, 300), (256, 300), (299, 300), (5, 1300), (511, 1300), (512, 1300), (777, 1300), (1299, 1300)] {
            let (status, proof) =
                app.get(&format!("/v1/ledger/proofs/inclusion?entry={entry}&tree_size={size}"), Some(&admin)).await;
            assert_eq!(status, StatusCode::OK, "{proof}");
            let path: Vec<Hash> =
                proof["audit_path"].as_array().unwrap().iter().map(|h| from_hex32(h.as_str().unwrap()).unwrap()).collect();
            let root = reference_root(&leaves[..size as usize]);
            assert!(merkle::verify_inclusion(&leaves[entry as usize], entry, size, &path, &root), "{entry}@{size}");
            assert!(proof["checkpoint"].is_object(), "a checkpoint exists at {size}");
        }
        for (first, second) in [(300usize, 1300usize), (1, 1300), (256, 1300), (1024, 1300), (257, 300), (1300, 1300)] {
            let (status, proof) =
                app.get(&format!("/v1/ledger/proofs/consistency?first={first}&second={second}"), Some(&admin)).await;
            assert_eq!(status, StatusCode::OK, "{proof}");
            let hashes: Vec<Hash> =
                proof["proof"].as_array().unwrap().iter().map(|h| from_hex32(h.as_str().unwrap()).unwrap()).collect();
            let (r1, r2) = (reference_root(&leaves[..first]), reference_root(&leaves[..second]));
            assert_eq!(proof["second_root"].as_str().and_then(from_hex32), Some(r2));
            assert!(merkle::verify_consistency(first as u64, second as u64, &hashes, &r1, &r2), "{first}->{second}");
        }

        // Out-of-range questions get clear errors.
        for path in [
            "/v1/ledger/proofs/inclusion?entry=1300&tree_size=1300",
            "/v1/ledger/proofs/inclusion?entry=0&tree_size=5000",
            "/v1/ledger/proofs/consistency?first=0&second=5",
            "/v1/ledger/proofs/consistency?first=9&second=5",
        ] {
            let (status, body) = app.get(path, Some(&admin)).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{path}");
        }
        for path in ["/v1/ledger/entries?after=18446744073709551615", "/v1/ledger/checkpoints?after=9223372036854775808", "/v1/ledger/entries?limit=0", "/v1/ledger/entries?limit=1001"] {
            let (status, body) = app.get(path, Some(&admin)).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")), "{path}");
        }
        let (status, body) = app.get("/v1/ledger/entries?kind=shredding", Some(&admin)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
        let (status, body) = app.get("/v1/ledger/proofs/inclusion?entry=-1", Some(&admin)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));

        // A full export verifies offline against the pinned key.
        let mut out = Vec::new();
        ledger::read::export(&app.db, id, "k", &mut out).await.unwrap();
        let report = verify_export(out.as_slice(), &key).unwrap();
        assert_eq!((report.entries, report.checkpoints), (1300, 2));
        assert_eq!(report.root_hash, reference_root(&leaves));
        assert!(client_checks_inclusion(&app.base, &admin, &key, 1042).await.is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_signed_every_n_entries_and_on_shutdown() {
    let mut app = spawn_app_with(Backend::Sqlite, lethe_api::engine::Mode::All, |s| {
        s.checkpoints.every_entries = 10;
        s.checkpoints.every = Duration::from_secs(3600);
    })
    .await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let id = org_id(&app, &org).await;
    append(&app, id, 12, "shop").await;
    let mut latest = Value::Null;
    for _ in 0..100 {
        let (status, body) = app.get("/v1/ledger/checkpoints/latest", Some(&admin)).await;
        if status == StatusCode::OK {
            latest = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(latest["tree_size"], 12, "signed once 10 entries were unsigned: {latest}");
    append(&app, id, 3, "shop").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, still) = app.get("/v1/ledger/checkpoints/latest", Some(&admin)).await;
    assert_eq!(still["tree_size"], 12, "3 unsigned entries wait for the threshold or the timer");
    let db_url = app.database_url.clone();
    app.stop().await;
    let db = lethe_worker::database::connect(&db_url).await.unwrap();
    let last = ledger::read::latest_checkpoint(&db, id).await.unwrap().unwrap();
    assert_eq!(last.tree_size, 15, "a clean stop signs the tail");
}

/// A server that lies. The client must notice every lie, whatever the server says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_refuses_a_hostile_servers_proofs() {
    use axum::extract::{Query, State};
    use axum::routing::get;

    let app = spawn_app(Backend::Sqlite).await;
    let org = org_slug();
    let admin = app.admin(&org).await;
    let id = org_id(&app, &org).await;
    append(&app, id, 50, "shop").await;
    let (status, _) = app.post("/v1/ledger/checkpoints", Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let key = pinned_key(&app.base).await;
    assert_eq!(client_checks_inclusion(&app.base, &admin, &key, 17).await, Ok(()));

    #[derive(Clone, Copy, Debug)]
    enum Lie {
        FlippedPathByte,
        ProofOfAnotherEntry,
        ShortenedPath,
        ForgedCheckpointKey,
        AlteredEntry,
    }
    #[derive(Clone)]
    struct Hostile {
        real: String,
        bearer: String,
        lie: Lie,
    }
    async fn relay(h: &Hostile, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", h.real))
            .bearer_auth(&h.bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
    async fn latest(State(h): State<Hostile>) -> axum::Json<Value> {
        let mut cp = relay(&h, "/v1/ledger/checkpoints/latest").await;
        if let Lie::ForgedCheckpointKey = h.lie {
            let record: CheckpointRecord = serde_json::from_value(cp.clone()).unwrap();
            let real = record.to_checkpoint().unwrap();
            let forger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
            // A different root, signed with the server's "new" key.
            let mut root = real.root_hash;
            root[0] ^= 1;
            let forged = lethe_entities::ledger::checkpoint::Checkpoint::sign(
                &forger,
                real.organization_id,
                real.tree_size,
                real.signed_at_us,
                root,
            );
            cp = serde_json::to_value(forged.to_record()).unwrap();
        }
        axum::Json(cp)
    }
    async fn inclusion(
        State(h): State<Hostile>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> axum::Json<Value> {
        let entry: u64 = q["entry"].parse().unwrap();
        let size = &q["tree_size"];
        let asked = match h.lie {
            Lie::ProofOfAnotherEntry => entry + 1,
            _ => entry,
        };
        let mut proof = relay(&h, &format!("/v1/ledger/proofs/inclusion?entry={asked}&tree_size={size}")).await;
        let path = proof["audit_path"].as_array_mut().unwrap();
        match h.lie {
            Lie::FlippedPathByte => {
                let mut bytes = from_hex32(path[2].as_str().unwrap()).unwrap();
                bytes[7] ^= 0x10;
                path[2] = json!(lethe_entities::ledger::entry::to_hex(&bytes));
            }
            Lie::ShortenedPath => {
                path.pop();
            }
            _ => {}
        }
        axum::Json(proof)
    }
    async fn entries(
        State(h): State<Hostile>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> axum::Json<Value> {
        let query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut page = relay(&h, &format!("/v1/ledger/entries?{}", query.join("&"))).await;
        if let Lie::AlteredEntry = h.lie {
            // Claims fewer rows were erased, keeping the honest leaf hash.
            page["entries"][0]["row_count"] = json!(0);
        }
        axum::Json(page)
    }

    for lie in [
        Lie::FlippedPathByte,
        Lie::ProofOfAnotherEntry,
        Lie::ShortenedPath,
        Lie::ForgedCheckpointKey,
        Lie::AlteredEntry,
    ] {
        let state = Hostile { real: app.base.clone(), bearer: admin.clone(), lie };
        let router = axum::Router::new()
            .route("/v1/ledger/checkpoints/latest", get(latest))
            .route("/v1/ledger/proofs/inclusion", get(inclusion))
            .route("/v1/ledger/entries", get(entries))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let verdict = client_checks_inclusion(&base, &admin, &key, 17).await;
        server.abort();
        assert!(verdict.is_err(), "{lie:?} was accepted");
    }
    // Sanity: the base64 in the public-key document is the raw 32-byte key.
    let body: Value = reqwest::get(app.url("/v1/ledger/public-key")).await.unwrap().json().await.unwrap();
    let raw = base64::engine::general_purpose::STANDARD.decode(body["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(raw, key.as_bytes());
}
