//! Outbound webhooks' vocabulary: the event types an endpoint may subscribe to, and the one
//! function that puts an event in the outbox ([`announce`]), called inside the transaction of
//! the change it announces, so no event is lost and none is announced that did not happen.
//!
//! An outbox row holds only ids, states and kinds ([`Announcement::data`]); the worker adds the
//! request's kind, regime and due date when it builds the payload. Nothing an identity or a
//! person's words could be in is ever put here.

mod event_type;

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use time::OffsetDateTime;

pub use event_type::EventType;

use crate::domain::enums::{EventKind, RequestState};
use crate::entity::webhook_event;

/// One event to announce.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    /// Tenant.
    pub organization: Uuid,
    /// What happened.
    pub event_type: EventType,
    /// The request it concerns, if any (deliveries of one request's events keep their order).
    pub request: Option<Uuid>,
    /// Facts: ids, states, kinds (never personal data).
    pub data: serde_json::Value,
}

impl Announcement {
    /// An announcement of `event_type` with `data`.
    pub fn new(organization: Uuid, event_type: EventType, request: Option<Uuid>, data: serde_json::Value) -> Self {
        Self { organization, event_type, request, data }
    }

    /// The announcement of a request timeline event, when integrators are told of that kind:
    /// the request's state changes, and a store task that waits for an operator.
    pub fn of_request_event(
        organization: Uuid,
        request: Uuid,
        kind: EventKind,
        states: Option<(RequestState, RequestState)>,
        detail: Option<&serde_json::Value>,
    ) -> Option<Self> {
        let event_type = match kind {
            EventKind::Submitted => EventType::RequestReceived,
            EventKind::Verified => EventType::RequestVerified,
            EventKind::Approved => EventType::RequestApproved,
            EventKind::Denied => EventType::RequestDenied,
            EventKind::Extended => EventType::RequestExtended,
            EventKind::Held => EventType::RequestOnHold,
            EventKind::Completed => EventType::RequestCompleted,
            EventKind::Failed => EventType::RequestFailed,
            EventKind::Canceled => EventType::RequestCanceled,
            EventKind::StoreWaiting => {
                let waits_for = detail.and_then(|d| d.get("waits_for")).and_then(serde_json::Value::as_str);
                if waits_for != Some("operator") {
                    return None;
                }
                EventType::TaskWaiting
            }
            EventKind::ExportReady => EventType::ExportReady,
            EventKind::ExportPurged => EventType::ExportPurged,
            _ => return None,
        };
        let mut data = serde_json::Map::new();
        if let Some((from, to)) = states {
            data.insert("previous_state".into(), from.as_str().into());
            data.insert("state".into(), to.as_str().into());
        }
        if let Some(detail) = detail {
            // Only facts that are ids, kinds and dates: never a reason, a note or a name.
            for key in ["kind", "waits_for", "store_id", "task_id", "export_id", "expires_at", "new_due_at"] {
                if let Some(value) = detail.get(key) {
                    data.insert(key.into(), value.clone());
                }
            }
        }
        Some(Self::new(organization, event_type, Some(request), serde_json::Value::Object(data)))
    }
}

/// Puts `announcement` in the outbox, in the caller's transaction; returns the event's id (its
/// deliveries' `webhook-id` is `msg_` and the id without dashes).
pub async fn announce(db: &impl ConnectionTrait, announcement: Announcement) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    webhook_event::ActiveModel {
        id: Set(id),
        organization_id: Set(announcement.organization),
        event_type: Set(announcement.event_type.as_str().to_owned()),
        request_id: Set(announcement.request),
        data: Set(announcement.data),
        payload: Set(None),
        dispatched: Set(false),
        created_at: Set(OffsetDateTime::now_utc()),
    }
    .insert(db)
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(kind: EventKind, detail: Option<serde_json::Value>) -> Option<EventType> {
        Announcement::of_request_event(Uuid::nil(), Uuid::max(), kind, None, detail.as_ref()).map(|a| a.event_type)
    }

    #[test]
    fn request_events_map_to_the_types_integrators_are_told_of() {
        let told = [
            (EventKind::Submitted, EventType::RequestReceived),
            (EventKind::Verified, EventType::RequestVerified),
            (EventKind::Approved, EventType::RequestApproved),
            (EventKind::Denied, EventType::RequestDenied),
            (EventKind::Extended, EventType::RequestExtended),
            (EventKind::Held, EventType::RequestOnHold),
            (EventKind::Completed, EventType::RequestCompleted),
            (EventKind::Failed, EventType::RequestFailed),
            (EventKind::Canceled, EventType::RequestCanceled),
            (EventKind::ExportReady, EventType::ExportReady),
            (EventKind::ExportPurged, EventType::ExportPurged),
        ];
        for (kind, event_type) in told {
            assert_eq!(kind_of(kind, None), Some(event_type), "{kind:?}");
        }
        for kind in [EventKind::VerificationSent, EventKind::StoreLocated, EventKind::Started, EventKind::TaskCompleted]
        {
            assert_eq!(kind_of(kind, None), None, "{kind:?}");
        }
        // A store task waiting for an operator is announced; one waiting for a service is not.
        let waiting = |who: &str| Some(serde_json::json!({ "waits_for": who }));
        assert_eq!(kind_of(EventKind::StoreWaiting, waiting("operator")), Some(EventType::TaskWaiting));
        assert_eq!(kind_of(EventKind::StoreWaiting, waiting("service_callback")), None);
    }

    #[test]
    fn only_ids_states_kinds_and_dates_are_kept() {
        let detail = serde_json::json!({
            "store": "Paper archive",
            "store_id": Uuid::nil(),
            "kind": "manual",
            "waits_for": "operator",
            "message": "anything a person wrote",
            "reason": "anything an operator wrote",
        });
        let states = Some((RequestState::Approved, RequestState::InProgress));
        let announced =
            Announcement::of_request_event(Uuid::nil(), Uuid::max(), EventKind::StoreWaiting, states, Some(&detail))
                .unwrap();
        let mut keys: Vec<&String> = announced.data.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["kind", "previous_state", "state", "store_id", "waits_for"]);
        assert_eq!(announced.request, Some(Uuid::max()));
    }
}
