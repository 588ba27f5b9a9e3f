//! A Lethe request as a DRP status (section 3.02): `in_progress` while it is worked (with the
//! reason `need_user_verification` while the person has not confirmed their address),
//! `fulfilled` once completed, `denied` with the DRP reason for Lethe's denial ground, `revoked`
//! once canceled. `open` is never shown: Lethe is the covered business itself, so a request
//! is received, and in progress, the moment it is accepted.

use crate::domain::enums::RequestState;
use crate::entity::request;

/// A DRP status: state, reason and a sentence for the agent to show the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// `in_progress`, `fulfilled`, `denied` or `revoked`.
    pub status: &'static str,
    /// The reason the status table gives, if any.
    pub reason: Option<&'static str>,
    /// What is happening, in words (never anything an operator wrote).
    pub processing_details: Option<&'static str>,
}

impl Status {
    /// The status as one key (`status` or `status/reason`): a callback is due when it changes.
    pub fn key(&self) -> String {
        match self.reason {
            Some(reason) => format!("{}/{reason}", self.status),
            None => self.status.to_owned(),
        }
    }

    /// Whether no further status follows.
    pub fn is_final(&self) -> bool {
        matches!(self.status, "fulfilled" | "denied" | "revoked" | "expired")
    }
}

/// The DRP reason for Lethe's denial ground (the part of the denial reason before `:`).
pub fn denial_reason(ground: &str) -> &'static str {
    match ground {
        "insufficient_verification" => "insuf_verification",
        "excessive" => "too_many_requests",
        "legal_exception" => "claim_not_covered",
        "outside_jurisdiction" => "outside_jurisdiction",
        _ => "other",
    }
}

/// The status of `request`; `ground` is its denial ground when it was denied.
pub fn of(request: &request::Model, ground: Option<&str>) -> Status {
    let working = |details| Status { status: "in_progress", reason: None, processing_details: details };
    match request.state {
        RequestState::IdentityUnverified => Status {
            status: "in_progress",
            reason: Some("need_user_verification"),
            processing_details: Some("The person must confirm their e-mail address with the code sent to it."),
        },
        RequestState::PendingApproval | RequestState::Approved | RequestState::InProgress
            if request.extended_at.is_some() =>
        {
            working(Some("The deadline was extended, as the law allows."))
        }
        RequestState::PendingApproval | RequestState::Approved | RequestState::InProgress => working(None),
        RequestState::OnHold => working(Some("The request is on hold.")),
        RequestState::Failed => working(Some("The request is delayed while a problem is resolved.")),
        RequestState::Completed => Status { status: "fulfilled", reason: None, processing_details: None },
        RequestState::Denied => Status {
            status: "denied",
            reason: Some(denial_reason(ground.unwrap_or("other"))),
            processing_details: None,
        },
        RequestState::Canceled => Status { status: "revoked", reason: None, processing_details: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_grounds_map_to_the_protocols_reasons() {
        assert_eq!(denial_reason("insufficient_verification"), "insuf_verification");
        assert_eq!(denial_reason("excessive"), "too_many_requests");
        assert_eq!(denial_reason("manifestly_unfounded"), "other");
        assert_eq!(denial_reason("anything"), "other");
    }

    #[test]
    fn keys_name_state_and_reason() {
        let s = Status { status: "denied", reason: Some("no_match"), processing_details: None };
        assert_eq!((s.key(), s.is_final()), ("denied/no_match".to_owned(), true));
        let s = Status { status: "in_progress", reason: None, processing_details: None };
        assert_eq!((s.key(), s.is_final()), ("in_progress".to_owned(), false));
    }
}
