//! Looking a subject up in the deletion ledger: "was this person erased, when and where?"
//! Identities become blind indexes and then the ledger's keyed subject references; nothing is
//! matched in clear. Auditors and admins give identities; a data subject gives their own
//! verified request's id and status token.

use lethe_entities::domain::enums::IdentityKind;
use lethe_entities::domain::identity::Identity;
use lethe_entities::entity::{request, subject_identity};
use lethe_entities::ledger::entry::EntryRecord;
use lethe_entities::ledger::read;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::intake::find_with_token;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

/// Most entries a lookup returns.
pub const MAX_LOOKUP: u64 = 1_000;

/// An identity to look up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupIdentity {
    /// `email`, `phone` or `customer_id`.
    pub kind: IdentityKind,
    /// The value (normalised as at submission: e-mail case-insensitive, phone E.164).
    pub value: String,
}

/// A subject's entries by identities, for a caller who may look subjects up (auditors and
/// admins): the identities become blind indexes and then the ledger's keyed references.
pub async fn lookup_identities(
    state: &AppState,
    principal: &Principal,
    identities: &[LookupIdentity],
) -> ApiResult<Vec<EntryRecord>> {
    principal.require(Permission::LookupLedger)?;
    let org = principal.organization_id;
    let blind_indexes = parse_identities(state, org, identities)?;
    subject_entries(state, org, &blind_indexes).await
}

/// The entries of the subject of request `id`, for the data subject with its status `token`:
/// the request must be verified (`409 not_verified`); an unknown id or a wrong token is
/// `404 request_not_found`.
pub async fn lookup_own(state: &AppState, id: Uuid, token: &str) -> ApiResult<Vec<EntryRecord>> {
    let req: request::Model = find_with_token(state, id, token).await?;
    if req.verified_at.is_none() {
        return Err(ApiError::conflict("not_verified", "the request's identity is not verified yet"));
    }
    let identities = subject_identity::Model::of_request(&state.db, req.organization_id, req.id).await?;
    let blind_indexes: Vec<_> = identities.into_iter().map(|i| i.blind_index).collect();
    subject_entries(state, req.organization_id, &blind_indexes).await
}

async fn subject_entries(state: &AppState, org: Uuid, blind_indexes: &[String]) -> ApiResult<Vec<EntryRecord>> {
    let refs: Vec<_> = blind_indexes.iter().map(|b| state.keyring.ledger_subject_ref(org, b)).collect();
    let rows = read::entries_for_subject(&state.db, org, &refs, MAX_LOOKUP).await?;
    Ok(rows.iter().map(|r| r.to_record()).collect())
}

fn parse_identities(state: &AppState, org: Uuid, identities: &[LookupIdentity]) -> ApiResult<Vec<String>> {
    if identities.is_empty() || identities.len() > 10 {
        return Err(ApiError::invalid_field("identities", "between 1 and 10 identities"));
    }
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, given) in identities.iter().enumerate() {
        match Identity::parse(given.kind, &given.value) {
            Ok(id) => out.push(state.keyring.blind_index(org, id.kind(), id.normalised())),
            Err(e) => errors.push(FieldError { field: format!("identities[{i}].value"), message: e.to_string() }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(ApiError::validation(errors)) }
}
