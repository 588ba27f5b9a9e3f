//! The identity-verification code message.

use super::letter::{Block, Branding, Letter, ToLetter};
use crate::i18n::fill;

/// "Your verification code": sent when a request is submitted or a new code is asked for.
#[derive(Clone)]
pub struct VerificationCodeMail {
    /// The organization and the person's language.
    pub branding: Branding,
    /// The 6-digit code.
    pub code: String,
    /// Minutes until the code expires.
    pub ttl_minutes: u64,
    /// The portal's confirmation page with the code filled in, if the request has a portal.
    pub verify_url: Option<String>,
}

impl ToLetter for VerificationCodeMail {
    fn branding(&self) -> &Branding {
        &self.branding
    }

    fn letter(&self) -> Letter {
        let t = &self.branding.texts().verification;
        let org = self.branding.organization.as_str();
        let mut blocks = vec![Block::Text(fill(&t.intro, &[("org", org)])), Block::Code(self.code.clone())];
        if let Some(url) = &self.verify_url {
            blocks.push(Block::Link { label: t.link.clone(), url: url.clone() });
        }
        blocks.push(Block::Text(fill(&t.ttl, &[("minutes", &self.ttl_minutes.to_string())])));
        Letter { subject: fill(&t.subject, &[("org", org), ("code", &self.code)]), blocks }
    }
}
