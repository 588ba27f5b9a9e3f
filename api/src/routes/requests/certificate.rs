//! The certificate of erasure of a completed erasure request: a JSON document signed with the
//! ledger's key (see [`lethe_entities::ledger::certificate`]), or its HTML rendering for people.
//! It holds no personal data, so every reader of the request may have it. The certificate is
//! gathered and signed by [`crate::services::certificates`]; this module answers with it.

use std::fmt::Write;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lethe_entities::domain::html::escape as esc;
use lethe_entities::ledger::certificate::{Certificate, Outcome, RecipientOutcome, SignedCertificate};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{PathParams, QueryParams};
use crate::openapi::responses::{Authenticated, InvalidQuery, RequestNotFound};
use crate::services;
use crate::state::AppState;

/// How the certificate is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateFormat {
    /// The signed JSON document.
    Json,
    /// A self-contained HTML page (no scripts, no external resources).
    Html,
}

/// Query of `GET /v1/requests/{id}/certificate`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CertificateQuery {
    /// `json` or `html`. Without it, HTML is returned when `Accept` names `text/html` before
    /// `application/json`, JSON otherwise.
    #[param(inline)]
    pub format: Option<CertificateFormat>,
}

/// Get the certificate of erasure.
///
/// For an erasure request in state `completed`: per store and table what was erased and how,
/// the rows (the ledger's counts, with each entry's sequence number), what was retained, on
/// which legal basis and until when, the recipients of the data told of it (GDPR Art. 19:
/// notified or waived, and when), the request's range of ledger entries, signed with the
/// ledger's Ed25519 key (`GET /v1/ledger/public-key`). No personal data: no identities and no
/// operator notes. Verify it offline with `lethe certificate verify FILE --public-key KEY`.
#[utoipa::path(
    get,
    path = "/v1/requests/{id}/certificate",
    tag = "requests",
    params(("id" = Uuid, Path, description = "Request id"), CertificateQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed certificate, or its HTML rendering", content(
            (SignedCertificate = "application/json"),
            (String = "text/html"),
        )),
        InvalidQuery,
        Authenticated,
        RequestNotFound,
        (status = 409, description = "`not_completed`: not an erasure request, or not completed yet", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_certificate(
    State(state): State<AppState>,
    principal: Principal,
    PathParams(id): PathParams<Uuid>,
    QueryParams(query): QueryParams<CertificateQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let signed = services::certificates::certificate(&state, &principal, id).await?;
    let format = query
        .format
        .unwrap_or_else(|| if prefers_html(&headers) { CertificateFormat::Html } else { CertificateFormat::Json });
    Ok(respond(signed, format))
}

/// The certificate as an answer in `format`: the signed JSON document, or its HTML rendering
/// with its own strict Content-Security-Policy (no script, inline style only); either varies
/// by `Accept`.
pub fn respond(signed: SignedCertificate, format: CertificateFormat) -> Response {
    let mut response = match format {
        CertificateFormat::Json => Json(signed).into_response(),
        CertificateFormat::Html => {
            let mut response = render_html(&signed).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            );
            response
        }
    };
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// Whether `Accept` names `text/html` before `application/json` (or without it).
fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    match (accept.find("text/html"), accept.find("application/json")) {
        (Some(html), Some(json)) => html < json,
        (html, _) => html.is_some(),
    }
}

/// What an erasure action did, in words.
fn action_words(action: &str) -> &'static str {
    match action {
        "delete_row" => "rows (or keys) deleted",
        "update" => "personal columns cleared or pseudonymised",
        "pseudonymise" => "kept rows pseudonymised",
        "null" => "values removed",
        "service_erase" => "erased by the store's own service (its count)",
        _ => "as the data map says",
    }
}

fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Erased => "Erased",
        Outcome::CompletedByOperator => "Completed by an operator (the note is kept on the request's timeline)",
        Outcome::Waived => "Waived by an admin (the reason is kept on the request's timeline)",
    }
}

fn recipient_words(outcome: RecipientOutcome) -> &'static str {
    match outcome {
        RecipientOutcome::Notified => "Notified by an operator (the note is kept on the request's timeline)",
        RecipientOutcome::Waived => "Waived by an admin (the reason is kept on the request's timeline)",
    }
}

/// The page's style: one column that reflows down to 320 px (long ids and words break inside
/// their cells).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;\
overflow-wrap:anywhere}table{border-collapse:collapse;margin:.5rem 0 1rem;max-width:100%}\
th,td{border:1px solid #bbb;padding:.3rem .6rem;text-align:left;overflow-wrap:anywhere}\
th{background:#f2f2f2}td.n{text-align:right}code,pre{font-family:ui-monospace,monospace;font-size:.9em}\
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto}.muted{color:#666}";

/// A self-contained page: inline style only, every value escaped.
fn render_html(signed: &SignedCertificate) -> String {
    let c = &signed.certificate;
    let mut h = String::new();
    html_head(&mut h, c);
    html_stores(&mut h, c);
    html_recipients(&mut h, c);
    html_ledger(&mut h, signed);
    h
}

/// The page's head, title and the request's facts.
fn html_head(h: &mut String, c: &Certificate) {
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Certificate of erasure {id}</title>\
         <style>{STYLE}</style></head><body>\n<h1>Certificate of erasure</h1>\n\
         <p>What was done, store by store, with the personal data of the data subject of erasure request \
         <code>{id}</code>. This certificate names no person.</p>\n<table>\
         <tr><th>Organization</th><td><code>{org}</code></td></tr>\
         <tr><th>Request</th><td><code>{id}</code></td></tr>\
         <tr><th>Regime</th><td>{regime}</td></tr>\
         <tr><th>Received</th><td>{received}</td></tr>\
         <tr><th>Completed</th><td>{completed}</td></tr>\
         <tr><th>Issued</th><td>{issued}</td></tr></table>\n",
        id = esc(&c.request_id.to_string()),
        org = esc(&c.organization_id.to_string()),
        regime =
            esc(&serde_json::to_value(c.regime).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()),
        received = esc(&c.received_at),
        completed = esc(&c.completed_at),
        issued = esc(&c.issued_at),
    );
}

/// Per store: its outcome, what was erased (with each ledger entry) and what was retained.
fn html_stores(h: &mut String, c: &Certificate) {
    for store in &c.stores {
        let _ = write!(
            h,
            "<h2>{name} <span class=\"muted\">({kind})</span></h2>\n<p><strong>{outcome}</strong></p>\n",
            name = esc(&store.store),
            kind = esc(store.kind.as_str()),
            outcome = esc(outcome_words(store.outcome)),
        );
        if store.erased.is_empty() {
            h.push_str("<p class=\"muted\">No rows erased by Lethe in this store.</p>\n");
        } else {
            h.push_str("<table><tr><th>Table</th><th>How</th><th>Rows</th><th>Ledger entry</th></tr>");
            for e in &store.erased {
                let _ = write!(
                    h,
                    "<tr><td><code>{table}</code></td><td>{words} (<code>{action}</code>)</td><td class=\"n\">{rows}</td><td class=\"n\">#{seq}</td></tr>",
                    table = esc(&e.table),
                    words = esc(action_words(&e.action)),
                    action = esc(&e.action),
                    rows = e.rows,
                    seq = e.ledger_seq,
                );
            }
            h.push_str("</table>\n");
        }
        if !store.retained.is_empty() {
            h.push_str(
                "<p>Retained under a legal obligation (pseudonymised as mapped):</p>\
                 <table><tr><th>Table</th><th>Rows</th><th>Basis</th><th>Period</th><th>Kept until</th></tr>",
            );
            for r in &store.retained {
                let _ = write!(
                    h,
                    "<tr><td><code>{table}</code></td><td class=\"n\">{rows}</td><td>{basis}</td><td>{period}</td><td>{until}</td></tr>",
                    table = esc(&r.table),
                    rows = r.rows,
                    basis = esc(&r.basis),
                    period = esc(&r.period),
                    until = esc(r.until.as_deref().unwrap_or("not known")),
                );
            }
            h.push_str("</table>\n");
        }
    }
}

/// The recipients told of the erasure (GDPR Art. 19), if any.
fn html_recipients(h: &mut String, c: &Certificate) {
    if !c.recipients.is_empty() {
        h.push_str(
            "<h2>Recipients notified (GDPR Art. 19)</h2>\n<table><tr><th>Recipient</th><th>Store</th><th>Outcome</th><th>When</th></tr>",
        );
        for r in &c.recipients {
            let _ = write!(
                h,
                "<tr><td>{recipient}</td><td><code>{store}</code></td><td>{outcome}</td><td>{at}</td></tr>",
                recipient = esc(&r.recipient),
                store = esc(&r.store),
                outcome = esc(recipient_words(r.outcome)),
                at = esc(&r.at),
            );
        }
        h.push_str("</table>\n");
    }
}

/// The request's range of ledger entries, the signature, how to verify it offline and the
/// signed document itself.
fn html_ledger(h: &mut String, signed: &SignedCertificate) {
    let c = &signed.certificate;
    let l = &c.ledger;
    let json = serde_json::to_string_pretty(signed).unwrap_or_default();
    let _ = write!(
        h,
        "<h2>Deletion ledger</h2>\n<p>Entries #{first} to #{last} of the organization's deletion ledger name this request \
         ({n} entries); entry #{closing} records its closing. Check them with <code>GET /v1/ledger/entries?request_id={id}</code> \
         and their inclusion proofs against a signed checkpoint.</p>\n\
         <h2>Signature</h2>\n<p>Ed25519, by the ledger's key <code>{key}</code>:</p><pre>{signature}</pre>\n\
         <h2>How to verify it offline</h2>\n<ol>\
         <li>Save the signed document below (or <code>GET /v1/requests/{id}/certificate</code> as JSON) as \
         <code>certificate.json</code>.</li>\
         <li>Take the public key you pinned (<code>GET /v1/ledger/public-key</code> or <code>lethe ledger public-key</code>); \
         its id must be <code>{key}</code>.</li>\
         <li>Run <code>lethe certificate verify certificate.json --public-key key.pem</code>: no database, no network.</li>\
         <li>Or by hand: the signature is Ed25519 over the bytes <code>lethe-certificate/v1\\n</code> followed by the \
         <code>certificate</code> object as canonical JSON (every object's keys sorted, no whitespace; RFC 8785).</li></ol>\n\
         <details><summary>Signed certificate (JSON)</summary><pre>{json}</pre></details>\n</body></html>\n",
        first = l.first_seq,
        last = l.last_seq,
        n = l.entries,
        closing = l.closing_seq,
        id = esc(&c.request_id.to_string()),
        key = esc(&c.key_id),
        signature = esc(&signed.signature),
        json = esc(&json),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn html_is_chosen_by_accept_order() {
        let accept = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_static(v));
            prefers_html(&h)
        };
        assert!(accept("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(!accept("application/json, text/html"));
        assert!(!accept("*/*"));
        assert!(!prefers_html(&HeaderMap::new()));
    }
}
