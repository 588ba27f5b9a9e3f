//! The event types of outbound webhooks, by their stable names.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an event announces. Endpoints subscribe by these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A request was received (from the portal or the API).
    #[serde(rename = "request.received")]
    RequestReceived,
    /// The requester proved control of the identity.
    #[serde(rename = "request.verified")]
    RequestVerified,
    /// The request was approved.
    #[serde(rename = "request.approved")]
    RequestApproved,
    /// The request was denied.
    #[serde(rename = "request.denied")]
    RequestDenied,
    /// The deadline was extended.
    #[serde(rename = "request.extended")]
    RequestExtended,
    /// The request was put on hold.
    #[serde(rename = "request.on_hold")]
    RequestOnHold,
    /// The request was completed.
    #[serde(rename = "request.completed")]
    RequestCompleted,
    /// The request failed and waits for an operator's retry.
    #[serde(rename = "request.failed")]
    RequestFailed,
    /// The request was canceled.
    #[serde(rename = "request.canceled")]
    RequestCanceled,
    /// Work waits for people: a manual store's task, or a recipient to notify.
    #[serde(rename = "task.waiting")]
    TaskWaiting,
    /// An access package is ready and its link was sent.
    #[serde(rename = "export.ready")]
    ExportReady,
    /// An access package expired and was destroyed.
    #[serde(rename = "export.purged")]
    ExportPurged,
    /// A retention run finished.
    #[serde(rename = "retention_run.finished")]
    RetentionRunFinished,
    /// A retention run failed.
    #[serde(rename = "retention_run.failed")]
    RetentionRunFailed,
    /// A legal hold was placed.
    #[serde(rename = "hold.placed")]
    HoldPlaced,
    /// A legal hold was released.
    #[serde(rename = "hold.released")]
    HoldReleased,
    /// A legal hold expires soon (its owner was warned).
    #[serde(rename = "hold.expiring")]
    HoldExpiring,
    /// A ledger checkpoint was signed.
    #[serde(rename = "ledger.checkpoint_signed")]
    CheckpointSigned,
    /// A test ping, sent to one endpoint on request (not subscribable).
    #[serde(rename = "webhook.test")]
    Test,
}

impl EventType {
    /// Every type an endpoint may subscribe to.
    pub const SUBSCRIBABLE: [EventType; 18] = [
        Self::RequestReceived,
        Self::RequestVerified,
        Self::RequestApproved,
        Self::RequestDenied,
        Self::RequestExtended,
        Self::RequestOnHold,
        Self::RequestCompleted,
        Self::RequestFailed,
        Self::RequestCanceled,
        Self::TaskWaiting,
        Self::ExportReady,
        Self::ExportPurged,
        Self::RetentionRunFinished,
        Self::RetentionRunFailed,
        Self::HoldPlaced,
        Self::HoldReleased,
        Self::HoldExpiring,
        Self::CheckpointSigned,
    ];

    /// The stable name (`request.completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestReceived => "request.received",
            Self::RequestVerified => "request.verified",
            Self::RequestApproved => "request.approved",
            Self::RequestDenied => "request.denied",
            Self::RequestExtended => "request.extended",
            Self::RequestOnHold => "request.on_hold",
            Self::RequestCompleted => "request.completed",
            Self::RequestFailed => "request.failed",
            Self::RequestCanceled => "request.canceled",
            Self::TaskWaiting => "task.waiting",
            Self::ExportReady => "export.ready",
            Self::ExportPurged => "export.purged",
            Self::RetentionRunFinished => "retention_run.finished",
            Self::RetentionRunFailed => "retention_run.failed",
            Self::HoldPlaced => "hold.placed",
            Self::HoldReleased => "hold.released",
            Self::HoldExpiring => "hold.expiring",
            Self::CheckpointSigned => "ledger.checkpoint_signed",
            Self::Test => "webhook.test",
        }
    }

    /// The type named `name`, if it is one an endpoint may subscribe to.
    pub fn parse_subscribable(name: &str) -> Option<Self> {
        Self::SUBSCRIBABLE.into_iter().find(|t| t.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_parse() {
        for t in EventType::SUBSCRIBABLE {
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, t.as_str());
            assert_eq!(EventType::parse_subscribable(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse_subscribable("webhook.test"), None);
        assert_eq!(EventType::parse_subscribable("request.nope"), None);
    }
}
