//! What the messages about a request's progress share: which request, its due date and the
//! link to its status page.

use lethe_entities::domain::enums::RequestKind;
use time::OffsetDateTime;

use super::letter::{Block, Branding, Letter};
use super::texts::NoticeTexts;
use crate::i18n::{Terms, fill};

/// The request a progress message is about.
#[derive(Debug, Clone)]
pub struct RequestNotice {
    /// The organization and the person's language.
    pub branding: Branding,
    /// What was asked for.
    pub kind: RequestKind,
    /// When the answer is due.
    pub due_at: OffsetDateTime,
    /// The portal's status page of the request.
    pub status_url: String,
}

impl RequestNotice {
    /// The kind of request in the person's language.
    pub fn kind_name(&self) -> String {
        Terms::of(self.branding.locale).kind(self.kind).name.clone()
    }

    /// A letter from `texts` with `extra` paragraphs after the body and the status link last.
    pub fn letter(&self, texts: &NoticeTexts, extra: Vec<Block>) -> Letter {
        let org = self.branding.organization.as_str();
        let due = Terms::of(self.branding.locale).date(self.due_at);
        let kind = self.kind_name();
        let mut blocks = vec![Block::Text(fill(&texts.body, &[("org", org), ("kind", &kind), ("due", &due)]))];
        blocks.extend(extra);
        blocks.push(self.status_link());
        Letter { subject: fill(&texts.subject, &[("org", org)]), blocks }
    }

    /// The link to the status page.
    pub fn status_link(&self) -> Block {
        Block::Link { label: self.branding.texts().status_link.clone(), url: self.status_url.clone() }
    }
}
