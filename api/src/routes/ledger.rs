//! The deletion ledger: entries, checkpoints, proofs, the public key and subject lookup.
//!
//! Everything here is scoped to the caller's organization: each organization has its own ledger.
//! Proof responses are meant to be checked by the client against a checkpoint whose signature
//! it verified with the public key it pinned; nothing in a response needs to be trusted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lethe_entities::ledger::EntryKind;
use lethe_entities::ledger::checkpoint::{CheckpointRecord, public_key_pem};
use lethe_entities::ledger::entry::{EntryRecord, to_hex};
use lethe_entities::ledger::read::{self, EntryFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Body, QueryParams};
use crate::openapi::responses::{Authenticated, InvalidQuery, RateLimited, ValidationFailed};
use crate::services;
pub use crate::services::ledger::{LookupIdentity, MAX_LOOKUP};
use crate::state::AppState;

/// Largest page of entries or checkpoints.
pub const MAX_LIMIT: u64 = 1_000;

/// The checkpoint-signing public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    /// Always `Ed25519`.
    pub algorithm: &'static str,
    /// Key id (first 16 hex digits of SHA-256 of the key).
    pub key_id: String,
    /// The 32-byte public key, base64.
    pub public_key: String,
    /// The same key as PEM (SubjectPublicKeyInfo).
    pub pem: String,
}

/// Get the ledger's public key.
///
/// The Ed25519 key that signs checkpoints. Pin it (store it outside Lethe) and verify exports
/// and proofs with it.
#[utoipa::path(
    get,
    path = "/v1/ledger/public-key",
    tag = "ledger",
    responses(
        (status = 200, description = "The public key", body = PublicKey),
        RateLimited,
    )
)]
pub async fn public_key(State(state): State<AppState>) -> Json<PublicKey> {
    let key = state.ledger.public_key();
    Json(PublicKey {
        algorithm: "Ed25519",
        key_id: state.ledger.key_id(),
        public_key: STANDARD.encode(key.as_bytes()),
        pem: public_key_pem(&key),
    })
}

/// Query of `GET /v1/ledger/entries`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// Only this kind.
    #[param(inline)]
    pub kind: Option<EntryKind>,
    /// Only entries caused by this request.
    pub request_id: Option<Uuid>,
    /// Only entries of this store.
    pub store: Option<String>,
    /// Recorded at or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<OffsetDateTime>,
    /// Recorded before (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<OffsetDateTime>,
    /// Only entries after this sequence number (pass the previous page's `next_after`).
    pub after: Option<u64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u64>,
}

/// A page of entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryPage {
    /// Entries in sequence order.
    pub entries: Vec<EntryRecord>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// List ledger entries.
#[utoipa::path(
    get,
    path = "/v1/ledger/entries",
    tag = "ledger",
    params(EntriesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of entries", body = EntryPage),
        InvalidQuery,
        Authenticated,
        ValidationFailed,
    )
)]
pub async fn entries(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<EntriesQuery>,
) -> ApiResult<Json<EntryPage>> {
    principal.require(Permission::ReadLedger)?;
    let limit = page_limit(query.limit)?;
    check_after(query.after)?;
    let micros = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000) as i64;
    let filter = EntryFilter {
        kind: query.kind,
        request_id: query.request_id,
        store: query.store,
        from_us: query.from.map(micros),
        to_us: query.to.map(micros),
        after_seq: query.after,
    };
    let rows = read::entries(&state.db, principal.organization_id, &filter, limit).await?;
    let next_after = (rows.len() as u64 == limit).then(|| rows.last().map(|r| r.seq as u64)).flatten();
    Ok(Json(EntryPage { entries: rows.iter().map(|r| r.to_record()).collect(), next_after }))
}

/// Query of `GET /v1/ledger/checkpoints`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsQuery {
    /// Only checkpoints with a larger tree size.
    pub after: Option<u64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u64>,
}

/// A page of checkpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointPage {
    /// Checkpoints, smallest tree first.
    pub checkpoints: Vec<CheckpointRecord>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// List checkpoints.
#[utoipa::path(
    get,
    path = "/v1/ledger/checkpoints",
    tag = "ledger",
    params(CheckpointsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of checkpoints", body = CheckpointPage),
        InvalidQuery,
        Authenticated,
        ValidationFailed,
    )
)]
pub async fn checkpoints(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<CheckpointsQuery>,
) -> ApiResult<Json<CheckpointPage>> {
    principal.require(Permission::ReadLedger)?;
    let limit = page_limit(query.limit)?;
    check_after(query.after)?;
    let rows = read::checkpoints(&state.db, principal.organization_id, query.after, Some(limit)).await?;
    let next_after = (rows.len() as u64 == limit).then(|| rows.last().map(|r| r.tree_size as u64)).flatten();
    Ok(Json(CheckpointPage { checkpoints: rows.iter().map(|c| c.to_checkpoint().to_record()).collect(), next_after }))
}

/// Get the latest checkpoint.
#[utoipa::path(
    get,
    path = "/v1/ledger/checkpoints/latest",
    tag = "ledger",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The latest checkpoint", body = CheckpointRecord),
        Authenticated,
        (status = 404, description = "`no_checkpoint`: nothing signed yet", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn latest_checkpoint(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<CheckpointRecord>> {
    principal.require(Permission::ReadLedger)?;
    read::latest_checkpoint(&state.db, principal.organization_id)
        .await?
        .map(|c| Json(c.to_checkpoint().to_record()))
        .ok_or_else(no_checkpoint)
}

/// The result of signing on demand.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignResult {
    /// Whether a new checkpoint was signed (false: the latest one already covers every entry).
    pub created: bool,
    /// The checkpoint covering every entry.
    pub checkpoint: CheckpointRecord,
}

/// Sign a checkpoint now.
///
/// Signs the current tree head unless the latest checkpoint already covers every entry.
#[utoipa::path(
    post,
    path = "/v1/ledger/checkpoints",
    tag = "ledger",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Signed", body = SignResult),
        (status = 200, description = "Already current", body = SignResult),
        Authenticated,
        (status = 404, description = "`no_checkpoint`: the ledger is empty", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_checkpoint(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<(StatusCode, Json<SignResult>)> {
    principal.require(Permission::SignCheckpoint)?;
    let org = principal.organization_id;
    if let Some(cp) = state.ledger.checkpoint(&state.db, org).await? {
        tracing::info!(tree_size = cp.tree_size, "ledger checkpoint signed on demand");
        return Ok((StatusCode::CREATED, Json(SignResult { created: true, checkpoint: cp.to_record() })));
    }
    let latest = read::latest_checkpoint(&state.db, org).await?.ok_or_else(no_checkpoint)?;
    Ok((StatusCode::OK, Json(SignResult { created: false, checkpoint: latest.to_checkpoint().to_record() })))
}

/// Query of `GET /v1/ledger/proofs/inclusion`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's sequence number.
    pub entry: u64,
    /// The tree to prove inclusion in (default: the latest checkpoint's).
    pub tree_size: Option<u64>,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    /// The entry (leaf index).
    pub entry: u64,
    /// The tree size.
    pub tree_size: u64,
    /// The entry's leaf hash, hex.
    pub leaf_hash: String,
    /// Sibling hashes from the leaf up, hex.
    pub audit_path: Vec<String>,
    /// The tree's root, hex (check it against a signed checkpoint).
    pub root_hash: String,
    /// The checkpoint signed at this tree size, if there is one.
    pub checkpoint: Option<CheckpointRecord>,
}

/// Prove an entry is in the tree.
///
/// Verify with RFC 9162 section 2.1.3.2 against the root of a checkpoint whose signature you
/// checked.
#[utoipa::path(
    get,
    path = "/v1/ledger/proofs/inclusion",
    tag = "ledger",
    params(InclusionQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The proof", body = InclusionProof),
        InvalidQuery,
        Authenticated,
        (status = 404, description = "`no_checkpoint`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: entry or tree size out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn inclusion(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<InclusionQuery>,
) -> ApiResult<Json<InclusionProof>> {
    principal.require(Permission::ReadLedger)?;
    let org = principal.organization_id;
    let tree_size = match query.tree_size {
        Some(size) => size,
        None => read::latest_checkpoint(&state.db, org).await?.ok_or_else(no_checkpoint)?.tree_size as u64,
    };
    check_size(&state, org, "tree_size", tree_size).await?;
    if query.entry >= tree_size {
        return Err(ApiError::invalid_field("entry", format!("must be below the tree size ({tree_size})")));
    }
    let proof = read::inclusion_proof(&state.db, org, query.entry, tree_size).await?;
    let checkpoint = read::checkpoint_at(&state.db, org, tree_size).await?;
    Ok(Json(InclusionProof {
        entry: query.entry,
        tree_size,
        leaf_hash: to_hex(&proof.leaf),
        audit_path: proof.path.iter().map(|h| to_hex(h)).collect(),
        root_hash: to_hex(&proof.root),
        checkpoint: checkpoint.map(|c| c.to_checkpoint().to_record()),
    }))
}

/// Query of `GET /v1/ledger/proofs/consistency`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size (at least 1).
    pub first: u64,
    /// The newer tree size (at least `first`).
    pub second: u64,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub first: u64,
    /// The newer tree size.
    pub second: u64,
    /// The proof's hashes, hex.
    pub proof: Vec<String>,
    /// Root of the older tree, hex.
    pub first_root: String,
    /// Root of the newer tree, hex.
    pub second_root: String,
}

/// Prove the newer tree extends the older one.
///
/// Verify with RFC 9162 section 2.1.4.2 against the roots of two checkpoints whose signatures
/// you checked.
#[utoipa::path(
    get,
    path = "/v1/ledger/proofs/consistency",
    tag = "ledger",
    params(ConsistencyQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProof),
        InvalidQuery,
        Authenticated,
        (status = 422, description = "`validation_failed`: sizes out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn consistency(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    principal.require(Permission::ReadLedger)?;
    let org = principal.organization_id;
    if query.first == 0 || query.first > query.second {
        return Err(ApiError::invalid_field("first", "must be at least 1 and at most `second`"));
    }
    check_size(&state, org, "second", query.second).await?;
    let proof = read::consistency_proof(&state.db, org, query.first, query.second).await?;
    Ok(Json(ConsistencyProof {
        first: query.first,
        second: query.second,
        proof: proof.proof.iter().map(|h| to_hex(h)).collect(),
        first_root: to_hex(&proof.first_root),
        second_root: to_hex(&proof.second_root),
    }))
}

/// Who to look up: identities (auditors and admins), or the caller's own verified request
/// (data subjects, with its status token).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Identities of one person (auditors and admins).
    #[serde(default)]
    pub identities: Vec<LookupIdentity>,
    /// The subject's own request id (with `token`).
    pub request_id: Option<Uuid>,
    /// The request's status token.
    pub token: Option<String>,
}

/// A subject's entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupResult {
    /// Entries carrying any of the subject's references, in sequence order (at most 1000).
    pub entries: Vec<EntryRecord>,
}

/// Look up a subject's entries.
///
/// "Was this person erased, when and where?" Identities are turned into the ledger's keyed
/// subject references; nothing is matched in clear. Auditors and admins give identities; a data
/// subject gives their own verified request's id and status token.
#[utoipa::path(
    post,
    path = "/v1/ledger/lookup",
    tag = "ledger",
    request_body = LookupRequest,
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The subject's entries", body = LookupResult),
        (status = 400, description = "`malformed_json`", body = Problem, content_type = "application/problem+json"),
        Authenticated,
        (status = 404, description = "`request_not_found` (unknown id or wrong token)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_verified`: the request's identity is not verified", body = Problem, content_type = "application/problem+json"),
        ValidationFailed,
        RateLimited,
    )
)]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Result<Principal, ApiError>,
    Body(body): Body<LookupRequest>,
) -> ApiResult<Json<LookupResult>> {
    let entries = match (&body.request_id, &body.token) {
        (Some(id), Some(token)) => {
            if !body.identities.is_empty() {
                return Err(ApiError::invalid_field("identities", "give identities or a request, not both"));
            }
            services::ledger::lookup_own(&state, *id, token).await?
        }
        (None, None) => {
            let principal = caller?;
            services::ledger::lookup_identities(&state, &principal, &body.identities).await?
        }
        _ => return Err(ApiError::invalid_field("token", "`request_id` and `token` go together")),
    };
    Ok(Json(LookupResult { entries }))
}

fn page_limit(limit: Option<u64>) -> ApiResult<u64> {
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_field("limit", format!("between 1 and {MAX_LIMIT}")));
    }
    Ok(limit)
}

/// Sequence numbers and tree sizes are stored as 64-bit signed integers.
fn check_after(after: Option<u64>) -> ApiResult<()> {
    match after {
        Some(a) if a > i64::MAX as u64 => Err(ApiError::invalid_field("after", format!("at most {}", i64::MAX))),
        _ => Ok(()),
    }
}

async fn check_size(state: &AppState, org: Uuid, field: &str, size: u64) -> ApiResult<()> {
    let current = read::tree_size(&state.db, org).await?;
    if size == 0 || size > current {
        return Err(ApiError::invalid_field(field, format!("must be between 1 and the ledger's size ({current})")));
    }
    Ok(())
}

fn no_checkpoint() -> ApiError {
    ApiError::not_found("no_checkpoint", "no checkpoint has been signed for this ledger yet")
}
