//! The machine-readable parts of the package: `data.json` and one CSV per table (RFC 4180).

use std::io::{self, Write};

use serde_json::Value;

use super::spool::{Spooled, SpooledAttachment};
use super::{FORMAT, PackageInfo, PackageStore, Section, rfc3339};

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

pub(super) fn write_json(
    out: &mut impl Write,
    spooled: &Spooled,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> io::Result<()> {
    writeln!(out, "{{")?;
    writeln!(out, "  \"format\": {},", js(&FORMAT))?;
    writeln!(out, "  \"organization\": {},", js(&info.organization))?;
    writeln!(out, "  \"request_id\": {},", js(&info.request_id.to_string()))?;
    writeln!(out, "  \"generated_at\": {},", js(&rfc3339(info.generated_at)))?;
    write!(out, "  \"stores\": [")?;
    for (i, store) in info.stores.iter().enumerate() {
        write!(out, "{}\n    {{\n      \"store\": {},\n", if i == 0 { "" } else { "," }, js(&store.name))?;
        write!(out, "      \"kind\": {},\n      \"tables\": [", js(&store.kind.as_str()))?;
        for (j, s) in sections.iter().filter(|s| std::ptr::eq(s.store, store)).enumerate() {
            let categories: Vec<Value> = s
                .categories
                .iter()
                .map(|(column, category, description)| {
                    serde_json::json!({ "column": column, "category": category, "description": description })
                })
                .collect();
            write!(out, "{}\n        {{\n", if j == 0 { "" } else { "," })?;
            writeln!(out, "          \"table\": {},", js(&s.table))?;
            writeln!(out, "          \"purpose\": {},", js(&s.purpose))?;
            writeln!(out, "          \"primary_key\": {},", js(&s.primary_key))?;
            writeln!(out, "          \"categories\": {},", js(&categories))?;
            writeln!(out, "          \"row_count\": {},", s.spooled.rows)?;
            writeln!(out, "          \"csv\": {},", js(&s.csv))?;
            write!(out, "          \"rows\": [")?;
            for (k, line) in spooled.lines(s.spooled)?.enumerate() {
                write!(out, "{}\n            {}", if k == 0 { "" } else { "," }, line?)?;
            }
            write!(out, "\n          ]\n        }}")?;
        }
        let attached: Vec<Value> =
            attachments_of(spooled, store).map(|a| serde_json::json!({ "file": a.entry, "bytes": a.bytes })).collect();
        write!(out, "\n      ],\n      \"attachments\": {}\n    }}", js(&attached))?;
    }
    write!(out, "\n  ],\n  \"not_included\": [")?;
    for (i, (name, kind)) in info.not_included.iter().enumerate() {
        let entry = serde_json::json!({ "store": name, "kind": kind.as_str() });
        write!(out, "{}\n    {}", if i == 0 { "" } else { "," }, entry)?;
    }
    writeln!(out, "\n  ]\n}}")
}

/// The files attached to `store`'s task.
pub(super) fn attachments_of<'a>(
    spooled: &'a Spooled,
    store: &'a PackageStore,
) -> impl Iterator<Item = &'a SpooledAttachment> {
    spooled.attachments.iter().filter(move |a| a.store == store.name)
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
    csv_line(out, section.columns.iter().map(|c| Some(c.clone())))?;
    for line in spooled.lines(section.spooled)? {
        let row = parse_row(&line?)?;
        csv_line(out, section.columns.iter().map(|c| text(row.get(c))))?;
    }
    Ok(())
}
