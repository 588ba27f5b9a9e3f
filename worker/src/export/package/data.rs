//! The machine-readable parts of the package: `data.json` and one CSV per table (RFC 4180).

use std::io::{self, Write};

use lethe_entities::datamap::notice::is_third_country;
use serde_json::{Value, json};

use super::sections::{self, Section, kinds, retention_lines, systems};
use super::spool::{Spooled, attachments_of};
use super::{FORMAT, PackageInfo, rfc3339};
use crate::i18n::{PackageTexts, names};

/// A value as text: strings as they are, null as nothing, anything else as compact JSON.
pub(super) fn text(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

pub(super) fn parse_row(line: &str) -> io::Result<serde_json::Map<String, Value>> {
    serde_json::from_str(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes `data.json`: everything `index.html` says, machine-readable, with every row.
pub(super) fn write_json(
    out: &mut impl Write,
    spooled: &Spooled,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    let t = PackageTexts::of(info.locale);
    writeln!(out, "{{")?;
    writeln!(out, "  \"format\": {},", js(&FORMAT))?;
    writeln!(out, "  \"language\": {},", js(info.locale.code()))?;
    writeln!(out, "  \"organization\": {},", js(&info.organization))?;
    writeln!(out, "  \"request_id\": {},", js(&info.request_id.to_string()))?;
    writeln!(out, "  \"generated_at\": {},", js(&rfc3339(info.generated_at)))?;
    let summary = json!({
        "systems_searched": info.stores.len(),
        "systems_with_data": systems(spooled, info, sections),
        "kinds_of_data": kinds(spooled, sections),
        "records": spooled.rows(),
        "files_attached": spooled.attachments.len(),
    });
    writeln!(out, "  \"summary\": {summary},")?;
    writeln!(out, "  \"controller\": {},", controller(info))?;
    writeln!(out, "  \"rights\": {},", rights_json(t, info, sections))?;
    writeln!(out, "  \"recipients\": {},", recipients_json(t, info, sections))?;
    let decisions = json!({
        "organization": info.notice.automated_decisions,
        "none": info.notice.automated_decisions.is_none() && sections.iter().all(|s| s.decision.is_none()),
    });
    writeln!(out, "  \"automated_decisions\": {decisions},")?;
    write!(out, "  \"stores\": [")?;
    for (i, store) in info.stores.iter().enumerate() {
        write!(out, "{}\n    {{\n      \"store\": {},\n", if i == 0 { "" } else { "," }, js(&store.name))?;
        write!(out, "      \"kind\": {},\n      \"tables\": [", js(&store.kind.as_str()))?;
        for (j, s) in sections.iter().filter(|s| std::ptr::eq(s.store, store)).enumerate() {
            write!(out, "{}\n        {}", if j == 0 { "" } else { "," }, section_head(t, s))?;
            write!(out, "\n          \"rows\": [")?;
            for (k, line) in spooled.lines(s.spooled)?.enumerate() {
                write!(out, "{}\n            {}", if k == 0 { "" } else { "," }, line?)?;
            }
            write!(out, "\n          ]\n        }}")?;
        }
        let attached: Vec<Value> =
            attachments_of(spooled, store).map(|a| json!({ "file": a.entry, "bytes": a.bytes })).collect();
        write!(out, "\n      ],\n      \"attachments\": {}\n    }}", js(&attached))?;
    }
    write!(out, "\n  ],\n  \"not_included\": [")?;
    for (i, (name, kind)) in info.not_included.iter().enumerate() {
        let entry = json!({ "store": name, "kind": kind.as_str() });
        write!(out, "{}\n    {}", if i == 0 { "" } else { "," }, entry)?;
    }
    writeln!(out, "\n  ]\n}}")
}

/// A section's facts as the opening of its JSON object (without `rows` and the closing brace).
fn section_head(t: &PackageTexts, s: &Section<'_>) -> String {
    let categories: Vec<Value> = s
        .categories
        .iter()
        .map(|c| json!({ "column": c.column.name, "category": c.category, "label": c.label, "description": c.description }))
        .collect();
    let columns: Vec<Value> = s.columns.iter().map(|c| json!({ "name": c.name, "label": c.label })).collect();
    let retention = json!({
        "keep": s.keep.map(|(basis, period)| json!({ "basis": basis, "period": period })),
        "policies": s.policies.iter().map(|p| json!({
            "max_age": p.max_age,
            "action": if p.anonymise { "anonymise" } else { "delete" },
            "basis": p.basis,
        })).collect::<Vec<_>>(),
        "text": retention_lines(t, s).join(" "),
    });
    let head = json!({
        "table": s.table,
        "label": s.label,
        "purpose": s.purpose,
        "legal_basis": s.legal_basis.map(|b| json!({ "code": b.as_str(), "text": t.basis(b) })),
        "origin": s.origin,
        "collected_from_you": s.origin.is_none(),
        "retention": retention,
        "recipients": s.recipients.iter().map(|r| &r.name).collect::<Vec<_>>(),
        "automated_decision": s.decision.as_ref().map(|(logic, consequences)| json!({ "logic": logic, "consequences": consequences })),
        "primary_key": s.primary_key,
        "columns": columns,
        "categories": categories,
        "row_count": s.spooled.rows,
        "csv": s.csv,
    });
    // The object without its closing brace, so the rows can be streamed after it.
    let text = serde_json::to_string(&head).unwrap_or_else(|_| "{".into());
    format!("{},", text.strip_suffix('}').unwrap_or(&text))
}

/// The controller and its data protection officer.
fn controller(info: &PackageInfo) -> Value {
    json!({
        "name": info.organization,
        "identity_and_address": info.notice.controller,
        "dpo_contact": info.notice.dpo_contact,
        "supervisory_authority": { "name": info.notice.supervisory_authority, "url": info.notice.supervisory_authority_url },
    })
}

/// The person's rights and where to exercise them.
fn rights_json(t: &PackageTexts, info: &PackageInfo, sections: &[Section<'_>]) -> Value {
    let list: Vec<Value> = sections::rights(t, info, sections)
        .into_iter()
        .map(|(right, text, url)| json!({ "right": right, "text": text, "request_url": url }))
        .collect();
    json!({ "request_url": info.portal_url, "rights": list, "complaint": t.complaint })
}

/// The recipients of the data found, with countries, transfers and safeguards.
fn recipients_json(t: &PackageTexts, info: &PackageInfo, sections: &[Section<'_>]) -> Value {
    let list: Vec<Value> = sections::recipients(sections)
        .iter()
        .map(|r| {
            let country = r.recipient.country.as_deref();
            json!({
                "name": r.recipient.name,
                "everything_in": r.everything_in,
                "data": r.labels,
                "country": country,
                "country_name": country.map(|c| names::country(info.locale, c)),
                "third_country": country.is_some_and(is_third_country),
                "safeguard": r.recipient.safeguard.map(|s| json!({ "code": s.as_str(), "text": t.safeguard(s) })),
            })
        })
        .collect();
    json!(list)
}

/// One JSON value as compact text.
fn js<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn csv_field(out: &mut impl Write, value: &str) -> io::Result<()> {
    let quote = value.is_empty()
        || value.contains([',', '"', '\r', '\n'])
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if quote { write!(out, "\"{}\"", value.replace('"', "\"\"")) } else { out.write_all(value.as_bytes()) }
}

pub(super) fn csv_line(out: &mut impl Write, fields: impl IntoIterator<Item = Option<String>>) -> io::Result<()> {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        // NULL is an empty unquoted field; an empty text is `""`.
        if let Some(value) = field {
            csv_field(out, &value)?;
        }
    }
    out.write_all(b"\r\n")
}

pub(super) fn write_csv(out: &mut impl Write, spooled: &Spooled, section: &Section<'_>) -> io::Result<()> {
    csv_line(out, section.columns.iter().map(|c| Some(c.name.clone())))?;
    for line in spooled.lines(section.spooled)? {
        let row = parse_row(&line?)?;
        csv_line(out, section.columns.iter().map(|c| text(row.get(&c.name))))?;
    }
    Ok(())
}
