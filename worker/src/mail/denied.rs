//! "Your request was refused": sent when an operator denies a request, with the reason and the
//! person's right to complain to a supervisory authority.

use super::letter::{Block, Branding, Letter, ToLetter};
use super::notice::RequestNotice;
use crate::i18n::{Terms, fill};

/// The request was denied.
#[derive(Debug, Clone)]
pub struct DeniedMail {
    /// The request.
    pub notice: RequestNotice,
    /// The reason in the person's language: the ground's sentence and the operator's text.
    pub reason: String,
}

impl ToLetter for DeniedMail {
    fn branding(&self) -> &Branding {
        &self.notice.branding
    }

    fn letter(&self) -> Letter {
        let branding = &self.notice.branding;
        let t = &branding.texts().denied;
        let org = branding.organization.as_str();
        let kind = self.notice.kind_name();
        Letter {
            subject: fill(&t.subject, &[("org", org)]),
            blocks: vec![
                Block::Text(fill(&t.body, &[("org", org), ("kind", &kind)])),
                Block::Text(fill(&branding.texts().reason, &[("reason", &self.reason)])),
                Block::Text(Terms::of(branding.locale).complaint.clone()),
                self.notice.status_link(),
            ],
        }
    }
}
