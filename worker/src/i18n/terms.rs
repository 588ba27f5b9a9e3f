//! The words both the portal and the e-mails use: what can be asked for, where a request is
//! in plain words, and dates.

use std::sync::LazyLock;

use lethe_entities::domain::enums::{RequestKind, RequestState};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{Locale, load_all, pick};

/// The name and a plain description of one kind of request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindText {
    /// Short name ("A copy of my data").
    pub name: String,
    /// One sentence on what it means.
    pub description: String,
}

/// One text per kind of request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindTexts {
    /// Access / a copy (GDPR Art. 15, 20; CCPA right to know).
    pub access: KindText,
    /// Erasure.
    pub erasure: KindText,
    /// Rectification.
    pub rectification: KindText,
    /// Restriction of processing.
    pub restriction: KindText,
    /// Objection.
    pub objection: KindText,
    /// Opt-out of sale or sharing.
    pub opt_out: KindText,
}

/// A state in plain words, and what happens next.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateText {
    /// The state in a few words.
    pub name: String,
    /// What happens now.
    pub next: String,
}

/// One text per request state.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateTexts {
    /// `identity_unverified`.
    pub identity_unverified: StateText,
    /// `pending_approval`.
    pub pending_approval: StateText,
    /// `approved`.
    pub approved: StateText,
    /// `in_progress`.
    pub in_progress: StateText,
    /// `completed`.
    pub completed: StateText,
    /// `denied`.
    pub denied: StateText,
    /// `canceled`.
    pub canceled: StateText,
    /// `failed`.
    pub failed: StateText,
    /// `on_hold`.
    pub on_hold: StateText,
}

/// The standard grounds for refusing a request, in words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroundTexts {
    /// `insufficient_verification`.
    pub insufficient_verification: String,
    /// `manifestly_unfounded`.
    pub manifestly_unfounded: String,
    /// `excessive`.
    pub excessive: String,
    /// `legal_exception`.
    pub legal_exception: String,
    /// `outside_jurisdiction`.
    pub outside_jurisdiction: String,
    /// `other`.
    pub other: String,
}

/// The shared terms of one language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// Kinds of request.
    pub kinds: KindTexts,
    /// Request states.
    pub states: StateTexts,
    /// Denial grounds.
    pub grounds: GroundTexts,
    /// The right to complain to a supervisory authority (shown with every denial).
    pub complaint: String,
    /// Month names, January first.
    pub months: [String; 12],
    /// A date: `{day}`, `{month}`, `{year}`.
    pub date: String,
    /// A date and time: `{date}`, `{time}` (UTC).
    pub date_time: String,
}

static TERMS: LazyLock<Vec<(Locale, Terms)>> = LazyLock::new(|| load_all("terms"));

impl Terms {
    /// The terms of `locale`.
    pub fn of(locale: Locale) -> &'static Terms {
        pick(&TERMS, locale)
    }

    /// The text of a kind of request.
    pub fn kind(&self, kind: RequestKind) -> &KindText {
        match kind {
            RequestKind::Access => &self.kinds.access,
            RequestKind::Erasure => &self.kinds.erasure,
            RequestKind::Rectification => &self.kinds.rectification,
            RequestKind::Restriction => &self.kinds.restriction,
            RequestKind::Objection => &self.kinds.objection,
            RequestKind::OptOut => &self.kinds.opt_out,
        }
    }

    /// The text of a state.
    pub fn state(&self, state: RequestState) -> &StateText {
        let s = &self.states;
        match state {
            RequestState::IdentityUnverified => &s.identity_unverified,
            RequestState::PendingApproval => &s.pending_approval,
            RequestState::Approved => &s.approved,
            RequestState::InProgress => &s.in_progress,
            RequestState::Completed => &s.completed,
            RequestState::Denied => &s.denied,
            RequestState::Canceled => &s.canceled,
            RequestState::Failed => &s.failed,
            RequestState::OnHold => &s.on_hold,
        }
    }

    /// A stored denial reason (`<ground>: <text>` as the API records it) in words: the
    /// ground's sentence, then the operator's text.
    pub fn denial(&self, stored: &str) -> String {
        let (ground, detail) = match stored.split_once(": ") {
            Some((g, d)) => (g, Some(d)),
            None => (stored, None),
        };
        let g = &self.grounds;
        let sentence = match ground {
            "insufficient_verification" => &g.insufficient_verification,
            "manifestly_unfounded" => &g.manifestly_unfounded,
            "excessive" => &g.excessive,
            "legal_exception" => &g.legal_exception,
            "outside_jurisdiction" => &g.outside_jurisdiction,
            "other" => &g.other,
            _ => return stored.to_owned(),
        };
        match detail {
            Some(d) => format!("{sentence} {d}"),
            None => sentence.clone(),
        }
    }

    /// `at` as a date in words ("1 December 2026"), in UTC.
    pub fn date(&self, at: OffsetDateTime) -> String {
        let at = at.to_offset(time::UtcOffset::UTC);
        super::fill(
            &self.date,
            &[
                ("day", &at.day().to_string()),
                ("month", &self.months[usize::from(u8::from(at.month())) - 1]),
                ("year", &at.year().to_string()),
            ],
        )
    }

    /// `at` as a date and time in words ("1 December 2026 at 14:00 UTC").
    pub fn date_time(&self, at: OffsetDateTime) -> String {
        let utc = at.to_offset(time::UtcOffset::UTC);
        let clock = format!("{:02}:{:02}", utc.hour(), utc.minute());
        super::fill(&self.date_time, &[("date", &self.date(at)), ("time", &clock)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_term() {
        for locale in Locale::ALL {
            let terms = super::super::section::<Terms>(locale, "terms");
            assert!(terms.is_ok(), "{}: {:?}", locale.code(), terms.err());
        }
    }

    #[test]
    fn dates_are_in_words() {
        let at = time::macros::datetime!(2026-12-01 14:05 UTC);
        assert_eq!(Terms::of(Locale::En).date_time(at), "1 December 2026 at 14:05 UTC");
        assert_eq!(Terms::of(Locale::De).date(at), "1. Dezember 2026");
        assert_eq!(Terms::of(Locale::Sv).date(at), "1 december 2026");
        assert_eq!(Terms::of(Locale::De).state(RequestState::Completed).name, "Abgeschlossen");
        let en = Terms::of(Locale::En);
        assert_eq!(en.denial("legal_exception: Tax law."), "A legal exception applies. Tax law.");
        assert_eq!(en.denial("excessive"), en.grounds.excessive);
        assert_eq!(en.denial("free text"), "free text");
    }
}
