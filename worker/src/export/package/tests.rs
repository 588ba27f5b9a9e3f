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
        locale: Locale::En,
        request_id: Uuid::nil(),
        generated_at: OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        portal_url: "https://lethe.example/p/acme/".into(),
        notice: Notice::default(),
        // A Redis policy names its keys by a glob; the map by a pattern.
        policies: vec![RetentionFact {
            store: "cache".into(),
            target: "cart:*".into(),
            max_age: "P30D".into(),
            anonymise: false,
            basis: "Carts are kept a month".into(),
            partial: false,
        }],
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
    assert_eq!(shop["tables"][0]["categories"][0]["label"], "E-mail address");
    assert_eq!(shop["tables"][0]["columns"][1], serde_json::json!({ "name": "email", "label": "Email" }));
    assert_eq!(shop["tables"][1]["rows"].as_array().unwrap().len(), 250);
    assert_eq!(data["stores"][1]["tables"][0]["rows"][0]["key"], "cart:ann@example.com");
    assert_eq!(data["stores"][1]["tables"][0]["retention"]["policies"][0]["max_age"], "P30D");
    assert_eq!(data["stores"][0]["tables"][0]["retention"]["policies"], serde_json::json!([]));
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
    // No external resource; the only links go to the portal. Five kinds: e-mail, the orders, the
    // cart, the invoices and the attached file.
    assert!(!html.contains("http://") && !html.contains(" src=") && !html.contains("<link"));
    assert!(!html.replace("https://lethe.example/p/acme/", "").contains("https://"));
    assert!(html.contains("In our system “billing”") && html.contains("<td>7</td><td>true</td>"));
    assert!(html.contains(&format!("<code>scans/attachments/_Ann_s_scan.pdf</code> ({} bytes)", scan.len())));
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("We hold 5 kinds of data about you in 4 of our systems")
    );
    // 1 + 100 + 1 + 1 preview rows.
    assert_eq!(html.matches("<tr><td>").count(), 103);
    let mut attached = Vec::new();
    zip.by_name("scans/attachments/_Ann_s_scan.pdf").unwrap().read_to_end(&mut attached).unwrap();
    assert_eq!(attached, scan);
}

/// Builds and opens a package of `spooled` described by `info`; returns (index.html, data.json).
fn open_package(spooled: &Spooled, info: &PackageInfo, dir: &Path) -> (String, Value) {
    let key = generate_key();
    let out = dir.join("package.bin");
    assemble(spooled, info, &out, &key, b"ctx").unwrap();
    let mut plain = Vec::new();
    SegmentReader::new(std::fs::read(&out).unwrap().as_slice(), &key, b"ctx").unwrap().read_to_end(&mut plain).unwrap();
    let mut zip = zip::ZipArchive::new(io::Cursor::new(plain)).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let html = read("index.html");
    (html, serde_json::from_str(&read("data.json")).unwrap())
}

fn info(locale: Locale, stores: Vec<PackageStore>) -> PackageInfo {
    PackageInfo {
        organization: "Acme AB".into(),
        locale,
        request_id: Uuid::nil(),
        generated_at: time::macros::datetime!(2026-12-07 13:05 UTC),
        portal_url: "https://lethe.example/p/acme/".into(),
        notice: Notice::default(),
        policies: Vec::new(),
        stores,
        not_included: Vec::new(),
    }
}

/// A Swedish request's package answers every item of Art. 15 in Swedish: labels, purpose and
/// legal basis, source, the keep period and the retention policy, recipients, the transfer and
/// its safeguard, automated decisions, rights, the authority, the controller and the DPO.
#[test]
fn a_swedish_package_answers_article_15_in_swedish() {
    let dir = tempfile::tempdir().unwrap();
    let map: DataMap = serde_json::from_value(serde_json::json!({
        "version": 1,
        "tables": [
            { "name": "customers", "primary_key": ["customer_id"],
              "label": { "en": "Your account", "sv": "Ditt konto" },
              "purpose": { "en": "To run your account", "sv": "För att sköta ditt konto" },
              "legal_basis": "contract",
              "origin": { "sv": "Kreditupplysningsföretaget UC" },
              "automated_decision": { "logic": { "sv": "Poäng från din köphistorik" }, "consequences": { "sv": "Avgör din kredit" } },
              "columns": [
                { "name": "customer_id", "label": { "sv": "Kundnummer" } },
                { "name": "email", "identity": "email", "category": "user.contact.email", "label": { "sv": "E-post" } }
              ] },
            { "name": "invoices", "primary_key": ["id"], "label": { "sv": "Fakturor" },
              "erasure": { "action": "keep", "basis": "Bokföringslagen", "period": "P7Y" },
              "columns": [{ "name": "total_sek", "category": "user.financial" }] }
        ],
        "recipients": [
            { "name": "Mailchimp", "instructions": "Delete in Mailchimp", "tables": ["customers"], "country": "US",
              "safeguard": "standard_contractual_clauses" },
            { "name": "Fortnox", "instructions": "Tell Fortnox", "country": "SE" },
            { "name": "Zendesk", "instructions": "Tell Zendesk", "tables": ["invoices"] }
        ]
    }))
    .unwrap();
    let mut spool = Spool::new(dir.path(), [("shop".to_owned(), StoreKind::Postgres)]);
    let customer = BTreeMap::from([
        ("customer_id".to_owned(), Value::String("7".into())),
        ("email".to_owned(), Value::String("ann@example.com".into())),
    ]);
    spool.push(located("shop", "customers", "7", &customer));
    let invoice = BTreeMap::from([("id".to_owned(), Value::String("1".into())), ("total_sek".to_owned(), 90.into())]);
    spool.push(located("shop", "invoices", "1", &invoice));
    let spooled = spool.finish().unwrap();
    let mut info = info(Locale::Sv, vec![PackageStore { name: "shop".into(), kind: StoreKind::Postgres, map }]);
    info.notice = Notice {
        controller: Some("Acme AB, Box 1, 111 22 Stockholm".into()),
        dpo_contact: Some("dpo@acme.example".into()),
        supervisory_authority: Some("Integritetsskyddsmyndigheten".into()),
        supervisory_authority_url: Some("https://www.imy.se/".into()),
        automated_decisions: None,
    };
    info.policies = vec![
        RetentionFact {
            store: "shop".into(),
            target: "customers".into(),
            max_age: "P3Y".into(),
            anonymise: false,
            basis: "Tre år efter sista köp".into(),
            partial: false,
        },
        RetentionFact {
            store: "shop".into(),
            target: "invoices".into(),
            max_age: "P1Y6M".into(),
            anonymise: true,
            basis: "Makulerade fakturor".into(),
            partial: true,
        },
    ];
    let (html, data) = open_package(&spooled, &info, dir.path());
    // The book's screenshot of a package is taken of this page (docs/src/exports.md).
    if let Some(path) = std::env::var_os("LETHE_PACKAGE_HTML_OUT") {
        std::fs::write(path, &html).unwrap();
    }
    for expected in [
        "<html lang=\"sv\">",
        "7 december 2026",
        "Ditt konto",
        "För att sköta ditt konto",
        "artikel 6.1 b",
        "Kreditupplysningsföretaget UC",
        "Poäng från din köphistorik",
        "Avgör din kredit",
        "<th scope=\"col\">Kundnummer</th><th scope=\"col\">E-post</th>",
        "7 år",
        "Bokföringslagen",
        "3 år",
        "Tre år efter sista köp",
        "Mailchimp",
        "USA",
        "standardavtalsklausuler",
        "Fortnox",
        "Integritetsskyddsmyndigheten",
        "https://www.imy.se/",
        "Acme AB, Box 1, 111 22 Stockholm",
        "dpo@acme.example",
        "https://lethe.example/p/acme/",
        "Fakturor",
        "1 år och 6 månader",
        "Det gäller bara en del av de här uppgifterna.",
        "Zendesk: var mottagaren behandlar dina uppgifter finns inte registrerat",
        "Uppgifter: allt vi har om dig i ”shop”.",
    ] {
        assert!(html.contains(expected), "index.html lacks {expected:?}:\n{html}");
    }
    for english in ["Why we hold it", "Your account", "record", "Legal basis", "Table:", "System:"] {
        assert!(!html.contains(english), "English {english:?} in a Swedish package");
    }
    assert_eq!(data["language"], "sv");
    let customers = &data["stores"][0]["tables"][0];
    assert_eq!(customers["label"], "Ditt konto");
    assert_eq!(customers["legal_basis"]["code"], "contract");
    assert_eq!(customers["origin"], "Kreditupplysningsföretaget UC");
    assert_eq!(customers["retention"]["policies"][0]["max_age"], "P3Y");
    assert_eq!(customers["recipients"], serde_json::json!(["Mailchimp", "Fortnox"]));
    let invoices = &data["stores"][0]["tables"][1];
    assert_eq!(invoices["retention"]["keep"], serde_json::json!({ "basis": "Bokföringslagen", "period": "P7Y" }));
    let mailchimp = &data["recipients"][0];
    assert_eq!((mailchimp["country_name"].as_str(), mailchimp["third_country"].as_bool()), (Some("USA"), Some(true)));
    assert_eq!(mailchimp["safeguard"]["code"], "standard_contractual_clauses");
    assert_eq!(data["recipients"][1]["third_country"], false);
    assert_eq!(data["recipients"][1]["everything_in"], serde_json::json!(["shop"]));
    assert_eq!(data["recipients"][2]["country"], Value::Null);
    // Ids by position, unique whatever the names.
    assert!(html.contains("<h3 id=\"system-1\">") && html.contains("<h4 id=\"table-2\">Fakturor</h4>"), "{html}");
    assert_eq!(data["controller"]["dpo_contact"], "dpo@acme.example");
    assert_eq!(data["automated_decisions"]["none"], false);
    assert_eq!(data["rights"]["request_url"], "https://lethe.example/p/acme/");
    assert_eq!(data["rights"]["rights"][1]["request_url"], "https://lethe.example/p/acme/request?kind=erasure");
    assert!(html.contains("<a href=\"https://lethe.example/p/acme/request?kind=objection\">"), "{html}");
}

/// Nothing found: the package says so, claims no CSV file, and still tells the person their
/// rights; no recipients, no transfers, no automated decisions.
#[test]
fn an_empty_package_says_nothing_was_found() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spool::new(dir.path(), [("shop".to_owned(), StoreKind::Sqlite)]).finish().unwrap();
    let stores = vec![PackageStore { name: "shop".into(), kind: StoreKind::Sqlite, map: DataMap::empty() }];
    let mut info = info(Locale::De, stores);
    info.not_included = vec![("akten".into(), StoreKind::Manual)];
    let (html, data) = open_package(&spooled, &info, dir.path());
    assert!(html.contains("<html lang=\"de\">") && html.contains("Wir haben keine Daten über Sie gefunden"), "{html}");
    assert!(html.contains("was sie finden, erhalten Sie gesondert"), "staff's stores still to come: {html}");
    assert!(!html.contains(".csv") && !html.contains("CSV"), "no CSV claimed: {html}");
    assert!(html.contains("https://lethe.example/p/acme/"));
    assert_eq!(data["summary"]["records"], 0);
    assert_eq!(data["summary"]["kinds_of_data"], 0);
    assert_eq!(data["automated_decisions"]["none"], true);
    assert_eq!(data["recipients"], serde_json::json!([]));
}
