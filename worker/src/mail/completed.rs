//! "Your request is complete": sent when every store and recipient of a request is settled.

use super::letter::{Branding, Letter, ToLetter};
use super::notice::RequestNotice;

/// The request was completed.
#[derive(Debug, Clone)]
pub struct CompletedMail {
    /// The request.
    pub notice: RequestNotice,
}

impl ToLetter for CompletedMail {
    fn branding(&self) -> &Branding {
        &self.notice.branding
    }

    fn letter(&self) -> Letter {
        self.notice.letter(&self.notice.branding.texts().completed, Vec::new())
    }
}
