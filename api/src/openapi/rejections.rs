//! The answers Lethe's extractors ([`crate::extract`]) give before a handler runs, added to
//! every operation whose shape can produce them, so the document lists every status the server
//! can answer:
//!
//! * a path parameter that cannot be read (`/v1/requests/not-a-uuid`): `400 invalid_path`;
//! * a query string that cannot be read: `400 invalid_query`;
//! * a JSON body that is not JSON (`400 malformed_json`, `400 unreadable_body`), does not
//!   arrive within the body read timeout (`408 request_timeout`), is too large
//!   (`413 payload_too_large`), comes without `Content-Type: application/json`
//!   (`415 unsupported_media_type`) or does not fit the schema (`422 invalid_body`).
//!
//! Where an operation already documents the status (a handler's own `400` or `422`), the codes
//! are added to its description instead of replacing it. The Data Rights Protocol's endpoints
//! (tag `drp`) read their path and body without these extractors and document their own
//! answers, in the protocol's shape.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};

use super::responses::problem;

/// One answer an extractor can give: status and the codes it carries.
struct Rejection {
    status: &'static str,
    codes: &'static str,
}

const PATH: Rejection = Rejection { status: "400", codes: "`invalid_path`" };
const QUERY: Rejection = Rejection { status: "400", codes: "`invalid_query`" };
const BODY: [Rejection; 5] = [
    Rejection { status: "400", codes: "`malformed_json` or `unreadable_body`" },
    Rejection { status: "408", codes: "`request_timeout`" },
    Rejection { status: "413", codes: "`payload_too_large`" },
    Rejection { status: "415", codes: "`unsupported_media_type`" },
    Rejection { status: "422", codes: "`invalid_body`" },
];

/// Adds the extractors' answers to every operation of `doc`.
pub fn document(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
        for operation in operations.into_iter().flatten() {
            operation_rejections(operation);
        }
    }
}

fn operation_rejections(operation: &mut Operation) {
    if operation.tags.iter().flatten().any(|t| t == "drp") {
        return;
    }
    let mut found = Vec::new();
    for parameter in operation.parameters.iter().flatten() {
        if let RefOr::T(parameter) = parameter {
            match parameter.parameter_in {
                ParameterIn::Path => found.push(&PATH),
                ParameterIn::Query => found.push(&QUERY),
                _ => {}
            }
        }
    }
    if operation.request_body.is_some() {
        found.extend(BODY.iter());
    }
    for rejection in found {
        add(operation, rejection);
    }
}

fn add(operation: &mut Operation, rejection: &Rejection) {
    let responses = &mut operation.responses.responses;
    match responses.get_mut(rejection.status) {
        Some(RefOr::T(existing)) => {
            for code in rejection.codes.split(" or ") {
                if !existing.description.contains(code) {
                    existing.description.push_str(&format!(", or {code}"));
                }
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            responses.insert(rejection.status.to_owned(), problem(rejection.codes));
        }
    }
}
