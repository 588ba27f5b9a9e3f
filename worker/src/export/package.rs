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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use lethe_entities::StoreKind;
use lethe_entities::datamap::{DataMap, taxonomy};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::crypto::{FileKey, SegmentReader, SegmentWriter, generate_key};
use crate::error::ExportError;
use crate::locate::Located;
use crate::mail::escape_html;

/// The format name written into `data.json`.
pub const FORMAT: &str = "lethe-access-export/1";
/// Rows of each table shown in `index.html` (all of them are in the CSV and `data.json`).
pub const HTML_ROWS: usize = 100;
/// Above this many bytes an entry is written with ZIP64 sizes.
const LARGE_ENTRY: u64 = 3 << 30;

/// Collects located rows into one encrypted temporary file per table, under a key that exists
/// only in memory: a crash leaves nothing readable behind.
pub struct Spool {
    dir: PathBuf,
    key: FileKey,
    kinds: HashMap<String, StoreKind>,
    tables: BTreeMap<(String, String), SpoolTable>,
    attachments: Vec<SpooledAttachment>,
    scratch: Vec<u8>,
    error: Option<io::Error>,
}

struct SpoolTable {
    path: PathBuf,
    context: Vec<u8>,
    writer: SegmentWriter<BufWriter<File>>,
    columns: BTreeSet<String>,
    rows: u64,
    bytes: u64,
}

/// One table's spooled rows, closed.
pub struct SpooledTable {
    path: PathBuf,
    context: Vec<u8>,
    /// Every column seen in the table's rows.
    pub columns: BTreeSet<String>,
    /// Rows spooled.
    pub rows: u64,
    /// Bytes of JSON spooled (one line per row).
    pub bytes: u64,
}

/// A file an operator attached to a manual store's task, spooled.
pub struct SpooledAttachment {
    /// The store.
    pub store: String,
    /// Its path in the ZIP: `<store>/attachments/<file name made safe>`.
    pub entry: String,
    /// Its size.
    pub bytes: u64,
    path: PathBuf,
    context: Vec<u8>,
}

/// Everything spooled, ready to assemble.
pub struct Spooled {
    key: FileKey,
    /// Per (store, table).
    pub tables: BTreeMap<(String, String), SpooledTable>,
    /// Attached files, in the order they were spooled.
    pub attachments: Vec<SpooledAttachment>,
}

impl Spooled {
    /// Rows across all tables.
    pub fn rows(&self) -> u64 {
        self.tables.values().map(|t| t.rows).sum()
    }

    /// The rows of one table, one JSON object per line, decrypted as they are read.
    fn lines(&self, table: &SpooledTable) -> io::Result<io::Lines<BufReader<SegmentReader<BufReader<File>>>>> {
        let file = BufReader::with_capacity(64 * 1024, File::open(&table.path)?);
        let reader = SegmentReader::new(file, &self.key, &table.context)?;
        Ok(BufReader::with_capacity(64 * 1024, reader).lines())
    }
}

impl Spool {
    /// A spool writing into `dir` (a private temporary directory), for stores of the given kinds.
    pub fn new(dir: &Path, kinds: impl IntoIterator<Item = (String, StoreKind)>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            key: generate_key(),
            kinds: kinds.into_iter().collect(),
            tables: BTreeMap::new(),
            attachments: Vec::new(),
            scratch: Vec::with_capacity(1024),
            error: None,
        }
    }

    /// Appends one located row (the locate sink). The first failure is kept for
    /// [`Spool::finish`]; rows after it are dropped.
    pub fn push(&mut self, located: Located<'_>) {
        if self.error.is_none()
            && let Err(e) = self.write(&located)
        {
            self.error = Some(e);
        }
    }

    fn write(&mut self, located: &Located<'_>) -> io::Result<()> {
        let id = (located.store.to_owned(), located.table.to_owned());
        if !self.tables.contains_key(&id) {
            let n = self.tables.len();
            let path = self.dir.join(format!("spool-{n}.bin"));
            let context = format!("lethe-export-spool/{n}").into_bytes();
            let file = File::options().write(true).create_new(true).open(&path)?;
            let writer = SegmentWriter::new(BufWriter::with_capacity(64 * 1024, file), &self.key, &context)?;
            let table = SpoolTable { path, context, writer, columns: BTreeSet::new(), rows: 0, bytes: 0 };
            self.tables.insert(id.clone(), table);
        }
        let table = self.tables.get_mut(&id).expect("inserted above");
        self.scratch.clear();
        let empty = BTreeMap::new();
        let row = located.row.unwrap_or(&empty);
        if self.kinds.get(located.store).is_some_and(|k| k.has_key_patterns()) {
            let value = row.get("value").cloned().unwrap_or(Value::Null);
            serde_json::to_writer(&mut self.scratch, &serde_json::json!({ "key": located.key, "value": value }))?;
            if table.columns.is_empty() {
                table.columns.extend(["key".to_owned(), "value".to_owned()]);
            }
        } else {
            serde_json::to_writer(&mut self.scratch, row)?;
            for column in row.keys() {
                if !table.columns.contains(column) {
                    table.columns.insert(column.clone());
                }
            }
        }
        self.scratch.push(b'\n');
        table.writer.write_all(&self.scratch)?;
        table.rows += 1;
        table.bytes += self.scratch.len() as u64;
        Ok(())
    }

    /// Spools a file attached to `store`'s task, to go into the ZIP under
    /// `<store>/attachments/<file name made safe>`.
    pub fn attach(&mut self, store: &str, file_name: &str, content: &[u8]) -> io::Result<()> {
        let n = self.attachments.len();
        let path = self.dir.join(format!("attachment-{n}.bin"));
        let context = format!("lethe-export-attachment/{n}").into_bytes();
        let file = File::options().write(true).create_new(true).open(&path)?;
        let mut writer = SegmentWriter::new(BufWriter::with_capacity(64 * 1024, file), &self.key, &context)?;
        writer.write_all(content)?;
        writer.finish()?.into_inner().map_err(|e| e.into_error())?;
        let base = format!("{}/attachments/{}", file_stem(store), file_stem(file_name));
        let mut entry = base.clone();
        let mut i = 2;
        while self.attachments.iter().any(|a| a.entry == entry) {
            entry = format!("{base}-{i}");
            i += 1;
        }
        let bytes = content.len() as u64;
        self.attachments.push(SpooledAttachment { store: store.to_owned(), entry, bytes, path, context });
        Ok(())
    }

    /// Closes every file; fails with the first error met while spooling.
    pub fn finish(self) -> io::Result<Spooled> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut tables = BTreeMap::new();
        for (id, t) in self.tables {
            let file = t.writer.finish()?.into_inner().map_err(|e| e.into_error())?;
            drop(file);
            tables.insert(
                id,
                SpooledTable { path: t.path, context: t.context, columns: t.columns, rows: t.rows, bytes: t.bytes },
            );
        }
        Ok(Spooled { key: self.key, tables, attachments: self.attachments })
    }
}

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
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(out)?;
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

/// A value as text: strings as they are, null as nothing, anything else as compact JSON.
fn text(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

fn parse_row(line: &str) -> io::Result<serde_json::Map<String, Value>> {
    serde_json::from_str(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn write_json(out: &mut impl Write, spooled: &Spooled, info: &PackageInfo, sections: &[Section<'_>]) -> io::Result<()> {
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
fn attachments_of<'a>(spooled: &'a Spooled, store: &'a PackageStore) -> impl Iterator<Item = &'a SpooledAttachment> {
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

fn csv_line(out: &mut impl Write, fields: impl IntoIterator<Item = Option<String>>) -> io::Result<()> {
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

fn write_csv(out: &mut impl Write, spooled: &Spooled, section: &Section<'_>) -> io::Result<()> {
    csv_line(out, section.columns.iter().map(|c| Some(c.clone())))?;
    for line in spooled.lines(section.spooled)? {
        let row = parse_row(&line?)?;
        csv_line(out, section.columns.iter().map(|c| text(row.get(c))))?;
    }
    Ok(())
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:75rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#1d1d1f}h2{margin-top:2.5rem;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}th,td{border:1px solid #ccc;\
padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f5}.none{color:#888}\
.scroll{overflow-x:auto}code{background:#f4f4f5;padding:0 .25rem;border-radius:3px}";

fn write_html(out: &mut impl Write, spooled: &Spooled, info: &PackageInfo, sections: &[Section<'_>]) -> io::Result<()> {
    let org = escape_html(&info.organization);
    let date = info
        .generated_at
        .format(time::macros::format_description!("[day] [month repr:long] [year]"))
        .unwrap_or_default();
    write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Your personal data at {org}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Your personal data at {org}</h1>\n\
         <p>This is a copy of the personal data {org} holds about you, prepared on {date} in answer to your \
         access request (reference <code>{request}</code>). It holds {rows} record(s) from {stores} system(s).</p>\n\
         <p>The package has three kinds of file:</p>\n<ul>\n\
         <li><code>index.html</code>, this page: what we found, where, why we hold it and what kind of data it is;</li>\n\
         <li><code>data.json</code>: all of it in a machine-readable form, which you may take to another service;</li>\n\
         <li>one CSV file per table (for example <code>{example}</code>), which spreadsheet programs open.</li>\n</ul>\n\
         <h2>Summary</h2>\n<table>\n<tr><th>System</th><th>Table</th><th>Records</th><th>Why we hold it</th></tr>\n",
        request = escape_html(&info.request_id.to_string()),
        rows = spooled.rows(),
        stores = info.stores.len(),
        example = escape_html(sections.first().map_or("shop/orders.csv", |s| s.csv.as_str())),
    )?;
    for store in &info.stores {
        let mine: Vec<&Section<'_>> = sections.iter().filter(|s| std::ptr::eq(s.store, store)).collect();
        let files = attachments_of(spooled, store).count();
        if files > 0 {
            writeln!(
                out,
                "<tr><td>{}</td><td><a href=\"#{}-attachments\">file(s) attached by our staff</a></td><td>{files}</td><td></td></tr>",
                escape_html(&store.name),
                anchor(&store.name),
            )?;
        } else if mine.is_empty() {
            writeln!(
                out,
                "<tr><td>{}</td><td class=\"none\">nothing found</td><td>0</td><td></td></tr>",
                escape_html(&store.name)
            )?;
        }
        for s in mine {
            writeln!(
                out,
                "<tr><td>{}</td><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                escape_html(&store.name),
                anchor(&s.csv),
                escape_html(s.table),
                s.spooled.rows,
                escape_html(s.purpose.unwrap_or("")),
            )?;
        }
    }
    writeln!(out, "</table>")?;

    for store in &info.stores {
        let mine: Vec<&Section<'_>> = sections.iter().filter(|s| std::ptr::eq(s.store, store)).collect();
        writeln!(out, "<h2>{}</h2>", escape_html(&store.name))?;
        let files: Vec<&SpooledAttachment> = attachments_of(spooled, store).collect();
        if mine.is_empty() && files.is_empty() {
            writeln!(out, "<p class=\"none\">We searched this system and found nothing about you.</p>")?;
        }
        for s in mine {
            write_html_section(out, spooled, s)?;
        }
        if !files.is_empty() {
            writeln!(
                out,
                "<p id=\"{}-attachments\">Our staff searched this system and attached what they found:</p>\n<ul>",
                anchor(&store.name)
            )?;
            for file in files {
                writeln!(out, "<li><code>{}</code> ({} bytes)</li>", escape_html(&file.entry), file.bytes)?;
            }
            writeln!(out, "</ul>")?;
        }
    }
    if !info.not_included.is_empty() {
        writeln!(
            out,
            "<h2>Not in this package</h2>\n<p>These systems are not part of this copy; anything we find there \
             reaches you separately:</p>\n<ul>"
        )?;
        for (name, _) in &info.not_included {
            writeln!(out, "<li>{}</li>", escape_html(name))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</body>\n</html>")
}

fn anchor(csv: &str) -> String {
    csv.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

fn write_html_section(out: &mut impl Write, spooled: &Spooled, s: &Section<'_>) -> io::Result<()> {
    writeln!(out, "<h3 id=\"{}\">{}</h3>", anchor(&s.csv), escape_html(s.table))?;
    match s.purpose {
        Some(purpose) => writeln!(out, "<p><strong>Why we hold it:</strong> {}</p>", escape_html(purpose))?,
        None => writeln!(out, "<p><strong>Why we hold it:</strong> <span class=\"none\">not recorded</span></p>")?,
    }
    if !s.categories.is_empty() {
        writeln!(out, "<p><strong>What kind of data it is:</strong></p>\n<ul>")?;
        for (column, category, description) in &s.categories {
            writeln!(
                out,
                "<li><code>{}</code>: {} <span class=\"none\">({})</span></li>",
                escape_html(column),
                escape_html(description),
                escape_html(category)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    let rows = s.spooled.rows;
    let csv = escape_html(&s.csv);
    if rows as usize > HTML_ROWS {
        writeln!(
            out,
            "<p>{rows} records. The first {HTML_ROWS} are shown here; all of them are in <code>{csv}</code> and \
             <code>data.json</code>.</p>"
        )?;
    } else {
        writeln!(out, "<p>{rows} record(s), also in <code>{csv}</code> and <code>data.json</code>.</p>")?;
    }
    write!(out, "<div class=\"scroll\"><table>\n<tr>")?;
    for column in &s.columns {
        write!(out, "<th>{}</th>", escape_html(column))?;
    }
    writeln!(out, "</tr>")?;
    for line in spooled.lines(s.spooled)?.take(HTML_ROWS) {
        let row = parse_row(&line?)?;
        write!(out, "<tr>")?;
        for column in &s.columns {
            match text(row.get(column)) {
                Some(value) => write!(out, "<td>{}</td>", escape_html(&value))?,
                None => write!(out, "<td class=\"none\">(empty)</td>")?,
            }
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</table></div>")
}

#[cfg(test)]
mod tests;
