//! Organizations: the tenants. Every other row belongs to exactly one.

use std::ops::RangeInclusive;
use std::time::Duration;

use sea_orm::entity::prelude::*;

use crate::domain::deadline::OrgDeadlineDefaults;

/// The days an export link may work, for the installation's default and for an organization.
pub const EXPORT_LINK_DAYS: RangeInclusive<i32> = 1..=365;

/// The days an organization may give requests under the `other` regime to be answered.
pub const OTHER_DEADLINE_DAYS: RangeInclusive<i32> = 1..=365;

/// The days one extension of an `other`-regime request may add (0: no extension).
pub const OTHER_EXTENSION_DAYS: RangeInclusive<i32> = 0..=365;

/// The days before its due date from which a request counts as due soon in the console.
pub const DUE_SOON_DAYS: RangeInclusive<i32> = 1..=60;

/// [`Model::due_soon_days`] of a new organization.
pub const DEFAULT_DUE_SOON_DAYS: i32 = 7;

/// The largest portal logo accepted, in bytes.
pub const MAX_LOGO_BYTES: usize = 32 * 1024;

/// An organization and its request-handling settings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL-safe unique name, used by the portal and by public submissions.
    #[sea_orm(unique)]
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Approve verified requests without an operator.
    pub auto_approve: bool,
    /// Deadline in days for the `other` regime ([`OTHER_DEADLINE_DAYS`]); a request gets its
    /// due date when it is received, so a change applies to requests received afterwards.
    pub default_deadline_days: i32,
    /// Extension in days for the `other` regime ([`OTHER_EXTENSION_DAYS`], 0 = none), added to a
    /// request's original due date when an extension is granted.
    pub default_extension_days: i32,
    /// A request due within this many days is marked due soon in the console's queue
    /// ([`DUE_SOON_DAYS`]).
    pub due_soon_days: i32,
    /// How long an access export's link works, in days ([`EXPORT_LINK_DAYS`]); `None`: the
    /// installation's default (`LETHE_EXPORT_LINK_DAYS`).
    pub export_link_days: Option<i32>,
    /// Every operator must sign in with a second factor (TOTP); operators without one are sent
    /// to enrolment after their password.
    pub mfa_required: bool,
    /// The portal's logo (PNG, JPEG or WebP, at most [`MAX_LOGO_BYTES`]), served by the portal
    /// itself so the pages' Content-Security-Policy allows it.
    pub portal_logo: Option<Vec<u8>>,
    /// The logo's media type (`image/png`, `image/jpeg`, `image/webp`).
    pub portal_logo_type: Option<String>,
    /// The portal's brand colour, `#rrggbb`.
    pub portal_colour: Option<String>,
    /// The organization's privacy policy (`https://`), linked from every portal page.
    pub privacy_policy_url: Option<String>,
    /// The request form asks for a phone number (optional for the person).
    pub portal_ask_phone: bool,
    /// The request form asks for a customer number (optional for the person).
    pub portal_ask_customer_id: bool,
    /// The controller's legal name and postal address, as the access package names it (Art.
    /// 15, Art. 13(1)(a)); `None`: the display name only.
    pub controller: Option<String>,
    /// How to reach the data protection officer (a role mailbox, a URL or an address).
    pub dpo_contact: Option<String>,
    /// The supervisory authority a complaint goes to (Art. 15(1)(f)), by name.
    pub supervisory_authority: Option<String>,
    /// The supervisory authority's web page (`https://`).
    pub supervisory_authority_url: Option<String>,
    /// The organization's automated decision-making, including profiling, with its logic and
    /// consequences (Art. 15(1)(h)); `None`: there is none (the data map may name more per
    /// table).
    pub automated_decisions: Option<String>,
    /// The customer portal publishes the yearly request metrics (`/p/{slug}/metrics`), as CCPA
    /// regulations § 7102 ask of large businesses.
    pub portal_publish_metrics: bool,
    /// When the organization was created.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations of an organization.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The fallback deadlines for the `other` regime.
    pub fn deadline_defaults(&self) -> OrgDeadlineDefaults {
        OrgDeadlineDefaults {
            days: u16::try_from(self.default_deadline_days).unwrap_or(30),
            extension_days: u16::try_from(self.default_extension_days).unwrap_or(0),
        }
    }

    /// How long this organization's export links work: its own setting, or `default`.
    pub fn export_link_ttl(&self, default: Duration) -> Duration {
        match self.export_link_days.filter(|d| EXPORT_LINK_DAYS.contains(d)) {
            Some(days) => Duration::from_secs(days as u64 * 24 * 3600),
            None => default,
        }
    }

    /// Finds an organization by slug.
    pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<Self>, DbErr> {
        Entity::find().filter(Column::Slug.eq(slug)).one(db).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_link_lifetime_is_the_organizations_or_the_default() {
        let mut org = Model {
            id: Uuid::nil(),
            slug: "acme".into(),
            name: "Acme".into(),
            auto_approve: false,
            default_deadline_days: 30,
            default_extension_days: 0,
            due_soon_days: DEFAULT_DUE_SOON_DAYS,
            export_link_days: None,
            mfa_required: false,
            portal_logo: None,
            portal_logo_type: None,
            portal_colour: None,
            privacy_policy_url: None,
            portal_ask_phone: false,
            portal_ask_customer_id: false,
            controller: None,
            dpo_contact: None,
            supervisory_authority: None,
            supervisory_authority_url: None,
            automated_decisions: None,
            portal_publish_metrics: false,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let week = Duration::from_secs(7 * 24 * 3600);
        assert_eq!(org.export_link_ttl(week), week);
        org.export_link_days = Some(2);
        assert_eq!(org.export_link_ttl(week), Duration::from_secs(2 * 24 * 3600));
        // A value outside the range (written around the API) falls back to the default.
        org.export_link_days = Some(0);
        assert_eq!(org.export_link_ttl(week), week);
    }
}
