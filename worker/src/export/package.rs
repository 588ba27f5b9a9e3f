//! The access package: rows are spooled to encrypted temporary files (one per table) while
//! locating streams them in, then one ZIP is assembled from them entry by entry, straight into
//! an encrypted file. Memory holds one buffer per table and one segment, never the rows.
//!
//! The ZIP holds:
//!
//! * `index.html`: for the person: what was found where, why it is held (the data map's
//!   purpose), the data categories in words, and the first [`HTML_ROWS`] rows of each table;
//!   self-contained (inline style, no script, no external resource), every value escaped;
//! * `data.json`: everything, machine-readable (format `lethe-access-export/1`): per store and
//!   table the purpose, primary key, categories, row count, CSV file name and the rows (column
//!   to text or null; a Redis key's rows are `{"key", "value"}`);
//! * `<store>/<table>.csv`: one per table with rows, RFC 4180 (quoted where needed, CRLF);
//! * `<store>/attachments/<file>`: a file an operator attached to a manual store's task (its
//!   name made safe: ASCII letters, digits, `-`, `_` and `.`, no leading dot), listed under the
//!   store's `attachments` in `data.json` and named in `index.html`.
//!
//! Only tables with located rows get a section and a CSV; searched stores with nothing found
//! are listed with no tables. An HTTP service's tables are sections of its store like SQL
//! tables (rows as the service sent them: column to string, number, boolean or null; no purpose
//! or categories unless the store has a data map naming them). Stores worked by people are
//! named under `not_included` unless they attached a file.

mod data;
mod html;
mod spool;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::Path;

use lethe_entities::StoreKind;
use lethe_entities::datamap::{DataMap, taxonomy};
use time::OffsetDateTime;
use uuid::Uuid;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::crypto::{SegmentReader, SegmentWriter};
use crate::error::ExportError;
use data::{write_csv, write_json};
use html::write_html;
pub use spool::{Spool, Spooled, SpooledAttachment, SpooledTable};

/// The format name written into `data.json`.
pub const FORMAT: &str = "lethe-access-export/1";
/// Rows of each table shown in `index.html` (all of them are in the CSV and `data.json`).
pub const HTML_ROWS: usize = 100;
/// Above this many bytes an entry is written with ZIP64 sizes.
const LARGE_ENTRY: u64 = 3 << 30;

/// A searched store, as the package describes it.
#[derive(Debug, Clone)]
pub struct PackageStore {
    /// The store's name.
    pub name: String,
    /// Its kind.
    pub kind: StoreKind,
    /// Its saved data map.
    pub map: DataMap,
}

/// What the package says besides the rows.
#[derive(Debug, Clone)]
pub struct PackageInfo {
    /// The organization's display name.
    pub organization: String,
    /// The access request.
    pub request_id: Uuid,
    /// When the package was made.
    pub generated_at: OffsetDateTime,
    /// The stores searched, in order.
    pub stores: Vec<PackageStore>,
    /// Stores not in the package (worked by people, or waived), with their kind.
    pub not_included: Vec<(String, StoreKind)>,
}

/// One table with rows, as the package presents it.
struct Section<'a> {
    store: &'a PackageStore,
    table: &'a str,
    purpose: Option<&'a str>,
    primary_key: Vec<String>,
    /// (column, category, description)
    categories: Vec<(String, String, String)>,
    columns: Vec<String>,
    spooled: &'a SpooledTable,
    csv: String,
}

fn describe(category: &str) -> String {
    match taxonomy::get(category) {
        Some(c) => c.description.to_owned(),
        None => match taxonomy::parent(category).and_then(taxonomy::get) {
            Some(parent) => format!("{} (a more specific kind: {category})", parent.description),
            None => category.to_owned(),
        },
    }
}

/// A file-name-safe version of a store, table or key-pattern name.
fn file_stem(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() { "table".to_owned() } else { stem.to_owned() }
}

fn sections<'a>(spooled: &'a Spooled, info: &'a PackageInfo) -> Vec<Section<'a>> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for store in &info.stores {
        let mut csv_name = |table: &str| {
            let base = format!("{}/{}", file_stem(&store.name), file_stem(table));
            let mut name = format!("{base}.csv");
            let mut n = 2;
            while !names.insert(name.clone()) {
                name = format!("{base}-{n}.csv");
                n += 1;
            }
            name
        };
        let spooled_table =
            |table: &str| spooled.tables.get(&(store.name.clone(), table.to_owned())).filter(|t| t.rows > 0);
        for table in &store.map.tables {
            let Some(s) = spooled_table(&table.name) else { continue };
            let categories = table
                .columns
                .iter()
                .filter_map(|c| c.category.as_ref().map(|cat| (c.name.clone(), cat.clone(), describe(cat))))
                .collect();
            let mut columns: Vec<String> =
                table.primary_key.iter().filter(|c| s.columns.contains(*c)).cloned().collect();
            columns.extend(s.columns.iter().filter(|c| !table.primary_key.contains(c)).cloned());
            out.push(Section {
                store,
                table: &table.name,
                purpose: table.purpose.as_deref(),
                primary_key: table.primary_key.clone(),
                categories,
                columns,
                spooled: s,
                csv: csv_name(&table.name),
            });
        }
        for key in &store.map.keys {
            let Some(s) = spooled_table(&key.pattern) else { continue };
            let mut categories: Vec<(String, String, String)> =
                key.category.iter().map(|cat| ("value".to_owned(), cat.clone(), describe(cat))).collect();
            categories.extend(key.fields.iter().filter_map(|f| {
                f.category.as_ref().map(|cat| (format!("value.{}", f.name), cat.clone(), describe(cat)))
            }));
            out.push(Section {
                store,
                table: &key.pattern,
                purpose: key.purpose.as_deref(),
                primary_key: vec!["key".to_owned()],
                categories,
                columns: vec!["key".to_owned(), "value".to_owned()],
                spooled: s,
                csv: csv_name(&key.pattern),
            });
        }
        // Tables no data map describes: what an HTTP service returned.
        let mapped = |table: &str| {
            store.map.tables.iter().any(|t| t.name == table) || store.map.keys.iter().any(|k| k.pattern == table)
        };
        let unmapped =
            spooled.tables.iter().filter(|((name, table), s)| *name == store.name && s.rows > 0 && !mapped(table));
        for ((_, table), s) in unmapped {
            out.push(Section {
                store,
                table,
                purpose: None,
                primary_key: Vec::new(),
                categories: Vec::new(),
                columns: s.columns.iter().cloned().collect(),
                spooled: s,
                csv: csv_name(table),
            });
        }
    }
    out
}

/// Assembles the package from `spooled` into a new file at `out`, encrypted under `key` with
/// `context`; returns the file's size. The file is synced to disk before this returns.
pub fn assemble(
    spooled: &Spooled,
    info: &PackageInfo,
    out: &Path,
    key: &[u8; 32],
    context: &[u8],
) -> Result<u64, ExportError> {
    let sections = sections(spooled, info);
    let file = crate::private_fs::new_file().open(out)?;
    let sealed = SegmentWriter::new(BufWriter::with_capacity(256 * 1024, file), key, context)?;
    let mut zip = ZipWriter::new_stream(sealed);
    let at = info.generated_at;
    let modified = zip::DateTime::from_date_and_time(
        at.year().clamp(1980, 2107) as u16,
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
    )
    .unwrap_or_default();
    let entry = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(modified)
        .unix_permissions(0o644);

    zip.start_file("index.html", entry).map_err(zip_error)?;
    write_html(&mut zip, spooled, info, &sections)?;
    let json_bytes: u64 = sections.iter().map(|s| s.spooled.bytes).sum();
    zip.start_file("data.json", entry.large_file(json_bytes > LARGE_ENTRY)).map_err(zip_error)?;
    write_json(&mut zip, spooled, info, &sections)?;
    for section in &sections {
        zip.start_file(section.csv.as_str(), entry.large_file(section.spooled.bytes > LARGE_ENTRY))
            .map_err(zip_error)?;
        write_csv(&mut zip, spooled, section)?;
    }
    for attachment in &spooled.attachments {
        zip.start_file(attachment.entry.as_str(), entry.large_file(attachment.bytes > LARGE_ENTRY))
            .map_err(zip_error)?;
        let file = BufReader::with_capacity(64 * 1024, File::open(&attachment.path)?);
        io::copy(&mut SegmentReader::new(file, &spooled.key, &attachment.context)?, &mut zip)?;
    }
    let sealed = zip.finish().map_err(zip_error)?.into_inner();
    let file = sealed.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}

fn zip_error(e: zip::result::ZipError) -> ExportError {
    ExportError::Package(e.to_string())
}

/// A time as RFC 3339 text.
fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests;
