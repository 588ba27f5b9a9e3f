//! The OpenAPI document's frame: info, tags and the bearer security scheme. Paths and schemas
//! come from the `#[utoipa::path]` annotations on the handlers.

pub mod flattened;
pub mod rejections;
pub mod responses;

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lethe",
        description = "Data-subject requests (access, erasure and more) and retention, with deadlines, \
identity verification and an audit trail.\n\nErrors are RFC 9457 problem documents \
(`application/problem+json`) with a stable `code`.\n\nOperators authenticate with \
`Authorization: Bearer <token>` from `POST /v1/auth/login`; integrations with \
`Authorization: Bearer lethe_<prefix>_<secret>` (an API key).",
        license(name = "Apache-2.0"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "intake", description = "Public: submit a request and verify the requester's e-mail address"),
        (name = "requests", description = "Work requests: list, read, approve, deny, extend, cancel, retry"),
        (name = "auth", description = "Operator sign-in"),
        (name = "operators", description = "Operator accounts (admin)"),
        (name = "api-keys", description = "API keys for integrations (admin)"),
        (name = "organization", description = "The caller's organization and its settings (read: operators; change: admin)"),
        (name = "stores", description = "Registered stores: connections (write-only secrets), tests, discovery, data maps, Fides import, preview"),
        (name = "ledger", description = "The deletion ledger: entries, signed checkpoints, proofs, public key, subject lookup"),
        (name = "retention", description = "Retention policies (checked against the live schema), previews, runs now and on schedule, run history"),
        (name = "holds", description = "Legal holds on a subject, a table, a store or the organization: placed, listed, released with a reason"),
        (name = "webhooks", description = "Outbound webhook endpoints (Standard Webhooks signatures): events, secrets shown once and rotated with overlap, delivery log, redelivery, test ping"),
        (name = "drp-agents", description = "Authorized agents of the Data Rights Protocol 1.0, registered by admins"),
        (name = "drp", description = "The Data Rights Protocol 1.0 endpoints agents call: token setup, signed requests, status, revocation (answers and errors in the protocol's shapes)"),
        (name = "reports", description = "Yearly request metrics (CCPA regulations § 7102) as JSON or CSV: counts and days, no personal data"),
        (name = "exports", description = "Public: download an access package through the link e-mailed to the data subject"),
        (name = "system", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT (HS512) or API key")
                    .description(Some("An operator access token or an API key"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "drp_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An authorized agent's token from POST /v1/agent/{agent_id} (Data Rights Protocol)",
                    ))
                    .build(),
            ),
        );
    }
}
