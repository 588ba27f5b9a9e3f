//! The package's sections: one per table (or key pattern) with located rows, with everything the
//! person is told about it resolved in the request's language.

use std::collections::{BTreeSet, HashSet};

use lethe_entities::datamap::model::Recipient;
use lethe_entities::datamap::notice::{AutomatedDecision, LegalBasis, Text, readable};
use lethe_entities::datamap::{ColumnMap, KeyMap, RowErasure, TableMap};

use super::spool::{Spooled, SpooledTable, attachments_of, file_stem};
use super::{PackageInfo, PackageStore, RetentionFact};
use crate::i18n::{PackageTexts, fill, names};

/// A column as the person reads it.
pub(super) struct Column {
    /// Its name in the store.
    pub name: String,
    /// Its label in the request's language.
    pub label: String,
}

/// A column with a data category, in words.
pub(super) struct CategoryLine {
    /// The column.
    pub column: Column,
    /// The category's key (`user.contact.email`).
    pub category: String,
    /// The category's name.
    pub label: String,
    /// What it holds.
    pub description: String,
}

/// One table with rows, as the package presents it.
pub(super) struct Section<'a> {
    pub store: &'a PackageStore,
    pub table: &'a str,
    /// The heading: the map's label, or a readable form of the name.
    pub label: String,
    pub purpose: Option<String>,
    pub legal_basis: Option<LegalBasis>,
    /// Where the data came from; `None`: from the person.
    pub origin: Option<String>,
    /// An automated decision made from this data: (logic, consequences).
    pub decision: Option<(String, String)>,
    /// The map's `keep`: (basis, period).
    pub keep: Option<(&'a str, &'a str)>,
    /// Retention policies covering the table.
    pub policies: Vec<&'a RetentionFact>,
    /// Recipients of this table's data.
    pub recipients: Vec<&'a Recipient>,
    pub primary_key: Vec<String>,
    /// The columns of the rows, primary key first.
    pub columns: Vec<Column>,
    pub categories: Vec<CategoryLine>,
    pub spooled: &'a SpooledTable,
    pub csv: String,
    /// The section's HTML id (`table-<n>`, unique in the page).
    pub id: String,
}

/// What a table's or key pattern's map says about it.
struct Described<'a> {
    label: Option<&'a Text>,
    purpose: Option<&'a Text>,
    legal_basis: Option<LegalBasis>,
    origin: Option<&'a Text>,
    decision: Option<&'a AutomatedDecision>,
    erasure: Option<&'a RowErasure>,
    /// A key pattern's keys as the glob a retention policy names them by (`session:*`).
    glob: Option<String>,
}

impl<'a> Described<'a> {
    /// What no map says (a service's table).
    const NOTHING: Self =
        Self { label: None, purpose: None, legal_basis: None, origin: None, decision: None, erasure: None, glob: None };

    fn table(t: &'a TableMap) -> Self {
        Self {
            label: t.label.as_ref(),
            purpose: t.purpose.as_ref(),
            legal_basis: t.legal_basis,
            origin: t.origin.as_ref(),
            decision: t.automated_decision.as_ref(),
            erasure: Some(&t.erasure),
            glob: None,
        }
    }

    fn key(k: &'a KeyMap) -> Self {
        Self {
            label: k.label.as_ref(),
            purpose: k.purpose.as_ref(),
            legal_basis: k.legal_basis,
            origin: k.origin.as_ref(),
            decision: k.automated_decision.as_ref(),
            erasure: Some(&k.erasure),
            glob: k.key_for("*"),
        }
    }
}

/// The sections of every table with rows, store by store.
pub(super) fn sections<'a>(spooled: &'a Spooled, info: &'a PackageInfo) -> Vec<Section<'a>> {
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
        let mapped_section = |table: &'a str, described: Described<'a>, columns: &'a [ColumnMap], pk: Vec<String>| {
            let s = spooled_table(table)?;
            Some(section_of(info, store, table, described, columns, pk, s))
        };
        for t in &store.map.tables {
            if let Some(mut s) = mapped_section(&t.name, Described::table(t), &t.columns, t.primary_key.clone()) {
                s.csv = csv_name(&t.name);
                s.id = format!("table-{}", out.len() + 1);
                out.push(s);
            }
        }
        for k in &store.map.keys {
            let Some(mut s) = mapped_section(&k.pattern, Described::key(k), &k.fields, vec!["key".to_owned()]) else {
                continue;
            };
            // A key's value carries the key's category; its hash fields carry their own, as
            // `value.<field>` (the rows have `key` and `value` only).
            for line in &mut s.categories {
                line.column.name = format!("value.{}", line.column.name);
            }
            if let Some(category) = &k.category {
                let value = ColumnMap {
                    name: "value".into(),
                    label: None,
                    category: Some(category.clone()),
                    identity: None,
                    matching: None,
                    action: None,
                    redact_with: None,
                };
                s.categories.insert(0, category_line(info, &value, category));
            }
            s.csv = csv_name(&k.pattern);
            s.id = format!("table-{}", out.len() + 1);
            out.push(s);
        }
        // Tables no data map describes: what an HTTP service returned.
        let mapped = |table: &str| {
            store.map.tables.iter().any(|t| t.name == table) || store.map.keys.iter().any(|k| k.pattern == table)
        };
        let unmapped =
            spooled.tables.iter().filter(|((name, table), s)| *name == store.name && s.rows > 0 && !mapped(table));
        for ((_, table), s) in unmapped {
            let mut section = section_of(info, store, table, Described::NOTHING, &[], Vec::new(), s);
            section.csv = csv_name(table);
            section.id = format!("table-{}", out.len() + 1);
            out.push(section);
        }
    }
    out
}

fn section_of<'a>(
    info: &'a PackageInfo,
    store: &'a PackageStore,
    table: &'a str,
    described: Described<'a>,
    columns: &'a [ColumnMap],
    primary_key: Vec<String>,
    spooled: &'a SpooledTable,
) -> Section<'a> {
    let language = info.locale.code();
    let text = |t: Option<&Text>| t.map(|t| t.in_language(language).to_owned());
    let label_of = |name: &str| {
        columns
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.label.as_ref())
            .map_or_else(|| readable(name), |l| l.in_language(language).to_owned())
    };
    let mut names: Vec<String> = primary_key.iter().filter(|c| spooled.columns.contains(*c)).cloned().collect();
    names.extend(spooled.columns.iter().filter(|c| !primary_key.contains(c)).cloned());
    let categories =
        columns.iter().filter_map(|c| c.category.as_ref().map(|category| category_line(info, c, category))).collect();
    Section {
        store,
        table,
        label: text(described.label).unwrap_or_else(|| readable(table)),
        purpose: text(described.purpose),
        legal_basis: described.legal_basis,
        origin: text(described.origin),
        decision: described
            .decision
            .map(|d| (d.logic.in_language(language).to_owned(), d.consequences.in_language(language).to_owned())),
        keep: match described.erasure {
            Some(RowErasure::Keep { basis, period }) => Some((basis.as_str(), period.as_str())),
            _ => None,
        },
        policies: info
            .policies
            .iter()
            .filter(|p| p.store == store.name && (p.target == table || described.glob.as_ref() == Some(&p.target)))
            .collect(),
        recipients: store
            .map
            .recipients
            .iter()
            .filter(|r| r.tables.is_empty() || r.tables.iter().any(|t| t == table))
            .collect(),
        primary_key,
        columns: names.into_iter().map(|name| Column { label: label_of(&name), name }).collect(),
        categories,
        spooled,
        csv: String::new(),
        id: String::new(),
    }
}

/// A column's category in the request's language.
fn category_line(info: &PackageInfo, column: &ColumnMap, category: &str) -> CategoryLine {
    let language = info.locale.code();
    let label = column.label.as_ref().map_or_else(|| readable(&column.name), |l| l.in_language(language).to_owned());
    let (name, description) = match names::category(info.locale, category) {
        Some(text) => (text.label.clone(), text.description.clone()),
        None => (category.to_owned(), String::new()),
    };
    CategoryLine {
        column: Column { name: column.name.clone(), label },
        category: category.to_owned(),
        label: name,
        description,
    }
}

/// A recipient of data found, with what it receives.
pub(super) struct RecipientUse<'a> {
    /// The recipient (the first entry with this name, country and safeguard).
    pub recipient: &'a Recipient,
    /// The stores it receives everything of (it names no tables there).
    pub everything_in: Vec<String>,
    /// The labels of the tables it receives, in order.
    pub labels: Vec<String>,
}

/// The recipients of the sections' data, in order; entries of several stores with the same
/// name (ignoring case), country and safeguard are one.
pub(super) fn recipients<'a>(sections: &[Section<'a>]) -> Vec<RecipientUse<'a>> {
    let mut out: Vec<RecipientUse<'a>> = Vec::new();
    for s in sections {
        for r in &s.recipients {
            let same = |u: &RecipientUse<'_>| {
                u.recipient.name.eq_ignore_ascii_case(&r.name)
                    && u.recipient.country == r.country
                    && u.recipient.safeguard == r.safeguard
            };
            let i = match out.iter().position(same) {
                Some(i) => i,
                None => {
                    out.push(RecipientUse { recipient: r, everything_in: Vec::new(), labels: Vec::new() });
                    out.len() - 1
                }
            };
            let (everything, name) = (r.tables.is_empty(), &s.store.name);
            if everything && !out[i].everything_in.contains(name) {
                out[i].everything_in.push(name.clone());
            } else if !everything && !out[i].labels.contains(&s.label) {
                out[i].labels.push(s.label.clone());
            }
        }
    }
    out
}

/// The kinds of data found: each distinct category, each table without one, and the files
/// staff attached (one kind).
pub(super) fn kinds(spooled: &Spooled, sections: &[Section<'_>]) -> usize {
    let categories: BTreeSet<&str> = sections.iter().flat_map(|s| &s.categories).map(|c| c.category.as_str()).collect();
    let attached = usize::from(!spooled.attachments.is_empty());
    categories.len() + sections.iter().filter(|s| s.categories.is_empty()).count() + attached
}

/// The systems in which something was found (rows or an attached file).
pub(super) fn systems(spooled: &Spooled, info: &PackageInfo, sections: &[Section<'_>]) -> usize {
    info.stores
        .iter()
        .filter(|store| {
            sections.iter().any(|s| std::ptr::eq(s.store, *store)) || attachments_of(spooled, store).next().is_some()
        })
        .count()
}

/// How long a table's data is kept, in sentences: the map's `keep`, each policy, or that no
/// period is set.
pub(super) fn retention_lines(t: &PackageTexts, s: &Section<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some((basis, period)) = s.keep {
        lines.push(fill(&t.retention_keep, &[("period", &t.duration(period)), ("basis", basis)]));
    }
    for p in &s.policies {
        let template = if p.anonymise { &t.retention_policy_anonymise } else { &t.retention_policy_delete };
        let mut line = fill(template, &[("age", &t.duration(&p.max_age)), ("basis", &p.basis)]);
        if p.partial {
            line = format!("{line} {}", t.retention_partly);
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(t.retention_none.clone());
    }
    lines
}

/// The person's rights: (code, sentence, the portal's form for that kind of request). Withdrawing
/// consent is listed where a table rests on consent; portability is this package itself.
pub(super) fn rights<'t>(
    t: &'t PackageTexts,
    info: &PackageInfo,
    sections: &[Section<'_>],
) -> Vec<(&'static str, &'t str, Option<String>)> {
    let form = |kind: &str| Some(format!("{}request?kind={kind}", info.portal_url));
    let mut rights = vec![
        ("rectification", t.right_rectification.as_str(), form("rectification")),
        ("erasure", t.right_erasure.as_str(), form("erasure")),
        ("restriction", t.right_restriction.as_str(), form("restriction")),
        ("objection", t.right_objection.as_str(), form("objection")),
        ("portability", t.right_portability.as_str(), None),
    ];
    if sections.iter().any(|s| s.legal_basis == Some(LegalBasis::Consent)) {
        rights.push(("withdraw_consent", t.right_consent.as_str(), None));
    }
    rights
}
