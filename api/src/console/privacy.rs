//! The settings page's privacy notice (admins): who the controller is, the data protection
//! officer's contact, the supervisory authority and the organization's automated
//! decision-making, which every access package tells the person. Saved through
//! [`crate::services::organization::update_settings`], as `PATCH /v1/organization` does, with an
//! audit event.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::entity::operator_event::OperatorEventKind;
use serde::Deserialize;

use super::session::Session;
use super::sign_in::record;
use crate::services::organization::privacy::PrivacyNoticeView;
use crate::services::organization::{self, OrganizationChange};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::{WebError, WebResult};

/// The notice's fields as the form shows them (empty for none).
pub struct PrivacyFields {
    /// The controller's legal name and address.
    pub controller: String,
    /// The data protection officer's contact.
    pub dpo_contact: String,
    /// The supervisory authority.
    pub supervisory_authority: String,
    /// Its web page.
    pub supervisory_authority_url: String,
    /// Automated decision-making.
    pub automated_decisions: String,
}

impl From<&PrivacyNoticeView> for PrivacyFields {
    fn from(v: &PrivacyNoticeView) -> Self {
        let text = |t: &Option<String>| t.clone().unwrap_or_default();
        Self {
            controller: text(&v.controller),
            dpo_contact: text(&v.dpo_contact),
            supervisory_authority: text(&v.supervisory_authority),
            supervisory_authority_url: text(&v.supervisory_authority_url),
            automated_decisions: text(&v.automated_decisions),
        }
    }
}

/// The privacy notice form (an empty field removes the value).
#[derive(Debug, Deserialize)]
pub struct PrivacyForm {
    csrf: String,
    #[serde(default)]
    controller: String,
    #[serde(default)]
    dpo_contact: String,
    #[serde(default)]
    supervisory_authority: String,
    #[serde(default)]
    supervisory_authority_url: String,
    #[serde(default)]
    automated_decisions: String,
}

/// `POST /console/settings/privacy`.
pub async fn save(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<PrivacyForm>,
) -> WebResult<Response> {
    session.check_csrf(&state, &form.csrf)?;
    let value = |text: &str| match text.trim() {
        "" => serde_json::Value::Null,
        text => text.into(),
    };
    let change: OrganizationChange = serde_json::from_value(serde_json::json!({ "privacy": {
        "controller": value(&form.controller),
        "dpo_contact": value(&form.dpo_contact),
        "supervisory_authority": value(&form.supervisory_authority),
        "supervisory_authority_url": value(&form.supervisory_authority_url),
        "automated_decisions": value(&form.automated_decisions),
    }}))
    .map_err(|e| WebError::internal(&e))?;
    let view = organization::update_settings(&state, &session.principal, change).await?;
    let set = |t: &Option<String>| if t.is_some() { "set" } else { "none" };
    let p = &view.privacy;
    let reason = format!(
        "privacy notice: controller {}, DPO contact {}, supervisory authority {} ({}), automated decisions {}",
        set(&p.controller),
        set(&p.dpo_contact),
        set(&p.supervisory_authority),
        set(&p.supervisory_authority_url),
        set(&p.automated_decisions),
    );
    record(&state, &session.operator, OperatorEventKind::OrganizationChanged, session.ip(), Some(&reason)).await;
    Ok(Redirect::to("/console/settings?done=privacy").into_response())
}
