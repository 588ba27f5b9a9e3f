//! The spool: located rows written to one encrypted temporary file per table as they stream
//! in, and operators' attachments, under a key that exists only in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use lethe_entities::StoreKind;
use serde_json::Value;

use super::PackageStore;
use crate::export::crypto::{FileKey, SegmentReader, SegmentWriter, generate_key};
use crate::locate::Located;
use crate::private_fs;

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
    pub(super) path: PathBuf,
    pub(super) context: Vec<u8>,
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
    pub(super) path: PathBuf,
    pub(super) context: Vec<u8>,
}

/// Everything spooled, ready to assemble.
pub struct Spooled {
    pub(super) key: FileKey,
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
    pub(super) fn lines(
        &self,
        table: &SpooledTable,
    ) -> io::Result<io::Lines<BufReader<SegmentReader<BufReader<File>>>>> {
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
            let file = private_fs::new_file().open(&path)?;
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
        let file = private_fs::new_file().open(&path)?;
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

/// The files attached to `store`'s task.
pub(super) fn attachments_of<'a>(
    spooled: &'a Spooled,
    store: &'a PackageStore,
) -> impl Iterator<Item = &'a SpooledAttachment> {
    spooled.attachments.iter().filter(move |a| a.store == store.name)
}

/// A file-name-safe version of a store, table or key-pattern name.
pub(super) fn file_stem(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() { "table".to_owned() } else { stem.to_owned() }
}
