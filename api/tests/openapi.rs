//! The checked-in `openapi/openapi.json` must equal the generated document.
//!
//! Regenerate it with `LETHE_UPDATE_OPENAPI=1 cargo test -p lethe-api --test openapi`
//! (or `cargo run --release -- openapi > openapi/openapi.json`).

use std::path::PathBuf;

#[test]
fn checked_in_openapi_document_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let generated = format!("{}\n", lethe_api::routes::openapi_document().to_pretty_json().unwrap());
    if std::env::var_os("LETHE_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "openapi/openapi.json is stale: run `LETHE_UPDATE_OPENAPI=1 cargo test -p lethe-api --test openapi` and commit it"
    );
}

#[test]
fn every_operation_documents_its_errors_and_is_described() {
    let doc: serde_json::Value =
        serde_json::from_str(&lethe_api::routes::openapi_document().to_json().unwrap()).unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            let responses = op["responses"].as_object().unwrap();
            if path.starts_with("/v1/") {
                let errors = responses.keys().filter(|code| code.starts_with('4')).count();
                assert!(errors > 0, "{method} {path} documents no error response");
                // The Data Rights Protocol's endpoints answer in the protocol's shape (its error
                // object; a failed key setup has no body); the rate limit is Lethe's.
                let protocol = op["tags"].as_array().is_some_and(|tags| tags.iter().any(|t| t == "drp"));
                for (code, response) in responses.iter().filter(|(code, _)| code.starts_with('4')) {
                    let content = &response["content"];
                    let documented = content["application/problem+json"].is_object()
                        || (protocol
                            && (content["application/json"]["schema"]["$ref"] == "#/components/schemas/DrpProblem"
                                || content.is_null()));
                    assert!(documented, "{method} {path} {code} is not documented as problem+json");
                }
            }
        }
    }
    assert!(operations >= 20, "{operations} operations");
}

/// Every `$ref` in the document names a schema the document defines (a dangling reference makes
/// generated clients and fuzzers fail on the operation).
#[test]
fn every_reference_resolves() {
    let doc: serde_json::Value =
        serde_json::from_str(&lethe_api::routes::openapi_document().to_json().unwrap()).unwrap();
    let defined = doc["components"]["schemas"].as_object().unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    let dangling: Vec<_> = refs
        .iter()
        .filter(|r| !r.strip_prefix("#/components/schemas/").is_some_and(|name| defined.contains_key(name)))
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

fn collect_refs(value: &serde_json::Value, refs: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", serde_json::Value::String(target)) => refs.push(target.clone()),
                    _ => collect_refs(value, refs),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

/// No `allOf` has a member that refuses unknown properties (`additionalProperties: false`): the
/// other members' properties would be unknown to it, so no answer could match the schema.
#[test]
fn no_composition_forbids_its_own_fields() {
    let doc: serde_json::Value =
        serde_json::from_str(&lethe_api::routes::openapi_document().to_json().unwrap()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let resolve = |member: &serde_json::Value| match member["$ref"].as_str() {
        Some(target) => schemas[target.trim_start_matches("#/components/schemas/")].clone(),
        None => member.clone(),
    };
    for (name, schema) in schemas {
        for member in schema["allOf"].as_array().into_iter().flatten() {
            assert_ne!(resolve(member)["additionalProperties"], serde_json::json!(false), "{name}'s allOf is closed");
        }
    }
}

/// The answers the extractors give before any handler runs are documented wherever they can
/// happen: `400` for an unreadable path or query parameter (headers are the handlers' own); `400`, `408`, `413`, `415` and `422`
/// for a JSON body.
#[test]
fn extractor_rejections_are_documented() {
    let doc: serde_json::Value =
        serde_json::from_str(&lethe_api::routes::openapi_document().to_json().unwrap()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // The Data Rights Protocol's endpoints read path and body without the extractors.
            if op["tags"].as_array().is_some_and(|tags| tags.iter().any(|t| t == "drp")) {
                continue;
            }
            let responses = op["responses"].as_object().unwrap();
            let mut expected = Vec::new();
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                match parameter["in"].as_str() {
                    Some("path") => expected.push(("400", "invalid_path")),
                    Some("query") => expected.push(("400", "invalid_query")),
                    // Headers are read by the handler, which documents its own answer.
                    _ => {}
                }
            }
            if op["requestBody"].is_object() {
                expected.extend([
                    ("400", "malformed_json"),
                    ("408", "request_timeout"),
                    ("413", "payload_too_large"),
                    ("415", "unsupported_media_type"),
                    ("422", "invalid_body"),
                ]);
            }
            for (status, code) in expected {
                let description = responses.get(status).and_then(|r| r["description"].as_str()).unwrap_or("");
                assert!(description.contains(code), "{method} {path} does not document {status} `{code}`");
            }
        }
    }
}
