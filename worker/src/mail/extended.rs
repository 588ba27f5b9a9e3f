//! "More time is needed": sent when an operator extends the deadline, with the reason the law
//! requires the person to be told.

use super::letter::{Block, Branding, Letter, ToLetter};
use super::notice::RequestNotice;
use crate::i18n::fill;

/// The deadline was extended; `notice.due_at` is the new one.
#[derive(Debug, Clone)]
pub struct ExtendedMail {
    /// The request.
    pub notice: RequestNotice,
    /// Why, as the operator wrote it for the person.
    pub reason: Option<String>,
}

impl ToLetter for ExtendedMail {
    fn branding(&self) -> &Branding {
        &self.notice.branding
    }

    fn letter(&self) -> Letter {
        let texts = self.notice.branding.texts();
        let extra = self.reason.iter().map(|r| Block::Text(fill(&texts.reason, &[("reason", r)]))).collect();
        self.notice.letter(&texts.extended, extra)
    }
}
