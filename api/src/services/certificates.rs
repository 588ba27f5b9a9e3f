//! The certificate of erasure of a completed erasure request: the request's facts (its store
//! and recipient tasks, its timeline and its ledger entries) signed with the ledger's key (see
//! [`lethe_entities::ledger::certificate`]). It holds no personal data, so every reader of the
//! request may have it.

use lethe_entities::entity::{ledger_entry, recipient_task, request, request_event, store_task};
use lethe_entities::ledger::certificate::{Certificate, Facts, SignedCertificate};
use lethe_entities::ledger::read::{self, EntryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{Permission, Principal};
use crate::error::{ApiResult, request_not_found};
use crate::state::AppState;

/// Ledger entries read per query while gathering a request's entries.
const ENTRY_PAGE: u64 = 1_000;

/// The signed certificate of erasure of request `id` (`409 not_completed` unless it is an
/// erasure request in state `completed`).
pub async fn certificate(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<SignedCertificate> {
    principal.require(Permission::ReadRequests)?;
    let org = principal.organization_id;
    let req = request::Model::find_in_org(&state.db, org, id).await?.ok_or_else(request_not_found)?;
    let tasks = store_task::Model::of_request(&state.db, org, id).await?;
    let recipients = recipient_task::Model::of_request(&state.db, org, id).await?;
    let timeline = request_event::Model::timeline(&state.db, org, id).await?;
    let entries = entries(state, org, id).await?;
    let facts = Facts { request: &req, tasks: &tasks, recipients: &recipients, timeline: &timeline, entries: &entries };
    let certificate = Certificate::build(facts, state.ledger.key_id(), OffsetDateTime::now_utc())?;
    Ok(state.ledger.sign_certificate(certificate))
}

/// Every ledger entry of request `id` of `org`, in sequence order.
async fn entries(state: &AppState, org: Uuid, id: Uuid) -> ApiResult<Vec<ledger_entry::Model>> {
    let mut entries = Vec::new();
    let mut filter = EntryFilter { request_id: Some(id), ..EntryFilter::default() };
    loop {
        let page = read::entries(&state.db, org, &filter, ENTRY_PAGE).await?;
        let last = (page.len() as u64) < ENTRY_PAGE;
        filter.after_seq = page.last().map(|e| e.seq as u64);
        entries.extend(page);
        if last {
            break;
        }
    }
    Ok(entries)
}
