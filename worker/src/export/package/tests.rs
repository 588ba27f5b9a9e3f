//! Tests of [`super`] (package).

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value;

use super::data::csv_line;
use super::*;
use crate::export::crypto::{SegmentReader, generate_key};
use crate::locate::Located;

fn located<'a>(store: &'a str, table: &'a str, key: &'a str, row: &'a BTreeMap<String, Value>) -> Located<'a> {
    Located { store, table, key, key_parts: &[], row: Some(row) }
}

#[test]
fn csv_quotes_what_needs_quoting() {
    let mut out = Vec::new();
    csv_line(
        &mut out,
        [
            Some("plain".into()),
            Some("a,b".into()),
            Some("say \"hi\"".into()),
            None,
            Some(String::new()),
            Some("two\nlines".into()),
            Some(" pad".into()),
        ],
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "plain,\"a,b\",\"say \"\"hi\"\"\",,\"\",\"two\nlines\",\" pad\"\r\n");
}

#[test]
fn a_package_holds_every_row_once_escaped_and_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let map: DataMap = serde_json::from_value(serde_json::json!({
        "version": 1,
        "tables": [
            { "name": "customers", "primary_key": ["id"], "purpose": "Your <account>",
              "columns": [{ "name": "email", "identity": "email", "category": "user.contact.email" }] },
            { "name": "orders", "primary_key": ["id"] }
        ]
    }))
    .unwrap();
    let cache: DataMap = serde_json::from_value(serde_json::json!({
        "version": 1,
        "keys": [{ "pattern": "cart:{email}", "source": { "identity": "email" }, "purpose": "Your cart" }]
    }))
    .unwrap();
    let mut spool = Spool::new(
        dir.path(),
        [
            ("shop".to_owned(), StoreKind::Sqlite),
            ("cache".to_owned(), StoreKind::Redis),
            ("billing".to_owned(), StoreKind::Http),
        ],
    );
    let scan = b"%PDF-1.7 \x00\xff binary".to_vec();
    spool.attach("scans", "../Ann's scan.pdf", &scan).unwrap();
    let customer = BTreeMap::from([
        ("id".to_owned(), Value::String("1".into())),
        ("email".to_owned(), Value::String("ann@example.com".into())),
        ("name".to_owned(), Value::String("<script>alert(1)</script>".into())),
        ("note".to_owned(), Value::Null),
    ]);
    spool.push(located("shop", "customers", "1", &customer));
    for i in 0..250 {
        let order = BTreeMap::from([
            ("id".to_owned(), Value::String(format!("{i}"))),
            ("total".to_owned(), Value::String("1,5".into())),
        ]);
        spool.push(located("shop", "orders", "x", &order));
    }
    let cart = BTreeMap::from([("value".to_owned(), serde_json::json!({ "sku": "A1" }))]);
    spool.push(located("cache", "cart:{email}", "cart:ann@example.com", &cart));
    let invoice = BTreeMap::from([("paid".to_owned(), Value::Bool(true)), ("invoice".to_owned(), 7.into())]);
    spool.push(located("billing", "invoices", "", &invoice));
    let spooled = spool.finish().unwrap();
    assert_eq!(spooled.rows(), 253);
    for t in spooled.tables.values() {
        let raw = std::fs::read(&t.path).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("ann@example.com"), "spool files are encrypted");
    }

    let info = PackageInfo {
        organization: "Acme & Co".into(),
        request_id: Uuid::nil(),
        generated_at: OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        stores: vec![
            PackageStore { name: "shop".into(), kind: StoreKind::Sqlite, map },
            PackageStore { name: "cache".into(), kind: StoreKind::Redis, map: cache },
            PackageStore { name: "empty".into(), kind: StoreKind::Postgres, map: DataMap::empty() },
            PackageStore { name: "billing".into(), kind: StoreKind::Http, map: DataMap::empty() },
            PackageStore { name: "scans".into(), kind: StoreKind::Manual, map: DataMap::empty() },
        ],
        not_included: vec![("paper".into(), StoreKind::Manual)],
    };
    let key = generate_key();
    let out = dir.path().join("package.bin");
    let size = assemble(&spooled, &info, &out, &key, b"ctx").unwrap();
    let raw = std::fs::read(&out).unwrap();
    assert_eq!(raw.len() as u64, size);
    assert!(!raw.starts_with(b"PK") && !String::from_utf8_lossy(&raw).contains("ann@example.com"));

    let mut plain = Vec::new();
    SegmentReader::new(raw.as_slice(), &key, b"ctx").unwrap().read_to_end(&mut plain).unwrap();
    let mut zip = zip::ZipArchive::new(io::Cursor::new(plain)).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let data: Value = serde_json::from_str(&read("data.json")).unwrap();
    assert_eq!(data["format"], FORMAT);
    let shop = &data["stores"][0];
    assert_eq!(shop["tables"][0]["rows"][0]["email"], "ann@example.com");
    assert_eq!(shop["tables"][0]["categories"][0]["description"], describe("user.contact.email"));
    assert_eq!(shop["tables"][1]["rows"].as_array().unwrap().len(), 250);
    assert_eq!(data["stores"][1]["tables"][0]["rows"][0]["key"], "cart:ann@example.com");
    assert_eq!(data["stores"][2]["tables"], serde_json::json!([]));
    assert_eq!(data["not_included"][0]["store"], "paper");
    // A service's table: a section of its store like any other, values as the service sent them.
    let billing = &data["stores"][3]["tables"][0];
    assert_eq!((billing["table"].as_str(), billing["row_count"].as_u64()), (Some("invoices"), Some(1)));
    assert_eq!(billing["rows"][0], serde_json::json!({ "invoice": 7, "paid": true }));
    assert_eq!(billing["primary_key"], serde_json::json!([]));
    assert_eq!(read("billing/invoices.csv"), "invoice,paid\r\n7,true\r\n");
    // An attached file: listed with its store, its name made safe.
    assert_eq!(data["stores"][0]["attachments"], serde_json::json!([]));
    assert_eq!(
        data["stores"][4]["attachments"],
        serde_json::json!([{ "file": "scans/attachments/_Ann_s_scan.pdf", "bytes": scan.len() }])
    );

    let orders = read("shop/orders.csv");
    assert_eq!(orders.lines().count(), 251);
    assert!(orders.starts_with("id,total\r\n0,\"1,5\"\r\n"), "{orders}");
    assert_eq!(read("shop/customers.csv"), "id,email,name,note\r\n1,ann@example.com,<script>alert(1)</script>,\r\n");
    assert_eq!(read("cache/cart__email_.csv"), "key,value\r\ncart:ann@example.com,\"{\"\"sku\"\":\"\"A1\"\"}\"\r\n");

    let html = read("index.html");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script"));
    assert!(html.contains("Acme &amp; Co") && html.contains("Your &lt;account&gt;"));
    assert!(html.contains("The first 100 are shown here"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains(" src="));
    assert!(html.contains("<h2>billing</h2>") && html.contains("<td>7</td><td>true</td>"));
    assert!(html.contains(&format!("<code>scans/attachments/_Ann_s_scan.pdf</code> ({} bytes)", scan.len())));
    // Six summary rows (one "nothing found", one for the attachment), then 1 + 100 + 1 + 1
    // preview rows.
    assert_eq!(html.matches("<tr><td>").count(), 109);
    let mut attached = Vec::new();
    zip.by_name("scans/attachments/_Ann_s_scan.pdf").unwrap().read_to_end(&mut attached).unwrap();
    assert_eq!(attached, scan);
}
