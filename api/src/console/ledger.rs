//! The ledger page: the latest checkpoint, the public key to pin, "verify now" (the
//! organization's export checked by the same offline verifier as `lethe ledger verify`), the
//! export to download for offline verification, and a subject's entries looked up by identity
//! through the blind index (auditors and admins). Each action writes an audit event; a lookup's
//! event names the kind of identity, never its value.

use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};

use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::stream;
use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::entity::operator_event::OperatorEventKind;
use lethe_entities::ledger::checkpoint::public_key_pem;
use lethe_entities::ledger::entry::EntryRecord;
use lethe_entities::ledger::read;
use lethe_entities::ledger::verify::verify_export;
use sea_orm::Iterable;
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::actions::CsrfForm;
use super::session::Session;
use super::sign_in::record;
use super::view::{Nav, parse};
use crate::auth::Permission;
use crate::services::ledger::{LookupIdentity, lookup_identities};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebError, WebResult, render};

struct Checkpoint {
    tree_size: i64,
    signed_at: String,
    root: String,
}

/// The result of "verify now".
struct Verification {
    ok: bool,
    text: String,
}

struct Entry {
    seq: u64,
    at: String,
    kind: String,
    store: String,
    table: String,
    action: String,
    rows: u64,
    request: Option<String>,
}

impl From<EntryRecord> for Entry {
    fn from(e: EntryRecord) -> Self {
        Self {
            seq: e.seq,
            at: e.recorded_at,
            kind: e.kind,
            store: e.store.unwrap_or_default(),
            table: e.table.unwrap_or_default(),
            action: e.action.unwrap_or_default(),
            rows: e.row_count,
            request: e.request_id.map(|r| r.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "console/ledger.html")]
struct LedgerPage {
    nav: Nav,
    size: u64,
    checkpoint: Option<Checkpoint>,
    key_id: String,
    pem: String,
    verification: Option<Verification>,
    lookup: bool,
    kinds: Vec<&'static str>,
    found: Option<Vec<Entry>>,
}

async fn show(
    state: &AppState,
    session: &Session,
    verification: Option<Verification>,
    found: Option<Vec<Entry>>,
) -> WebResult<Response> {
    session.principal.require(Permission::ReadLedger)?;
    let org = session.organization.id;
    let checkpoint = read::latest_checkpoint(&state.db, org).await.map_err(crate::error::ApiError::from)?;
    let page = LedgerPage {
        nav: Nav::new(session, "ledger"),
        size: read::tree_size(&state.db, org).await.map_err(crate::error::ApiError::from)?,
        checkpoint: checkpoint.map(|c| {
            let record = c.to_checkpoint().to_record();
            Checkpoint { tree_size: c.tree_size, signed_at: record.signed_at, root: record.root_hash }
        }),
        key_id: state.ledger.key_id(),
        pem: public_key_pem(&state.ledger.public_key()),
        verification,
        lookup: session.can(Permission::LookupLedger),
        kinds: IdentityKind::iter().map(IdentityKind::as_str).collect(),
        found,
    };
    render(&page)
}

/// `GET /console/ledger`.
pub async fn page(State(state): State<AppState>, session: Session) -> WebResult<Response> {
    show(&state, &session, None, None).await
}

/// The organization's ledger as an export file (a checkpoint of the current head signed first
/// when the operator may sign), rewound for reading.
async fn export_file(state: &AppState, session: &Session) -> WebResult<(std::fs::File, u64)> {
    session.principal.require(Permission::ReadLedger)?;
    let org = session.organization.id;
    let api = crate::error::ApiError::from;
    if session.can(Permission::SignCheckpoint) {
        state.ledger.checkpoint(&state.db, org).await.map_err(api)?;
    }
    let file = tempfile::tempfile().map_err(|e| WebError::internal(&e))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let entries = read::export(&state.db, org, &state.ledger.key_id(), &mut writer).await.map_err(api)?;
    writer.flush().map_err(|e| WebError::internal(&e))?;
    let mut file = writer.into_inner().map_err(|e| WebError::internal(&e.error()))?;
    file.seek(SeekFrom::Start(0)).map_err(|e| WebError::internal(&e))?;
    Ok((file, entries))
}

/// `POST /console/ledger/verify`: exports the ledger and verifies it offline (chain, Merkle
/// roots, checkpoint signatures under the server's public key, checkpoint order).
pub async fn verify(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let (file, _) = export_file(&state, &session).await?;
    let key = state.ledger.public_key();
    let outcome = tokio::task::spawn_blocking(move || verify_export(BufReader::with_capacity(1 << 20, file), &key))
        .await
        .map_err(|e| WebError::internal(&e))?;
    let verification = match outcome {
        Ok(report) => Verification { ok: true, text: report.to_string() },
        Err(failure) => Verification { ok: false, text: format!("verification FAILED at {failure}") },
    };
    let reason = if verification.ok { "passed" } else { "FAILED" };
    record(&state, &session.operator, OperatorEventKind::LedgerVerified, session.ip(), Some(reason)).await;
    show(&state, &session, Some(verification), None).await
}

/// `POST /console/ledger/export`: the export as a download (JSON lines), to verify offline with
/// `lethe ledger verify FILE --public-key KEY`.
pub async fn export(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let (file, entries) = export_file(&state, &session).await?;
    let reason = format!("{entries} entries");
    record(&state, &session.operator, OperatorEventKind::LedgerExported, session.ip(), Some(&reason)).await;
    let file = tokio::fs::File::from_std(file);
    let chunks = stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(buffer), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    let day = time::OffsetDateTime::now_utc().date();
    let name = format!("attachment; filename=\"lethe-ledger-{}-{day}.jsonl\"", session.organization.slug);
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The lookup form: one identity (posted, never in a URL).
#[derive(Debug, Deserialize)]
pub struct LookupForm {
    csrf: String,
    kind: String,
    value: String,
}

/// `POST /console/ledger/lookup`: a subject's entries (auditors and admins).
pub async fn lookup(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<LookupForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let kind: IdentityKind = parse(&form.kind).ok_or_else(|| WebError::invalid_form("Choose the kind of identity."))?;
    let identities = [LookupIdentity { kind, value: form.value }];
    let entries = lookup_identities(&state, &session.principal, &identities).await?;
    let reason = format!("by {}: {} entries", kind.as_str(), entries.len());
    record(&state, &session.operator, OperatorEventKind::LedgerLookedUp, session.ip(), Some(&reason)).await;
    show(&state, &session, None, Some(entries.into_iter().map(Entry::from).collect())).await
}
