//! The caller's organization and its settings: every operator role reads them, admins change
//! them. The organization is always the caller's own (there is no id to ask for another).
//! The customer portal's branding and form settings are part of them (`portal`), and so are
//! the deadlines (`deadlines`, in [`deadlines`]), and so is the privacy notice every access
//! package carries (`privacy`, in [`privacy`]).

mod change;
pub mod deadlines;
pub mod privacy;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lethe_entities::domain::branding;
use lethe_entities::entity::organization::{self, EXPORT_LINK_DAYS, MAX_LOGO_BYTES};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use self::change::{present, set_changed};
use self::deadlines::{DeadlinesChange, DeadlinesView};
use self::privacy::{PrivacyNoticeChange, PrivacyNoticeView};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::state::AppState;

/// The organization's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationView {
    /// Id.
    pub id: Uuid,
    /// Display name (read-only).
    pub name: String,
    /// URL-safe name used by public submissions (read-only).
    pub slug: String,
    /// Approve verified requests without an operator.
    pub auto_approve: bool,
    /// How long an access export's download link works, in days (1-365); `null`: the
    /// installation's default.
    pub export_link_days: Option<i32>,
    /// The lifetime that applies: `export_link_days`, or the installation's default
    /// (`LETHE_EXPORT_LINK_DAYS`).
    pub effective_export_link_days: i32,
    /// Every operator must sign in with a second factor (TOTP); those without one are sent to
    /// enrolment in the console after their password.
    pub mfa_required: bool,
    /// The `other` regime's deadlines and the console's due-soon window (changed by admins,
    /// for requests received afterwards), with the deadlines the law sets for the other regimes.
    pub deadlines: DeadlinesView,
    /// The customer portal's settings.
    pub portal: PortalView,
    /// What every access package tells the person besides their data.
    pub privacy: PrivacyNoticeView,
}

/// The customer portal's settings (`/p/{slug}/`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalView {
    /// The portal's address, relative to Lethe's public URL.
    #[schema(example = "/p/acme/")]
    pub path: String,
    /// The brand colour, `#rrggbb`; `null`: Lethe's blue.
    pub colour: Option<String>,
    /// The organization's privacy policy (`https://`), linked from every page and e-mail.
    pub privacy_policy_url: Option<String>,
    /// The uploaded logo's media type; `null`: no logo (the name is shown).
    pub logo_type: Option<String>,
    /// The request form asks for a phone number (optional for the person).
    pub ask_phone: bool,
    /// The request form asks for a customer number (optional for the person).
    pub ask_customer_id: bool,
    /// The portal publishes the yearly request metrics at `{path}metrics` (CCPA regulations
    /// § 7102).
    pub publish_metrics: bool,
}

impl OrganizationView {
    fn new(org: &organization::Model, state: &AppState) -> Self {
        let effective = org.export_link_ttl(state.settings.export_link_ttl).as_secs() / (24 * 3600);
        Self {
            id: org.id,
            name: org.name.clone(),
            slug: org.slug.clone(),
            auto_approve: org.auto_approve,
            export_link_days: org.export_link_days,
            effective_export_link_days: i32::try_from(effective).unwrap_or(i32::MAX),
            mfa_required: org.mfa_required,
            deadlines: DeadlinesView::of(org),
            portal: PortalView {
                path: format!("/p/{}/", org.slug),
                colour: org.portal_colour.clone(),
                privacy_policy_url: org.privacy_policy_url.clone(),
                logo_type: org.portal_logo_type.clone(),
                ask_phone: org.portal_ask_phone,
                ask_customer_id: org.portal_ask_customer_id,
                publish_metrics: org.portal_publish_metrics,
            },
            privacy: PrivacyNoticeView::of(org),
        }
    }
}

/// A logo upload: a PNG, JPEG or WebP image of at most 32 KiB.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoUpload {
    /// The image, base64 (standard alphabet, with padding).
    pub content_base64: String,
}

/// Changes to the customer portal's settings; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalChange {
    /// `#rrggbb`; `null` goes back to Lethe's blue.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "#aa3300")]
    pub colour: Option<Option<String>>,
    /// An `https://` URL; `null` removes the link.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub privacy_policy_url: Option<Option<String>>,
    /// A new logo; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<LogoUpload>)]
    pub logo: Option<Option<LogoUpload>>,
    /// Ask for a phone number.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub ask_phone: Option<Option<bool>>,
    /// Ask for a customer number.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub ask_customer_id: Option<Option<bool>>,
    /// Publish the yearly request metrics on the portal.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub publish_metrics: Option<Option<bool>>,
}

/// Changes to the organization's settings; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationChange {
    /// Approve verified requests without an operator.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub auto_approve: Option<Option<bool>>,
    /// Days an export link works (1-365); `null` goes back to the installation's default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    pub export_link_days: Option<Option<i32>>,
    /// Require a second factor of every operator.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub mfa_required: Option<Option<bool>>,
    /// The `other` regime's deadlines and the due-soon window; requests already received keep
    /// their due dates. The legal deadlines of the other regimes cannot be changed.
    #[serde(default)]
    pub deadlines: Option<DeadlinesChange>,
    /// The customer portal's settings.
    #[serde(default)]
    pub portal: Option<PortalChange>,
    /// What every access package tells the person besides their data.
    #[serde(default)]
    pub privacy: Option<PrivacyNoticeChange>,
}

async fn load(state: &AppState, principal: &Principal) -> ApiResult<organization::Model> {
    organization::Entity::find_by_id(principal.organization_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("organization_not_found", "no such organization"))
}

/// The caller's organization and its settings, with the export link lifetime that applies
/// (operators of every role, not API keys).
pub async fn get_settings(state: &AppState, principal: &Principal) -> ApiResult<OrganizationView> {
    principal.require(Permission::ReadOrganization)?;
    let org = load(state, principal).await?;
    Ok(OrganizationView::new(&org, state))
}

/// Changes the organization's settings (admins): the fields sent, each checked first. The name,
/// the slug and the deadlines the law sets cannot be changed; a new `other`-regime deadline
/// applies to requests received afterwards.
pub async fn update_settings(
    state: &AppState,
    principal: &Principal,
    change: OrganizationChange,
) -> ApiResult<OrganizationView> {
    principal.require(Permission::ManageOrganization)?;
    let mut errors = Vec::new();
    if change.auto_approve == Some(None) {
        errors.push(FieldError { field: "auto_approve".into(), message: "true or false".into() });
    }
    if change.mfa_required == Some(None) {
        errors.push(FieldError { field: "mfa_required".into(), message: "true or false".into() });
    }
    if let Some(Some(days)) = change.export_link_days
        && !EXPORT_LINK_DAYS.contains(&days)
    {
        errors.push(FieldError {
            field: "export_link_days".into(),
            message: format!(
                "between {} and {} days, or null for the default",
                EXPORT_LINK_DAYS.start(),
                EXPORT_LINK_DAYS.end()
            ),
        });
    }
    let deadlines = change.deadlines.unwrap_or_default();
    deadlines::validate(&deadlines, &mut errors);
    let portal = change.portal.unwrap_or_default();
    let logo = validate_portal(&portal, &mut errors);
    let notice = change.privacy.unwrap_or_default();
    privacy::validate(&notice, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let org = load(state, principal).await?;
    let mut changed = Vec::new();
    let mut active = org.clone().into_active_model();
    set_changed(
        &mut active.auto_approve,
        &org.auto_approve,
        change.auto_approve.flatten(),
        "auto_approve",
        &mut changed,
    );
    set_changed(
        &mut active.mfa_required,
        &org.mfa_required,
        change.mfa_required.flatten(),
        "mfa_required",
        &mut changed,
    );
    set_changed(
        &mut active.export_link_days,
        &org.export_link_days,
        change.export_link_days,
        "export_link_days",
        &mut changed,
    );
    deadlines::apply(&org, &deadlines, &mut active, &mut changed);
    apply_portal(&org, portal, logo, &mut active, &mut changed);
    privacy::apply(&org, &notice, &mut active, &mut changed);
    if changed.is_empty() {
        return Ok(OrganizationView::new(&org, state));
    }
    let org = active.update(&state.db).await?;
    tracing::info!(organization_id = %org.id, by = ?principal.actor().id, fields = ?changed, "organization settings changed");
    Ok(OrganizationView::new(&org, state))
}

/// Checks the portal's settings, adding field errors; returns the decoded logo and its type
/// when one was sent.
fn validate_portal(portal: &PortalChange, errors: &mut Vec<FieldError>) -> Option<(Vec<u8>, &'static str)> {
    let mut error = |field: &str, message: &str| {
        errors.push(FieldError { field: format!("portal.{field}"), message: message.into() });
    };
    if let Some(Some(colour)) = &portal.colour
        && !branding::is_colour(colour)
    {
        error("colour", "a colour as #rrggbb, or null");
    }
    if let Some(Some(url)) = &portal.privacy_policy_url
        && !branding::is_https_url(url)
    {
        error("privacy_policy_url", "an https:// URL of at most 2048 characters, or null");
    }
    for (field, value) in [
        ("ask_phone", portal.ask_phone),
        ("ask_customer_id", portal.ask_customer_id),
        ("publish_metrics", portal.publish_metrics),
    ] {
        if value == Some(None) {
            error(field, "true or false");
        }
    }
    let Some(Some(upload)) = &portal.logo else { return None };
    match STANDARD.decode(upload.content_base64.trim()) {
        Err(_) => error("logo.content_base64", "not base64"),
        Ok(bytes) if bytes.is_empty() || bytes.len() > MAX_LOGO_BYTES => {
            error("logo.content_base64", &format!("1 byte to {} KiB", MAX_LOGO_BYTES / 1024));
        }
        Ok(bytes) => match branding::logo_type(&bytes) {
            Some(media_type) => return Some((bytes, media_type)),
            None => error("logo.content_base64", "a PNG, JPEG or WebP image"),
        },
    }
    None
}

/// Sets the portal's changed settings on `active`, naming each in `changed`.
fn apply_portal(
    org: &organization::Model,
    portal: PortalChange,
    logo: Option<(Vec<u8>, &'static str)>,
    active: &mut organization::ActiveModel,
    changed: &mut Vec<&'static str>,
) {
    if let Some(colour) = portal.colour
        && colour != org.portal_colour
    {
        active.portal_colour = Set(colour.map(|c| c.to_ascii_lowercase()));
        changed.push("portal.colour");
    }
    set_changed(
        &mut active.privacy_policy_url,
        &org.privacy_policy_url,
        portal.privacy_policy_url,
        "portal.privacy_policy_url",
        changed,
    );
    set_changed(
        &mut active.portal_ask_phone,
        &org.portal_ask_phone,
        portal.ask_phone.flatten(),
        "portal.ask_phone",
        changed,
    );
    set_changed(
        &mut active.portal_ask_customer_id,
        &org.portal_ask_customer_id,
        portal.ask_customer_id.flatten(),
        "portal.ask_customer_id",
        changed,
    );
    set_changed(
        &mut active.portal_publish_metrics,
        &org.portal_publish_metrics,
        portal.publish_metrics.flatten(),
        "portal.publish_metrics",
        changed,
    );
    match (portal.logo, logo) {
        (Some(Some(_)), Some((bytes, media_type))) => {
            active.portal_logo = Set(Some(bytes));
            active.portal_logo_type = Set(Some(media_type.to_owned()));
            changed.push("portal.logo");
        }
        (Some(None), _) if org.portal_logo.is_some() => {
            active.portal_logo = Set(None);
            active.portal_logo_type = Set(None);
            changed.push("portal.logo");
        }
        _ => {}
    }
}
