//! Tests of [`super`] (validate).

use super::*;
use crate::datamap::parse::from_yaml;

fn check(yaml: &str) -> Vec<MapError> {
    let (map, _) = from_yaml(yaml).unwrap();
    validate(&map, Context { kind: StoreKind::Postgres, other_stores: &["crm".to_owned()] })
}

#[test]
fn durations() {
    for good in ["P10Y", "P1Y6M", "P30D", "PT12H", "P2W", "P1DT1S"] {
        assert!(is_iso8601_duration(good), "{good}");
    }
    for bad in ["", "P", "10Y", "P0D", "PT", "P1H", "PY", "P1M1Y", "P-1D", "p1y"] {
        assert!(!is_iso8601_duration(bad), "{bad}");
    }
}

#[test]
fn durations_are_added_by_the_calendar() {
    use time::macros::datetime;
    let at = datetime!(2024-01-31 12:00 UTC);
    assert_eq!(add_duration(at, "P1M"), Some(datetime!(2024-02-29 12:00 UTC)));
    assert_eq!(add_duration(at, "P10Y"), Some(datetime!(2034-01-31 12:00 UTC)));
    assert_eq!(add_duration(at, "P1Y1M2DT3H"), Some(datetime!(2025-03-02 15:00 UTC)));
    assert_eq!(add_duration(at, "P2W"), Some(datetime!(2024-02-14 12:00 UTC)));
    assert_eq!(add_duration(at, "ten years"), None);
    let at = datetime!(2024-03-31 12:00 UTC);
    assert_eq!(subtract_duration(at, "P1M"), Some(datetime!(2024-02-29 12:00 UTC)));
    assert_eq!(subtract_duration(at, "P14DT2H"), Some(datetime!(2024-03-17 10:00 UTC)));
}

#[test]
fn a_good_map_passes() {
    let errors = check(
        r#"
version: 1
tables:
  - name: customers
    primary_key: [id]
    columns:
      - { name: email, identity: email, category: user.contact.email }
  - name: orders
    primary_key: [id]
    references:
      - { column: customer_id, target: { table: customers, column: id }, direction: from }
      - { column: crm_id, target: { store: crm, table: contacts, column: id }, direction: to }
  - name: invoices
    primary_key: [id]
    erasure: { action: keep, basis: "Tax law", period: P10Y }
    columns:
      - { name: name, action: redact, redact_with: "[erased]" }
"#,
    );
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn mistakes_are_named_precisely() {
    let errors = check(
        r#"
version: 2
tables:
  - name: customers
    primary_key: []
    columns:
      - { name: email, category: user.made_up, match: exact }
      - { name: email }
  - name: customers
    primary_key: [id, id]
    erasure: { action: update }
    references:
      - { column: rep_id, target: { table: employees, column: id }, direction: none }
      - { column: x, target: { store: nowhere, table: t, column: id }, direction: from }
  - name: invoices
    primary_key: [id]
    erasure: { action: keep, basis: " ", period: ten years }
"#,
    );
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "version",
            "tables[0].primary_key",
            "tables[0].columns[0].category",
            "tables[0].columns[0].match",
            "tables[0].columns[1].name",
            "tables[1].name",
            "tables[1].primary_key[1]",
            "tables[1].erasure",
            "tables[1].references[0].target.table",
            "tables[1].references[1].target.store",
            "tables[2].erasure.basis",
            "tables[2].erasure.period",
        ],
        "{errors:#?}"
    );
}

#[test]
fn recipients_are_checked_against_the_map() {
    let good = check(
        r#"
version: 1
tables:
  - name: customers
    primary_key: [id]
    columns: [{ name: email, identity: email }]
recipients:
  - name: Mailchimp
    contact: https://mailchimp.com/contact/
    instructions: Delete the contact from the audience.
    tables: [customers]
  - { name: Zendesk, instructions: "Open a deletion ticket." }
"#,
    );
    assert!(good.is_empty(), "{good:#?}");
    let errors = check(
        r#"
version: 1
tables:
  - name: customers
    primary_key: [id]
recipients:
  - name: Mailchimp
    contact: " "
    instructions: " "
    tables: [customers, orders, customers]
  - { name: mailchimp, instructions: Again }
  - { name: "", instructions: Who }
"#,
    );
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "recipients[0].contact",
            "recipients[0].instructions",
            "recipients[0].tables[1]",
            "recipients[0].tables[2]",
            "recipients[1].name",
            "recipients[2].name",
        ],
        "{errors:#?}"
    );
    assert!(errors[2].message.contains("`orders`") && errors[2].message.contains("mapped: customers"));
    assert!(errors[4].message.contains("named twice"));
    let unknown = from_yaml("version: 1\nrecipients: [{ name: X, instructions: Y, owner: me }]").unwrap_err();
    assert!(unknown[0].message.contains("owner"), "{unknown:?}");
}

#[test]
fn redis_maps_have_keys_not_tables() {
    let (map, _) = from_yaml(
        r#"
version: 1
keys:
  - { pattern: "session:{id}", source: { column: { store: shop, table: customers, column: id } } }
  - { pattern: "cart:{email}:*", source: { identity: email } }
  - { pattern: "nothing", source: { column: { table: customers, column: id } } }
"#,
    )
    .unwrap();
    let errors = validate(&map, Context { kind: StoreKind::Redis, other_stores: &["shop".to_owned()] });
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["keys[1].pattern", "keys[2].pattern", "keys[2].source.column.store"], "{errors:#?}");
}

/// What a map tells the person: texts in languages Lethe speaks, a legal basis from the list,
/// and a transfer outside the EEA only with its safeguard.
#[test]
fn what_the_person_is_told_is_checked() {
    let good = check(
        r#"
version: 1
tables:
  - name: customers
    primary_key: [id]
    label: { en: Your account, sv: Ditt konto }
    purpose: To run your account
    legal_basis: contract
    origin: { sv: Kreditupplysningen }
    automated_decision: { logic: Scores from purchases, consequences: { en: Your credit limit } }
    columns: [{ name: email, identity: email, label: { de: E-Mail } }]
recipients:
  - { name: Mailchimp, instructions: Delete it, country: US, safeguard: standard_contractual_clauses }
  - { name: Fortnox, instructions: Tell them, country: SE }
"#,
    );
    assert!(good.is_empty(), "{good:#?}");
    let errors = check(
        r#"
version: 1
tables:
  - name: customers
    primary_key: [id]
    label: { fr: Votre compte }
    purpose: " "
    origin: {}
    columns: [{ name: email, label: "" }]
recipients:
  - { name: Mailchimp, instructions: Delete it, country: US }
  - { name: Brevo, instructions: Delete it, country: france }
  - { name: Zendesk, instructions: Delete it, safeguard: derogation }
"#,
    );
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "tables[0].columns[0].label",
            "tables[0].label.fr",
            "tables[0].purpose",
            "tables[0].origin",
            "recipients[0].safeguard",
            "recipients[1].country",
            "recipients[2].country",
        ],
        "{errors:#?}"
    );
    assert!(errors[4].message.contains("outside the EEA"), "{errors:#?}");
    let basis = from_yaml("version: 1\ntables: [{ name: t, primary_key: [id], legal_basis: whim }]").unwrap_err();
    assert!(basis[0].message.contains("legal_basis") || basis[0].path.contains("legal_basis"), "{basis:?}");
}
