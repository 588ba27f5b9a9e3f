//! What every legal-hold form in the console asks (why, owner, matter, expiry), turned into the
//! API's new hold, and where the API's errors of those fields are shown.

use lethe_entities::entity::legal_hold::HoldScope;
use serde::Deserialize;
use time::Date;

use super::fields::{FieldErrors, Placement};
use crate::error::{ApiError, ApiResult};
use crate::services::holds::NewHold;

/// What every hold form asks: why, who owns it, the matter and when it lapses.
#[derive(Debug, Default, Deserialize)]
pub struct HoldDetails {
    /// Why.
    #[serde(default)]
    pub(super) reason: String,
    /// The owner's e-mail address (expiry warnings go there).
    #[serde(default)]
    pub(super) owner: String,
    /// The matter.
    #[serde(default)]
    pub(super) matter: String,
    /// A date (`2027-06-30`): the hold lapses at 00:00 UTC that day.
    #[serde(default)]
    pub(super) expires: String,
}

/// Where a hold form whose fields' ids start with `prefix` shows the API's errors of the
/// details.
fn detail_ids(prefix: &str) -> [(&'static str, String, &'static str); 4] {
    [
        ("reason", format!("{prefix}-reason"), "Why"),
        ("owner", format!("{prefix}-owner"), "Owner's e-mail"),
        ("matter", format!("{prefix}-matter"), "Matter"),
        ("expires_at", format!("{prefix}-expires"), "Expires"),
    ]
}

/// Places the API's field errors of `e` on a hold form whose fields' ids start with `prefix`,
/// and its `extra` fields.
pub(super) fn place_errors(
    errors: &mut FieldErrors,
    e: ApiError,
    prefix: &str,
    extra: &[Placement<'_>],
) -> ApiResult<()> {
    let ids = detail_ids(prefix);
    let details = ids.iter().map(|(api, id, label)| (*api, id.as_str(), *label));
    let placements: Vec<Placement<'_>> = details.chain(extra.iter().copied()).collect();
    errors.place(e, &placements)
}

impl HoldDetails {
    /// A new hold of `scope` with these details; an expiry that is no date is an error of the
    /// form's `{prefix}-expires` field.
    pub(super) fn hold(&self, scope: HoldScope, errors: &mut FieldErrors, prefix: &str) -> NewHold {
        let expires = self.expires.trim();
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let expires_at = match Date::parse(expires, &format) {
            _ if expires.is_empty() => None,
            Ok(day) => Some(day.midnight().assume_utc()),
            Err(_) => {
                errors.add(&format!("{prefix}-expires"), "Expires", "a date like 2027-06-30");
                None
            }
        };
        NewHold {
            scope,
            identity: None,
            store_id: None,
            table: None,
            reason: self.reason.clone(),
            owner: self.owner.trim().to_owned(),
            matter: Some(self.matter.trim().to_owned()).filter(|m| !m.is_empty()),
            expires_at,
        }
    }
}
