//! What every message to a data subject shares: the organization's branding (name, colour,
//! logo, privacy policy) and one layout, rendered as plain text and as HTML from the same
//! paragraphs, in the person's language. Values are escaped once, here.

use lethe_entities::domain::branding::is_colour;
use lethe_entities::entity::organization;

use super::texts::MailTexts;
use super::{Mail, escape_html};
use crate::i18n::{Locale, fill};

/// The organization as its messages show it.
#[derive(Debug, Clone)]
pub struct Branding {
    /// Display name.
    pub organization: String,
    /// Brand colour (`#rrggbb`), if set.
    pub colour: Option<String>,
    /// Absolute URL of the logo served by the portal, if the organization has one.
    pub logo_url: Option<String>,
    /// Privacy-policy URL, if set.
    pub privacy_policy_url: Option<String>,
    /// The language to write in.
    pub locale: Locale,
}

impl Branding {
    /// The branding of `org`, written in `locale`; links are on `public_url`.
    pub fn of(org: &organization::Model, public_url: &str, locale: Locale) -> Self {
        Self {
            organization: org.name.clone(),
            colour: org.portal_colour.clone(),
            logo_url: org
                .portal_logo
                .as_ref()
                .map(|_| format!("{}/p/{}/logo", public_url.trim_end_matches('/'), org.slug)),
            privacy_policy_url: org.privacy_policy_url.clone(),
            locale,
        }
    }

    /// Plain branding in English (no colour, logo or policy).
    pub fn plain(organization: &str) -> Self {
        Self {
            organization: organization.to_owned(),
            colour: None,
            logo_url: None,
            privacy_policy_url: None,
            locale: Locale::En,
        }
    }

    /// The message texts of this branding's language.
    pub fn texts(&self) -> &'static MailTexts {
        MailTexts::of(self.locale)
    }
}

/// One paragraph of a message.
#[derive(Debug, Clone)]
pub enum Block {
    /// Running text.
    Text(String),
    /// A code shown large, on its own line.
    Code(String),
    /// A link with its label.
    Link {
        /// What the link does.
        label: String,
        /// Where it goes.
        url: String,
    },
}

/// A message: a subject and its paragraphs, under the organization's branding.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The subject line.
    pub subject: String,
    /// The paragraphs after the greeting.
    pub blocks: Vec<Block>,
}

impl Letter {
    /// The plain-text body.
    pub fn text(&self, branding: &Branding) -> String {
        let texts = branding.texts();
        let mut out = format!("{}\n\n", texts.greeting);
        for block in &self.blocks {
            match block {
                Block::Text(t) => out.push_str(&format!("{t}\n\n")),
                Block::Code(c) => out.push_str(&format!("    {c}\n\n")),
                Block::Link { label, url } => out.push_str(&format!("{label}:\n{url}\n\n")),
            }
        }
        out.push_str("-- \n");
        out.push_str(&fill(&texts.footer, &[("org", &branding.organization)]));
        out.push('\n');
        if let Some(policy) = &branding.privacy_policy_url {
            out.push_str(&format!("{}: {policy}\n", texts.privacy_policy));
        }
        out
    }

    /// The HTML body (inline style only: mail clients load no stylesheets).
    pub fn html(&self, branding: &Branding) -> String {
        let texts = branding.texts();
        let colour = branding.colour.as_deref().filter(|c| is_colour(c)).unwrap_or("#0b5cad");
        let org = escape_html(&branding.organization);
        let mut out = format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{subject}</title></head>\
             <body style=\"margin:0;font-family:sans-serif;color:#1b1f24\">\
             <div style=\"border-top:6px solid {colour};padding:16px 24px\">",
            lang = branding.locale.code(),
            subject = escape_html(&self.subject),
        );
        match &branding.logo_url {
            Some(logo) => out.push_str(&format!(
                "<p><img src=\"{}\" alt=\"{org}\" style=\"max-height:48px\"></p>",
                escape_html(logo)
            )),
            None => out.push_str(&format!("<p style=\"font-weight:bold;font-size:1.2em\">{org}</p>")),
        }
        out.push_str(&format!("<p>{}</p>", escape_html(&texts.greeting)));
        for block in &self.blocks {
            match block {
                Block::Text(t) => out.push_str(&format!("<p>{}</p>", escape_html(t))),
                Block::Code(c) => out.push_str(&format!(
                    "<p style=\"font-size:1.6em;letter-spacing:0.2em\"><strong>{}</strong></p>",
                    escape_html(c)
                )),
                Block::Link { label, url } => out.push_str(&format!(
                    "<p><a href=\"{}\" style=\"color:{colour};font-weight:bold\">{}</a></p>",
                    escape_html(url),
                    escape_html(label)
                )),
            }
        }
        out.push_str(&format!(
            "<hr style=\"border:0;border-top:1px solid #c9ced6\"><p style=\"font-size:0.9em;color:#4a5360\">{}",
            escape_html(&fill(&texts.footer, &[("org", &branding.organization)]))
        ));
        if let Some(policy) = &branding.privacy_policy_url {
            out.push_str(&format!(
                " <a href=\"{}\" style=\"color:#4a5360\">{}</a>",
                escape_html(policy),
                escape_html(&texts.privacy_policy)
            ));
        }
        out.push_str("</p></div></body></html>");
        out
    }
}

/// A message to a data subject, built as a [`Letter`] under its branding: every such message
/// is a [`Mail`] with the same layout in text and HTML.
pub trait ToLetter {
    /// The organization and language.
    fn branding(&self) -> &Branding;
    /// The subject and paragraphs.
    fn letter(&self) -> Letter;
}

impl<T: ToLetter> Mail for T {
    fn subject(&self) -> String {
        self.letter().subject
    }

    fn text(&self) -> String {
        self.letter().text(self.branding())
    }

    fn html(&self) -> String {
        self.letter().html(self.branding())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bodies_carry_the_branding_and_escape_values() {
        let branding = Branding {
            organization: "Acme <AB>".into(),
            colour: Some("#aa3300".into()),
            logo_url: Some("https://privacy.example/p/acme/logo".into()),
            privacy_policy_url: Some("https://acme.example/privacy?a=1&b=2".into()),
            locale: Locale::De,
        };
        let letter = Letter {
            subject: "Betreff".into(),
            blocks: vec![
                Block::Text("<b>Text</b>".into()),
                Block::Code("012345".into()),
                Block::Link { label: "Los".into(), url: "https://x.example/?a=1&b=2".into() },
            ],
        };
        let html = letter.html(&branding);
        assert!(html.contains("lang=\"de\"") && html.contains("#aa3300") && html.contains("/p/acme/logo"));
        assert!(html.contains("Acme &lt;AB&gt;") && !html.contains("<b>Text"));
        assert!(html.contains("https://x.example/?a=1&amp;b=2"));
        let text = letter.text(&branding);
        assert!(text.contains("    012345\n") && text.contains("Los:\nhttps://x.example/?a=1&b=2"));
        assert!(text.contains("https://acme.example/privacy?a=1&b=2"));
        assert!(text.starts_with(&MailTexts::of(Locale::De).greeting));
    }
}
