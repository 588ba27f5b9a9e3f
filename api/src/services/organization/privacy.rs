//! What the organization tells a person in every access package besides their data (GDPR Art.
//! 15(1)–(2)): who the controller is, how to reach its data protection officer, where to
//! complain, and its automated decision-making. The data map says the rest per table (purposes,
//! legal bases, sources, recipients, transfers, retention).

use lethe_entities::domain::branding;
use lethe_entities::entity::organization;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::change::{present, set_changed};
use crate::error::FieldError;

/// The longest controller, contact or authority text.
const MAX_SHORT: usize = 500;
/// The longest description of automated decision-making.
const MAX_LONG: usize = 4000;

/// The privacy notice the access package carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyNoticeView {
    /// The controller's legal name and postal address; `null`: the display name only.
    #[schema(example = "Acme AB, Box 1, 111 22 Stockholm, Sweden")]
    pub controller: Option<String>,
    /// How to reach the data protection officer (a role mailbox, a URL or an address).
    #[schema(example = "dpo@acme.example")]
    pub dpo_contact: Option<String>,
    /// The supervisory authority a complaint goes to.
    #[schema(example = "Integritetsskyddsmyndigheten (IMY)")]
    pub supervisory_authority: Option<String>,
    /// The authority's web page (`https://`).
    #[schema(example = "https://www.imy.se/")]
    pub supervisory_authority_url: Option<String>,
    /// Automated decision-making, including profiling, with its logic and consequences;
    /// `null`: none (the package says so).
    pub automated_decisions: Option<String>,
}

impl PrivacyNoticeView {
    /// The organization's notice.
    pub fn of(org: &organization::Model) -> Self {
        Self {
            controller: org.controller.clone(),
            dpo_contact: org.dpo_contact.clone(),
            supervisory_authority: org.supervisory_authority.clone(),
            supervisory_authority_url: org.supervisory_authority_url.clone(),
            automated_decisions: org.automated_decisions.clone(),
        }
    }
}

/// Changes to the privacy notice; fields left out stay as they are, `null` removes one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivacyNoticeChange {
    /// The controller's legal name and postal address (at most 500 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub controller: Option<Option<String>>,
    /// How to reach the data protection officer (at most 500 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub dpo_contact: Option<Option<String>>,
    /// The supervisory authority, by name (at most 500 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub supervisory_authority: Option<Option<String>>,
    /// The authority's web page, an `https://` URL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub supervisory_authority_url: Option<Option<String>>,
    /// Automated decision-making (at most 4000 characters); `null`: none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub automated_decisions: Option<Option<String>>,
}

/// A text as stored: trimmed, and nothing for an empty one.
fn tidy(value: &Option<Option<String>>) -> Option<Option<String>> {
    value.as_ref().map(|v| v.as_ref().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()))
}

/// Checks the change, adding field errors under `privacy.`.
pub fn validate(change: &PrivacyNoticeChange, errors: &mut Vec<FieldError>) {
    let texts = [
        ("controller", &change.controller, MAX_SHORT),
        ("dpo_contact", &change.dpo_contact, MAX_SHORT),
        ("supervisory_authority", &change.supervisory_authority, MAX_SHORT),
        ("automated_decisions", &change.automated_decisions, MAX_LONG),
    ];
    for (field, value, max) in texts {
        if let Some(Some(text)) = tidy(value)
            && (text.chars().count() > max || text.chars().any(|c| c.is_control() && c != '\n' && c != '\r'))
        {
            errors.push(FieldError {
                field: format!("privacy.{field}"),
                message: format!("at most {max} printable characters, or null"),
            });
        }
    }
    if let Some(Some(url)) = tidy(&change.supervisory_authority_url)
        && !branding::is_https_url(&url)
    {
        errors.push(FieldError {
            field: "privacy.supervisory_authority_url".into(),
            message: "an https:// URL of at most 2048 characters, or null".into(),
        });
    }
}

/// Sets the changed fields on `active`, naming each in `changed`.
pub fn apply(
    org: &organization::Model,
    change: &PrivacyNoticeChange,
    active: &mut organization::ActiveModel,
    changed: &mut Vec<&'static str>,
) {
    set_changed(&mut active.controller, &org.controller, tidy(&change.controller), "privacy.controller", changed);
    set_changed(&mut active.dpo_contact, &org.dpo_contact, tidy(&change.dpo_contact), "privacy.dpo_contact", changed);
    set_changed(
        &mut active.supervisory_authority,
        &org.supervisory_authority,
        tidy(&change.supervisory_authority),
        "privacy.supervisory_authority",
        changed,
    );
    set_changed(
        &mut active.supervisory_authority_url,
        &org.supervisory_authority_url,
        tidy(&change.supervisory_authority_url),
        "privacy.supervisory_authority_url",
        changed,
    );
    set_changed(
        &mut active.automated_decisions,
        &org.automated_decisions,
        tidy(&change.automated_decisions),
        "privacy.automated_decisions",
        changed,
    );
}
