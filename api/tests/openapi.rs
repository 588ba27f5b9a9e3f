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
                for (code, response) in responses.iter().filter(|(code, _)| code.starts_with('4')) {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {code} is not documented as problem+json"
                    );
                }
            }
        }
    }
    assert!(operations >= 20, "{operations} operations");
}
