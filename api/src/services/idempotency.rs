//! `Idempotency-Key` for calls that create (trusted intake): a retried call with the same key
//! and the same body gets the first answer again; the same key with another body is refused
//! (`409 idempotency_key_reused`). Keys are the caller's own (per organization and API key) and
//! kept 24 hours ([`KEEP`]). The key and the body are kept only as keyed digests, the answer
//! only encrypted.

use axum::http::{HeaderMap, StatusCode};
use lethe_entities::entity::idempotency_key::{self, KEEP, response_context};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The header.
pub const HEADER: &str = "idempotency-key";

/// The longest key taken.
const MAX_KEY_CHARS: usize = 255;

/// A call's key and body, as digests.
#[derive(Debug, Clone)]
pub struct Key {
    organization: Uuid,
    caller: Uuid,
    key_digest: String,
    body_digest: String,
}

/// The call's key, if it sent one: 1 to 255 visible ASCII characters (`400
/// invalid_idempotency_key` otherwise).
pub fn from_headers(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    body: &impl Serialize,
) -> ApiResult<Option<Key>> {
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_CHARS && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key is 1 to 255 visible ASCII characters",
            )
        })?;
    let (organization, caller) = (principal.organization_id, principal.caller_id());
    let body = serde_json::to_string(&serde_json::to_value(body).expect("a body serialises")).expect("JSON");
    Ok(Some(Key {
        organization,
        caller,
        key_digest: state.keyring.token_digest(&format!("idempotency-key:{organization}:{caller}"), key),
        body_digest: state.keyring.token_digest(&format!("idempotency-body:{organization}:{caller}"), &body),
    }))
}

/// The first answer to `key`, if there is one still kept; `409 idempotency_key_reused` when it
/// came with another body. A key older than [`KEEP`] is forgotten here.
pub async fn replay<T: DeserializeOwned>(state: &AppState, key: &Key) -> ApiResult<Option<T>> {
    let Some(found) = idempotency_key::Model::find(&state.db, key.organization, key.caller, &key.key_digest).await?
    else {
        return Ok(None);
    };
    if found.created_at + KEEP < OffsetDateTime::now_utc() {
        idempotency_key::Entity::delete_by_id(found.id).exec(&state.db).await?;
        return Ok(None);
    }
    if found.body_digest != key.body_digest {
        return Err(ApiError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used with another body; use a new key for a new request",
        ));
    }
    let answer =
        state.keyring.open_text(&found.response_ciphertext, &response_context(found.organization_id, found.id))?;
    Ok(Some(serde_json::from_str(&answer).map_err(|_| ApiError::internal(&"a kept answer does not parse"))?))
}

/// Keeps `answer` as the first answer to `key`, for request `request`, in the caller's
/// transaction. A unique violation here means another call with the key committed first: the
/// caller rolls back and replays.
pub async fn keep(
    db: &impl ConnectionTrait,
    state: &AppState,
    key: &Key,
    request: Uuid,
    answer: &impl Serialize,
) -> Result<(), sea_orm::DbErr> {
    let id = Uuid::now_v7();
    let json = serde_json::to_string(answer).expect("an answer serialises");
    idempotency_key::ActiveModel {
        id: Set(id),
        organization_id: Set(key.organization),
        caller_id: Set(key.caller),
        key_digest: Set(key.key_digest.clone()),
        body_digest: Set(key.body_digest.clone()),
        request_id: Set(request),
        response_ciphertext: Set(state.keyring.seal_text(&json, &response_context(key.organization, id))),
        created_at: Set(OffsetDateTime::now_utc()),
    }
    .insert(db)
    .await?;
    Ok(())
}
