//! The access package: rows are spooled to encrypted temporary files (one per table) while
//! locating streams them in, then one ZIP is assembled from them entry by entry, straight into
//! an encrypted file. Memory holds one buffer per table and one segment, never the rows.
//!
//! The package answers all of GDPR Art. 15 in the request's language (en, de, sv), not only
//! "here are your rows". The ZIP holds:
//!
//! * `index.html`: for the person: a plain summary first ("we hold 3 kinds of data about you
//!   in 2 systems"); then per table, under its label, why it is held and on which legal basis,
//!   where it came from, how long it is kept (the map's `keep` period and the retention policies
//!   that cover the table), who else receives it, any automated decision, what it contains (the
//!   columns' labels and categories in words) and the first [`HTML_ROWS`] rows; then the
//!   recipients and transfers to third countries with their safeguards, automated
//!   decision-making, the person's rights with a link to the portal, the right to complain (and
//!   to which authority), who the controller and its data protection officer are, and the files.
//!   An empty package says that nothing was found and claims no CSV file. Self-contained (inline
//!   style, no script, no external resource), every value escaped, readable at 320 px;
//! * `data.json`: the same, machine-readable (format [`FORMAT`], Art. 20): per store and table
//!   the label, purpose, legal basis, origin, retention, recipients, automated decision, columns
//!   with labels and categories, row count, CSV file name and the rows (column to text or null; a
//!   Redis key's rows are `{"key", "value"}`), and the organization-wide facts;
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
mod sections;
mod spool;

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::Path;

use lethe_entities::StoreKind;
use lethe_entities::datamap::DataMap;
use time::OffsetDateTime;
use uuid::Uuid;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::crypto::{SegmentReader, SegmentWriter};
use crate::error::ExportError;
use crate::i18n::Locale;
use data::{write_csv, write_json};
use html::write_html;
use sections::sections;
pub use spool::{Spool, Spooled, SpooledAttachment, SpooledTable};

/// The format name written into `data.json`.
pub const FORMAT: &str = "lethe-access-export/2";
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

/// What the organization tells every person (its settings; see the organization's privacy
/// notice): each `None` when not set.
#[derive(Debug, Clone, Default)]
pub struct Notice {
    /// The controller's legal name and address.
    pub controller: Option<String>,
    /// How to reach the data protection officer.
    pub dpo_contact: Option<String>,
    /// The supervisory authority complaints go to.
    pub supervisory_authority: Option<String>,
    /// The authority's web page.
    pub supervisory_authority_url: Option<String>,
    /// Automated decision-making across the organization; `None`: none.
    pub automated_decisions: Option<String>,
}

/// A scheduled retention policy that covers a table (or key pattern) of a searched store.
#[derive(Debug, Clone)]
pub struct RetentionFact {
    /// The store's name.
    pub store: String,
    /// The table, or the key glob (`session:*`) for Redis.
    pub target: String,
    /// The maximum age (ISO 8601 duration).
    pub max_age: String,
    /// Whether old rows are anonymised rather than deleted.
    pub anonymise: bool,
    /// The policy's legal basis, in words (as the admin wrote it).
    pub basis: String,
    /// It applies to some rows only (it has a filter).
    pub partial: bool,
}

/// What the package says besides the rows.
#[derive(Debug, Clone)]
pub struct PackageInfo {
    /// The organization's display name.
    pub organization: String,
    /// The language of the request (the package is written in it).
    pub locale: Locale,
    /// The access request.
    pub request_id: Uuid,
    /// When the package was made.
    pub generated_at: OffsetDateTime,
    /// The portal where the person exercises their rights (an absolute URL).
    pub portal_url: String,
    /// The organization's privacy notice.
    pub notice: Notice,
    /// The retention policies covering the searched stores' tables.
    pub policies: Vec<RetentionFact>,
    /// The stores searched, in order.
    pub stores: Vec<PackageStore>,
    /// Stores not in the package (worked by people, or waived), with their kind.
    pub not_included: Vec<(String, StoreKind)>,
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
