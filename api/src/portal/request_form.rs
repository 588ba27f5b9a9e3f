//! The request form: what to ask for, the e-mail address (and the further identifiers the
//! organization asks for), where the person lives (choosing the law), an optional message and a
//! confirmation. Invalid input comes back with each error next to its field and everything
//! typed kept. A valid form is submitted through the JSON API's own handler
//! ([`intake::submit`], the service the JSON API uses too), so validation, rate limits (per client IP and per e-mail address) and
//! the answer are the API's: the same whether or not the organization knows the person.
//! A filled-in hidden field (a honeypot bots fill, people never see) refuses the form.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lethe_entities::domain::enums::{IdentityKind, RequestKind};
use lethe_entities::domain::identity::Identity;
use lethe_entities::entity::organization;
use lethe_worker::i18n::Locale;
use lethe_worker::portal_link;
use serde::Deserialize;

use super::chrome::{self, Chrome};
use super::countries::{self, COUNTRIES};
use super::language::Language;
use super::start::{KindChoice, kind_choices};
use super::texts::FormTexts;
use crate::error::ApiError;
use crate::services::intake::{self, MAX_MESSAGE_CHARS, SubmitRequest};
use crate::state::AppState;
use crate::web::form::Form;
use crate::web::visitor::Visitor;
use crate::web::{WebError, render};

/// The form as sent; every field may be missing (it is then empty).
#[derive(Debug, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    confirm: String,
    /// The honeypot: hidden from people, filled in by bots.
    #[serde(default)]
    website: String,
}

/// What the form shows in its fields.
#[derive(Debug, Default)]
pub struct Values {
    email: String,
    phone: String,
    customer_id: String,
    message: String,
    confirm: bool,
}

/// One error per field, in the page's language.
#[derive(Debug, Default)]
pub struct FieldErrors {
    email: Option<String>,
    phone: Option<String>,
    customer_id: Option<String>,
    country: Option<String>,
    kind: Option<String>,
    message: Option<String>,
    confirm: Option<String>,
    /// The hidden honeypot field was filled in.
    website: Option<String>,
}

/// One entry of the country list.
#[derive(Debug)]
pub struct CountryChoice {
    code: &'static str,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "portal/form.html")]
struct FormPage {
    chrome: Chrome,
    f: &'static FormTexts,
    values: Values,
    errors: FieldErrors,
    summary: Vec<(&'static str, String)>,
    kinds: Vec<KindChoice>,
    countries: Vec<CountryChoice>,
    ask_phone: bool,
    ask_customer_id: bool,
}

/// Query of the form page: a kind chosen on the start page.
#[derive(Debug, Default, Deserialize)]
pub struct FormQuery {
    kind: Option<String>,
}

fn form_page(
    org: &organization::Model,
    chrome: Chrome,
    values: Values,
    errors: FieldErrors,
    kind: &str,
    country: &str,
) -> Result<Response, WebError> {
    let f = &chrome.t.form;
    let summary = [
        ("email", &errors.email),
        ("phone", &errors.phone),
        ("customer_id", &errors.customer_id),
        ("country", &errors.country),
        ("kind", &errors.kind),
        ("message", &errors.message),
        ("confirm", &errors.confirm),
        ("website", &errors.website),
    ]
    .into_iter()
    .filter_map(|(field, e)| e.clone().map(|e| (field, e)))
    .collect::<Vec<_>>();
    let countries = COUNTRIES
        .iter()
        .map(|c| CountryChoice {
            code: c.code,
            name: chrome.t.countries.name(c.code).to_owned(),
            selected: c.code == country,
        })
        .collect();
    let page = FormPage {
        kinds: kind_choices(chrome.terms, Some(kind)),
        f,
        values,
        countries,
        ask_phone: org.portal_ask_phone,
        ask_customer_id: org.portal_ask_customer_id,
        summary,
        errors,
        chrome,
    };
    render(&page)
}

/// `GET /p/{slug}/request`: the empty form.
pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    axum::extract::Query(query): axum::extract::Query<FormQuery>,
    visitor: Visitor,
    language: Language,
) -> Response {
    let locale = language.locale(None);
    let path = format!("/p/{slug}/request");
    let org = chrome::organization(&state, &slug).await;
    let result = match &org {
        Ok(org) => {
            let chrome = Chrome::new(Some(org), locale, &path, &visitor);
            let country = countries::default_for(locale, language.region.as_deref());
            form_page(
                org,
                chrome,
                Values::default(),
                FieldErrors::default(),
                query.kind.as_deref().unwrap_or(""),
                country,
            )
        }
        Err(_) => Err(WebError::not_found()),
    };
    chrome::respond(result, org.as_ref().ok(), locale, &path, &visitor, &language)
}

/// `POST /p/{slug}/request`: checks the form, submits it, and goes on to verification.
pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    visitor: Visitor,
    language: Language,
    Form(form): Form<RequestForm>,
) -> Response {
    let locale = language.locale(None);
    let path = format!("/p/{slug}/request");
    let org = chrome::organization(&state, &slug).await;
    let result = match &org {
        Ok(org) => handle(&state, org, locale, &path, &visitor, form).await,
        Err(_) => Err(WebError::not_found()),
    };
    chrome::respond(result, org.as_ref().ok(), locale, &path, &visitor, &language)
}

async fn handle(
    state: &AppState,
    org: &organization::Model,
    locale: Locale,
    path: &str,
    visitor: &Visitor,
    form: RequestForm,
) -> Result<Response, WebError> {
    visitor.check(&state.keyring, &form.csrf)?;
    let chrome = Chrome::new(Some(org), locale, path, visitor);
    let texts = chrome.t;
    let f = &texts.form;
    let Checked { phone, customer_id, country, kind, mut errors } = check(org, &form, f);
    let values = Values {
        email: form.email.clone(),
        phone: form.phone.clone(),
        customer_id: form.customer_id.clone(),
        message: form.message.clone(),
        confirm: form.confirm == "yes",
    };
    let (Some(country), Some(kind)) = (country, kind) else {
        return invalid(org, chrome, values, errors, &form);
    };
    if !form.website.is_empty() {
        tracing::info!(organization_id = %org.id, "portal form refused: the honeypot field was filled in");
        errors.website = Some(f.honeypot.clone());
    }
    if has_errors(&errors) {
        return invalid(org, chrome, values, errors, &form);
    }
    let body = SubmitRequest {
        organization: org.slug.clone(),
        kind,
        regime: country.regime,
        email: form.email.clone(),
        phone,
        customer_id,
        message: Some(form.message.clone()),
        locale: Some(locale.code().to_owned()),
    };
    match intake::submit(state, &body).await {
        Ok(submitted) => {
            let token = portal_link::status_token(&state.keyring, submitted.id);
            Ok(Redirect::to(&format!("/p/{}/verify/{token}", org.slug)).into_response())
        }
        Err(e) if e.status() == StatusCode::TOO_MANY_REQUESTS => {
            errors.email = Some(f.err_too_many.clone());
            let mut response = invalid(org, chrome, values, errors, &form)?;
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Ok(response)
        }
        Err(e) => match field_error(e, &mut errors, f) {
            None => invalid(org, chrome, values, errors, &form),
            Some(e) => Err(e.into()),
        },
    }
}

/// The form as read: the identities asked for, the country and kind chosen, and what is wrong.
struct Checked {
    phone: Option<String>,
    customer_id: Option<String>,
    country: Option<countries::Country>,
    kind: Option<RequestKind>,
    errors: FieldErrors,
}

/// Reads and checks the form's fields (in the visitor's language, `f`).
fn check(org: &organization::Model, form: &RequestForm, f: &FormTexts) -> Checked {
    let mut errors = FieldErrors::default();
    let optional = |asked: bool, raw: &str| Some(raw.trim()).filter(|v| asked && !v.is_empty()).map(str::to_owned);
    let (phone, customer_id) =
        (optional(org.portal_ask_phone, &form.phone), optional(org.portal_ask_customer_id, &form.customer_id));
    if Identity::parse(IdentityKind::Email, &form.email).is_err() {
        errors.email = Some(f.err_email.clone());
    }
    if phone.as_deref().is_some_and(|p| Identity::parse(IdentityKind::Phone, p).is_err()) {
        errors.phone = Some(f.err_phone.clone());
    }
    if customer_id.as_deref().is_some_and(|c| Identity::parse(IdentityKind::CustomerId, c).is_err()) {
        errors.customer_id = Some(f.err_customer_id.clone());
    }
    let country = countries::find(&form.country);
    if country.is_none() {
        errors.country = Some(f.err_country.clone());
    }
    let kind = serde_json::from_value::<RequestKind>(serde_json::Value::String(form.kind.clone())).ok();
    if kind.is_none() {
        errors.kind = Some(f.err_kind.clone());
    }
    if form.message.trim().chars().count() > MAX_MESSAGE_CHARS {
        errors.message = Some(f.err_message.clone());
    }
    if form.confirm != "yes" {
        errors.confirm = Some(f.err_confirm.clone());
    }
    Checked { phone, customer_id, country, kind, errors }
}

fn has_errors(e: &FieldErrors) -> bool {
    [&e.email, &e.phone, &e.customer_id, &e.country, &e.kind, &e.message, &e.confirm, &e.website]
        .iter()
        .any(|f| f.is_some())
}

/// Puts the API's field errors next to the form's fields; returns the error if it is not one.
fn field_error(e: ApiError, errors: &mut FieldErrors, f: &FormTexts) -> Option<ApiError> {
    if e.field_errors().is_empty() {
        return Some(e);
    }
    for field in e.field_errors() {
        match field.field.as_str() {
            "email" => errors.email = Some(f.err_email.clone()),
            "phone" => errors.phone = Some(f.err_phone.clone()),
            "customer_id" => errors.customer_id = Some(f.err_customer_id.clone()),
            "message" => errors.message = Some(f.err_message.clone()),
            _ => return Some(e),
        }
    }
    None
}

fn invalid(
    org: &organization::Model,
    chrome: Chrome,
    values: Values,
    errors: FieldErrors,
    form: &RequestForm,
) -> Result<Response, WebError> {
    let mut response = form_page(org, chrome, values, errors, &form.kind, &form.country)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
