//! The request state machine: every allowed transition, in one place.
//!
//! ```text
//! identity_unverified --verify--> pending_approval --approve--> approved --start--> in_progress --complete--> completed
//!          |                     (auto-approval: verify goes straight to approved)        |
//!          +--deny/cancel         pending_approval, on_hold --deny--> denied               +--fail--> failed --retry--> approved
//! cancel: from any non-terminal state except in_progress (work on stores must finish or fail first)
//! hold: pending_approval, approved, failed --> on_hold --resume--> the state it was held from
//! ```

use serde::Serialize;

use crate::domain::enums::{EventKind, RequestState};

/// Something that moves a request from one state to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The requester entered the right code. `auto_approve` is the organization's setting.
    Verify {
        /// Whether the organization approves verified requests automatically.
        auto_approve: bool,
    },
    /// An operator approved the request.
    Approve,
    /// An operator denied the request (a reason is required by the caller).
    Deny,
    /// The requester or an operator canceled the request. Requesters may only cancel before approval.
    Cancel {
        /// True when the data subject cancels through the status token.
        by_subject: bool,
    },
    /// The fulfilment job started.
    Start,
    /// Fulfilment finished.
    Complete,
    /// Fulfilment failed.
    Fail,
    /// An operator retries a failed request.
    Retry,
    /// An operator pauses the request.
    Hold,
    /// An operator resumes a held request; `held_from` is the state it was held in.
    Resume {
        /// The state the request was in when it was put on hold.
        held_from: RequestState,
    },
}

impl Action {
    /// The timeline event recorded for this action.
    pub fn event_kind(self) -> EventKind {
        match self {
            Self::Verify { .. } => EventKind::Verified,
            Self::Approve => EventKind::Approved,
            Self::Deny => EventKind::Denied,
            Self::Cancel { .. } => EventKind::Canceled,
            Self::Start => EventKind::Started,
            Self::Complete => EventKind::Completed,
            Self::Fail => EventKind::Failed,
            Self::Retry => EventKind::Retried,
            Self::Hold => EventKind::Held,
            Self::Resume { .. } => EventKind::Resumed,
        }
    }

    /// Stable name of the action, used in error codes and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Verify { .. } => "verify",
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Cancel { .. } => "cancel",
            Self::Start => "start",
            Self::Complete => "complete",
            Self::Fail => "fail",
            Self::Retry => "retry",
            Self::Hold => "hold",
            Self::Resume { .. } => "resume",
        }
    }
}

/// A transition that the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("a request in state `{}` cannot be {}", from.as_str(), past_tense(action))]
pub struct TransitionError {
    /// The state the request is in.
    pub from: RequestState,
    /// The action's name.
    pub action: &'static str,
}

fn past_tense(action: &'static str) -> &'static str {
    match action {
        "verify" => "verified",
        "approve" => "approved",
        "deny" => "denied",
        "cancel" => "canceled",
        "start" => "started",
        "complete" => "completed",
        "fail" => "failed",
        "retry" => "retried",
        "hold" => "put on hold",
        "resume" => "resumed",
        "extend" => "extended",
        other => other,
    }
}

/// Returns the state `action` leads to from `from`, or why it is not allowed.
pub fn next_state(from: RequestState, action: Action) -> Result<RequestState, TransitionError> {
    use RequestState::*;
    let to = match (from, action) {
        (IdentityUnverified, Action::Verify { auto_approve: false }) => Some(PendingApproval),
        (IdentityUnverified, Action::Verify { auto_approve: true }) => Some(Approved),
        (PendingApproval, Action::Approve) => Some(Approved),
        (IdentityUnverified | PendingApproval | OnHold, Action::Deny) => Some(Denied),
        (IdentityUnverified | PendingApproval, Action::Cancel { by_subject: true }) => Some(Canceled),
        (IdentityUnverified | PendingApproval | Approved | Failed | OnHold, Action::Cancel { by_subject: false }) => {
            Some(Canceled)
        }
        (Approved, Action::Start) => Some(InProgress),
        (InProgress, Action::Complete) => Some(Completed),
        (Approved | InProgress, Action::Fail) => Some(Failed),
        (Failed, Action::Retry) => Some(Approved),
        (PendingApproval | Approved | Failed, Action::Hold) => Some(OnHold),
        (OnHold, Action::Resume { held_from }) if matches!(held_from, PendingApproval | Approved | Failed) => {
            Some(held_from)
        }
        _ => None,
    };
    to.ok_or(TransitionError { from, action: action.name() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestState::*;
    use sea_orm::Iterable;

    fn all_actions() -> Vec<Action> {
        let mut v = vec![
            Action::Verify { auto_approve: false },
            Action::Verify { auto_approve: true },
            Action::Approve,
            Action::Deny,
            Action::Cancel { by_subject: true },
            Action::Cancel { by_subject: false },
            Action::Start,
            Action::Complete,
            Action::Fail,
            Action::Retry,
            Action::Hold,
        ];
        v.extend(RequestState::iter().map(|held_from| Action::Resume { held_from }));
        v
    }

    #[test]
    fn happy_path() {
        let s = next_state(IdentityUnverified, Action::Verify { auto_approve: false }).unwrap();
        assert_eq!(s, PendingApproval);
        let s = next_state(s, Action::Approve).unwrap();
        let s = next_state(s, Action::Start).unwrap();
        assert_eq!(next_state(s, Action::Complete).unwrap(), Completed);
        assert_eq!(next_state(IdentityUnverified, Action::Verify { auto_approve: true }).unwrap(), Approved);
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for state in RequestState::iter().filter(|s| s.is_terminal()) {
            for action in all_actions() {
                assert!(next_state(state, action).is_err(), "{state:?} {action:?}");
            }
        }
    }

    #[test]
    fn subjects_cannot_cancel_after_approval_and_nobody_cancels_running_work() {
        assert!(next_state(Approved, Action::Cancel { by_subject: true }).is_err());
        assert!(next_state(InProgress, Action::Cancel { by_subject: false }).is_err());
        assert_eq!(next_state(Approved, Action::Cancel { by_subject: false }).unwrap(), Canceled);
    }

    #[test]
    fn failure_and_retry() {
        assert_eq!(next_state(InProgress, Action::Fail).unwrap(), Failed);
        assert_eq!(next_state(Failed, Action::Retry).unwrap(), Approved);
        assert!(next_state(Approved, Action::Retry).is_err());
    }

    #[test]
    fn hold_resumes_where_it_was() {
        assert_eq!(next_state(Approved, Action::Hold).unwrap(), OnHold);
        assert_eq!(next_state(OnHold, Action::Resume { held_from: Approved }).unwrap(), Approved);
        assert!(next_state(OnHold, Action::Resume { held_from: Completed }).is_err());
        assert!(next_state(InProgress, Action::Hold).is_err());
    }

    #[test]
    fn every_transition_leaves_its_state_or_fails() {
        // No action is a silent no-op: an allowed transition always changes the state.
        for state in RequestState::iter() {
            for action in all_actions() {
                if let Ok(to) = next_state(state, action) {
                    assert_ne!(to, state, "{state:?} {action:?}");
                }
            }
        }
    }

    #[test]
    fn errors_name_state_and_action() {
        let e = next_state(Completed, Action::Approve).unwrap_err();
        assert_eq!(e.action, "approve");
        assert_eq!(e.to_string(), "a request in state `completed` cannot be approved");
        let extend = TransitionError { from: Completed, action: "extend" };
        assert_eq!(extend.to_string(), "a request in state `completed` cannot be extended");
    }
}
