//! Tests of [`super`] (fides).

use proptest::prelude::*;

use super::*;
use crate::datamap::model::{ColumnAction, ColumnMap, ColumnRef, Direction, Reference, RowErasure, TableMap};
use crate::domain::enums::IdentityKind;

const SHOP: &str = r#"dataset:
  - fides_key: shop
    organization_fides_key: default_organization
    name: Shop
    description: The web shop's database.
    collections:
      - name: customer
        description: Registered customers.
        fields:
          - name: id
            data_categories: [user.unique_id]
            fides_meta: { primary_key: True, data_type: integer }
          - name: email
            description: "  The customer's e-mail address  "
            data_categories: [user.contact.email]
            fides_meta: { identity: email, data_type: string }
          - name: phone
            data_categories: [user.contact.phone_number]
            fides_meta: { identity: phone_number }
          - name: name
            data_categories: [user, user.name]
            fides_meta:
              length: 40
              masking_strategy_override:
                strategy: string_rewrite
                configuration: { rewrite_value: "[erased]" }
          - name: card_fingerprint
            data_categories: [user.financial.bank_account]
            fides_meta: { masking_strategy_override: { strategy: hmac } }
          - name: loyalty_number
            data_categories: [user.unique_id]
            fides_meta: { identity: loyalty_id }
          - name: address_id
            data_categories: [system.operations]
            fides_meta:
              references:
                - { dataset: shop, field: address.id, direction: to }
          - name: crm_contact_id
            data_categories: [system.operations]
            fides_meta:
              references:
                - { dataset: crm_db, field: contacts.id, direction: to }
          - name: last_audit_id
            data_categories: [system.operations]
            fides_meta:
              references:
                - { dataset: shop, field: audit_log.id, direction: to }
          - name: created
            data_categories: [system.operations]
          - name: preferences
            fides_meta: { data_type: object }
            fields:
              - name: newsletter
                data_categories: [user.behavior]
      - name: address
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta: { primary_key: true }
          - name: street
            data_categories: [user.contact.address.street]
          - name: city
            data_categories: [user.contact.address.city]
            fides_meta: { read_only: true }
          - name: notes
            data_categories: [user.made_up]
      - name: orders
        fides_meta:
          erase_after: [shop.order_item]
          masking_strategy_override: { strategy: delete }
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta: { primary_key: True }
          - name: customer_id
            data_categories: [user.unique_id]
            fidesops_meta:
              references:
                - { dataset: shop, field: customer.id, direction: from }
          - name: total
            data_categories: [system.operations]
      - name: order_item
        fields:
          - name: order_id
            data_categories: [system.operations]
            fides_meta:
              primary_key: True
              references:
                - { dataset: shop, field: orders.id, direction: from }
          - name: position
            fides_meta: { primary_key: True }
          - name: product_id
            data_categories: [system.operations]
            fides_meta:
              references:
                - { dataset: shop, field: product.id, direction: to }
          - name: recipient_name
            data_categories: [user.name]
            fides_meta: { masking_strategy_override: { strategy: aes_encrypt } }
      - name: product
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta: { primary_key: True }
          - name: price
            data_categories: [system.operations]
      - name: employee
        fields:
          - name: id
            data_categories: [user.unique_id]
            fides_meta: { primary_key: True }
          - name: email
            data_categories: [user.contact.email]
            fides_meta: { identity: email }
          - name: manager_id
            data_categories: [system.operations]
            fides_meta:
              references:
                - { dataset: shop, field: employee.id }
      - name: audit_log
        fides_meta: { skip_processing: true }
        fields:
          - name: id
            fides_meta: { primary_key: true }
          - name: customer_id
            data_categories: [user.unique_id]
            fides_meta:
              references: [{ dataset: shop, field: customer.id, direction: from }]
"#;

fn stores() -> BTreeMap<String, String> {
    BTreeMap::from([("crm_db".to_owned(), "crm".to_owned())])
}

fn column(
    name: &str,
    category: Option<&str>,
    identity: Option<IdentityKind>,
    action: Option<ColumnAction>,
) -> ColumnMap {
    ColumnMap {
        name: name.into(),
        label: None,
        category: category.map(Into::into),
        identity,
        matching: None,
        action,
        redact_with: None,
    }
}

fn reference(column: &str, store: Option<&str>, table: &str, target: &str, direction: Direction) -> Reference {
    Reference {
        column: column.into(),
        target: ColumnRef { store: store.map(Into::into), table: table.into(), column: target.into() },
        direction,
    }
}

fn table(name: &str, primary_key: &[&str], erasure: RowErasure) -> TableMap {
    TableMap {
        name: name.into(),
        primary_key: primary_key.iter().map(|c| (*c).to_owned()).collect(),
        label: None,
        purpose: None,
        legal_basis: None,
        origin: None,
        automated_decision: None,
        columns: vec![],
        references: vec![],
        erasure,
    }
}

fn errors(yaml: &str) -> Vec<MapError> {
    import(yaml, &stores()).expect_err("the import should fail")
}

#[test]
fn a_realistic_dataset_converts_field_by_field() {
    use ColumnAction::*;
    use IdentityKind::*;
    let imported = import(SHOP, &stores()).unwrap();
    assert_eq!(imported.fides_key, "shop");
    let tables = &imported.map.tables;
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["customer", "address", "orders", "order_item", "product", "employee"]);

    let customer = TableMap {
        columns: vec![
            column("id", Some("user.unique_id"), None, None),
            ColumnMap {
                label: Some("The customer's e-mail address".into()),
                ..column("email", Some("user.contact.email"), Some(Email), Some(Null))
            },
            column("phone", Some("user.contact.phone_number"), Some(Phone), Some(Null)),
            ColumnMap { redact_with: Some("[erased]".into()), ..column("name", Some("user.name"), None, Some(Redact)) },
            column("card_fingerprint", Some("user.financial.bank_account"), None, Some(Hash)),
            column("loyalty_number", Some("user.unique_id"), Some(CustomerId), Some(Null)),
            column("address_id", None, None, None),
            column("crm_contact_id", None, None, None),
        ],
        references: vec![
            reference("address_id", None, "address", "id", Direction::To),
            reference("crm_contact_id", Some("crm"), "contacts", "id", Direction::To),
        ],
        // A collection's and a field's `description` become the labels the person reads.
        label: Some("Registered customers.".into()),
        ..table("customer", &["id"], RowErasure::Update)
    };
    assert_eq!(tables[0], customer);

    let address = TableMap {
        columns: vec![
            column("street", Some("user.contact.address.street"), None, Some(Null)),
            column("city", Some("user.contact.address.city"), None, Some(Keep)),
        ],
        ..table("address", &["id"], RowErasure::Update)
    };
    assert_eq!(tables[1], address);

    let orders = TableMap {
        columns: vec![column("customer_id", Some("user.unique_id"), None, None)],
        references: vec![reference("customer_id", None, "customer", "id", Direction::From)],
        ..table("orders", &["id"], RowErasure::DeleteRow)
    };
    assert_eq!(tables[2], orders);

    let order_item = TableMap {
        columns: vec![
            column("order_id", None, None, None),
            column("product_id", None, None, None),
            column("recipient_name", Some("user.name"), None, Some(Null)),
        ],
        references: vec![
            reference("order_id", None, "orders", "id", Direction::From),
            reference("product_id", None, "product", "id", Direction::To),
        ],
        ..table("order_item", &["order_id", "position"], RowErasure::Update)
    };
    assert_eq!(tables[3], order_item);

    assert_eq!(tables[4], table("product", &["id"], RowErasure::DeleteRow));

    let employee = TableMap {
        columns: vec![
            column("id", Some("user.unique_id"), None, None),
            column("email", Some("user.contact.email"), Some(Email), Some(Null)),
            column("manager_id", None, None, None),
        ],
        references: vec![reference("manager_id", None, "employee", "id", Direction::None)],
        ..table("employee", &["id"], RowErasure::Update)
    };
    assert_eq!(tables[5], employee);
    assert!(imported.map.keys.is_empty());

    let expected = [
        "customer.loyalty_number: identity `loyalty_id` imported as customer_id",
        "customer.last_audit_id: reference to skipped collection `audit_log` dropped",
        "customer.preferences: nested fields",
        "address.notes: unknown data category `user.made_up` dropped",
        "orders: ordering hints",
        "order_item.recipient_name: masking strategy `aes_encrypt` has no Lethe equivalent",
        "product: no non-key field",
        "employee.manager_id: reference to `shop.employee.id` has no direction",
        "audit_log: `skip_processing: true`",
    ];
    let warnings = &imported.warnings;
    assert_eq!(warnings.len(), expected.len(), "{warnings:#?}");
    for (warning, expected) in warnings.iter().zip(expected) {
        assert!(warning.contains(expected), "{warning:?} should contain {expected:?}");
        assert!(warning.starts_with("line "), "{warning:?}");
    }
    assert!(warnings[7].contains("line 119:") && warnings[7].contains("direction: none"), "{warnings:#?}");
}

#[test]
fn a_bare_dataset_with_fidesops_meta_and_unknown_keys_imports() {
    let yaml = r#"
fides_key: crm_db
some_future_key: { anything: [1, 2] }
fides_meta: { resource_id: x, after: [] }
collections:
  - name: contacts
    unknown: true
    fields:
      - name: id
        fidesops_meta: { primary_key: yes, data_type: string, return_all_elements: ~ }
      - name: mail
        data_categories: [user.contact.email]
        fidesops_meta: { identity: email, custom_request_field: foo }
        tags: [x]
"#;
    let imported = import(yaml, &BTreeMap::new()).unwrap();
    assert_eq!(imported.fides_key, "crm_db");
    let contacts = &imported.map.tables[0];
    assert_eq!(contacts.primary_key, ["id"]);
    assert_eq!(
        contacts.columns,
        [column("mail", Some("user.contact.email"), Some(IdentityKind::Email), Some(ColumnAction::Null))]
    );
    assert_eq!(contacts.erasure, RowErasure::Update);
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
}

#[test]
fn a_collection_without_primary_key_is_an_error_at_its_line() {
    let yaml = "dataset:\n  - fides_key: d\n    collections:\n      - name: a\n        fields:\n          - name: id\n            fides_meta: { primary_key: true }\n      - name: b\n        fields:\n          - name: email\n            data_categories: [user.contact.email]\n";
    let errors = errors(yaml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "dataset[0].collections[1]");
    assert_eq!(errors[0].line, Some(8));
    assert!(errors[0].message.contains("`b` has no primary key"), "{errors:?}");
}

#[test]
fn wrong_shapes_are_errors_with_lines() {
    let e = errors("dataset:\n  - fides_key: d\n    collections: customers\n");
    assert_eq!((e[0].path.as_str(), e[0].line), ("dataset[0].collections", Some(3)), "{e:?}");

    let e = errors(
        "fides_key: d\ncollections:\n  - name: c\n    fields:\n      - name: id\n        fides_meta: { primary_key: maybe }\n",
    );
    assert_eq!((e[0].path.as_str(), e[0].line), ("collections[0].fields[0].fides_meta.primary_key", Some(6)), "{e:?}");

    let yaml = "fides_key: d\ncollections:\n  - name: c\n    fields:\n      - name: id\n        fides_meta:\n          primary_key: true\n          references:\n            - { dataset: d, field: c.id, direction: sideways }\n            - { dataset: d, field: id, direction: to }\n";
    let e = errors(yaml);
    let found: Vec<(&str, Option<usize>)> = e.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        found,
        [
            ("collections[0].fields[0].fides_meta.references[0].direction", Some(9)),
            ("collections[0].fields[0].fides_meta.references[1].field", Some(10)),
        ],
        "{e:?}"
    );

    let e = errors("dataset:\n  - fides_key: a\n    collections: []\n  - fides_key: b\n    collections: []\n");
    assert!(e[0].message.contains("2 datasets"), "{e:?}");
    let e = errors("fides_key: d\ncollections:\n  - fields: []\n");
    assert_eq!(
        (e[0].path.as_str(), e[0].line, e[0].message.as_str()),
        ("collections[0]", Some(3), "`name` is missing")
    );
    let e = errors("systems: []\n");
    assert!(e[0].message.contains("not a fideslang dataset"), "{e:?}");
}

#[test]
fn malformed_yaml_has_a_line() {
    let e = errors("dataset:\n  - fides_key: d\n    collections: [\n");
    assert!(e[0].line.is_some() && e[0].message.starts_with("invalid YAML"), "{e:?}");
    let e = errors("fides_key: d\nfides_key: e\ncollections: []\n");
    assert_eq!((e[0].line, e[0].message.as_str()), (Some(2), "duplicate key in a mapping"), "{e:?}");
    let e = errors("- a\n- b\n");
    assert_eq!(e[0].line, Some(1), "{e:?}");
}

#[test]
fn validation_errors_point_at_the_fides_field() {
    let yaml = "fides_key: d\ncollections:\n  - name: c\n    fields:\n      - name: id\n        fides_meta:\n          primary_key: true\n          references:\n            - dataset: billing\n              field: invoices.customer_id\n              direction: from\n            - { dataset: d, field: missing.id, direction: to }\n";
    let e = errors(yaml);
    let found: Vec<(&str, Option<usize>)> = e.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        found,
        [
            ("collections[0].fields[0].fides_meta.references[0].dataset", Some(9)),
            ("collections[0].fields[0].fides_meta.references[1].field", Some(12)),
        ],
        "{e:?}"
    );
    assert!(e[0].message.contains("`billing`") && e[0].message.contains("crm"), "{e:?}");
    assert!(e[1].message.contains("`missing`"), "{e:?}");

    let twice = "fides_key: d\ncollections:\n  - name: c\n    fields: [{ name: id, fides_meta: { primary_key: true } }]\n  - name: c\n    fields: [{ name: id, fides_meta: { primary_key: true } }]\n";
    let e = errors(twice);
    assert_eq!((e[0].path.as_str(), e[0].line), ("collections[1].name", Some(5)), "{e:?}");
}

#[test]
fn nested_reference_fields_are_skipped_and_unmapped_strategies_warn() {
    let yaml = r#"
fides_key: d
collections:
  - name: c
    fides_meta: { masking_strategy_override: { strategy: erase }, redact: name }
    fields:
      - name: id
        fides_meta:
          primary_key: true
          masking_strategy_override: { strategy: hash }
      - name: doc_id
        fides_meta:
          references: [{ dataset: mongo, field: docs.meta.id, direction: to }]
      - name: note
        data_categories: [user.contact.email, user.name]
        fides_meta: { redact: name, masking_strategy_override: { strategy: random_string_rewrite } }
"#;
    let imported = import(yaml, &BTreeMap::new()).unwrap();
    let c = &imported.map.tables[0];
    assert!(c.references.is_empty());
    assert_eq!(c.columns, [column("note", Some("user.contact.email"), None, Some(ColumnAction::Redact))]);
    let w = imported.warnings.join("\n");
    for expected in [
        "c: collection-level masking strategy `erase`",
        "c: `redact` hides names",
        "c.id: masking override ignored",
        "c.doc_id: reference to nested field `docs.meta.id`",
        "c.note: one category per column: keeps `user.contact.email`, drops `user.name`",
        "c.note: `redact` hides names",
    ] {
        assert!(w.contains(expected), "{expected:?} missing in:\n{w}");
    }
    assert_eq!(imported.warnings.len(), 6, "{w}");
}

const FRAGMENTS: &[&str] = &[
    "dataset:",
    "- fides_key: d",
    "fides_key: d",
    "collections:",
    "collections: x",
    "- name: c",
    "name: c",
    "fields:",
    "fields: []",
    "- name: id",
    "fides_meta: { primary_key: true }",
    "fidesops_meta:",
    "fides_meta:",
    "primary_key: True",
    "identity: email",
    "identity: [1]",
    "data_categories: [user.name, system.operations, nope]",
    "data_categories: user",
    "references:",
    "- { dataset: d, field: c.id, direction: to }",
    "- { dataset: d, field: c.id }",
    "- { dataset: o, field: a.b.c, direction: from }",
    "- { dataset: d, field: ., direction: up }",
    "masking_strategy_override: { strategy: delete }",
    "masking_strategy_override: { strategy: string_rewrite, configuration: { rewrite_value: x } }",
    "skip_processing: true",
    "read_only: true",
    "- ",
    "  ",
    "{",
    "]",
    "&a x",
    "*a",
    "? [k]",
    "'",
    "\t",
];

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in ".*") {
        let _ = import(&text, &stores());
    }

    #[test]
    fn never_panics_on_dataset_like_text(
        lines in prop::collection::vec((0usize..12, prop::sample::select(FRAGMENTS)), 0..60)
    ) {
        let text: String = lines.iter().map(|(indent, line)| format!("{}{line}\n", " ".repeat(*indent))).collect();
        if let Ok(imported) = import(&text, &stores()) {
            let errors = validate::validate(&imported.map, Context { kind: StoreKind::Postgres, other_stores: &["crm".to_owned()] });
            prop_assert!(errors.is_empty(), "{errors:?}");
        }
    }
}
