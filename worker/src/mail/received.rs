//! "We have received your request": sent once the person has confirmed their address.

use super::letter::{Branding, Letter, ToLetter};
use super::notice::RequestNotice;

/// The request is verified and on its way to the privacy team, with its legal due date.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The request.
    pub notice: RequestNotice,
}

impl ToLetter for ReceivedMail {
    fn branding(&self) -> &Branding {
        &self.notice.branding
    }

    fn letter(&self) -> Letter {
        self.notice.letter(&self.notice.branding.texts().received, Vec::new())
    }
}
