//! The data-map model: what one store holds about people, how rows are tied to a person, and
//! what erasure does to each row and column.
//!
//! A data map is written in YAML (or the same structure as JSON through the API). SQL stores
//! list `tables`; Redis stores list `keys` (key patterns). The README has a full example.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::notice::{AutomatedDecision, LegalBasis, Safeguard, Text};
use crate::domain::enums::IdentityKind;

/// The only format version so far.
pub const FORMAT_VERSION: u32 = 1;

/// One store's data map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataMap {
    /// Format version: `1`.
    pub version: u32,
    /// Tables that hold personal data (SQL stores).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<TableMap>,
    /// Key patterns that hold personal data (Redis stores).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyMap>,
    /// Recipients (processors) this store's data is disclosed to: each is told of an erasure,
    /// rectification or restriction (GDPR Art. 19) through a task for an operator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<Recipient>,
}

impl DataMap {
    /// An empty map of the current version.
    pub fn empty() -> Self {
        Self { version: FORMAT_VERSION, tables: Vec::new(), keys: Vec::new(), recipients: Vec::new() }
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&TableMap> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// A recipient of this store's data (a processor such as a mailing service): when a request
/// erases, rectifies or restricts the person's data, an operator tells the recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Who receives the data (e.g. `Mailchimp`); unique within the map.
    pub name: String,
    /// How to reach them: a URL or a role mailbox (organisational, never a person's address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// What the operator must do to notify them.
    pub instructions: String,
    /// The tables (or key patterns) of this map whose data was disclosed to them; empty: not
    /// stated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Where the recipient processes the data (ISO 3166-1 alpha-2, e.g. `US`); outside the EEA
    /// the access package lists it as a transfer to a third country, with its `safeguard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// What makes a transfer to a third country lawful (required for a `country` outside the
    /// EEA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguard: Option<Safeguard>,
}

/// A table (or view) with personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TableMap {
    /// The table's name in the store (schema-qualified as `schema.table` outside the default
    /// schema).
    pub name: String,
    /// The primary-key columns (several for a composite key).
    pub primary_key: Vec<String>,
    /// What the table holds, in words for the person (the access package's heading; default: a
    /// readable form of the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// Why the company holds this data, in words for the data subject (shown in access exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Text>,
    /// The legal basis of the purpose (GDPR Art. 6(1)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    /// Where the data came from when it was not collected from the person (Art. 15(1)(g));
    /// left out: collected from the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Text>,
    /// A decision made about the person by automated means from this data, including
    /// profiling (Art. 15(1)(h)); left out: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_decision: Option<AutomatedDecision>,
    /// Columns with personal data, identity columns and the columns references use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnMap>,
    /// References from a column of this table to a column of another (or the same) table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// What erasure does to a located row.
    #[serde(default)]
    pub erasure: RowErasure,
}

impl TableMap {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnMap> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column of a mapped table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// The column's name.
    pub name: String,
    /// What the column holds, in words for the person (access packages; default: a readable
    /// form of the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// The data category (fideslang-compatible, e.g. `user.contact.email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The identity kind this column holds, making it a starting point of locating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityKind>,
    /// How identity values are compared (default: case-insensitive for e-mail, exact otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "match")]
    pub matching: Option<Matching>,
    /// What erasure does to this column when the row is updated rather than deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ColumnAction>,
    /// The replacement text for `action: redact` (default `[redacted]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact_with: Option<String>,
}

impl ColumnMap {
    /// How identity values are compared in this column.
    pub fn effective_matching(&self) -> Matching {
        self.matching.unwrap_or(match self.identity {
            Some(IdentityKind::Email) => Matching::CaseInsensitive,
            _ => Matching::Exact,
        })
    }
}

/// How an identity column is compared with the subject's identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Matching {
    /// Equal to the normalised identity.
    Exact,
    /// Equal ignoring letter case (`LOWER(column)`; index the expression).
    CaseInsensitive,
}

/// What erasure does to one column of a row that is updated rather than deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnAction {
    /// Set to NULL.
    Null,
    /// Replace with a fixed text (`redact_with`).
    Redact,
    /// Replace with a keyed HMAC of the value (pseudonymisation: equal values stay equal).
    Hash,
    /// Leave as it is.
    Keep,
}

impl ColumnAction {
    /// The action's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Redact => "redact",
            Self::Hash => "hash",
            Self::Keep => "keep",
        }
    }
}

/// What erasure does to a located row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum RowErasure {
    /// Delete the row (children first).
    #[default]
    DeleteRow,
    /// Keep the row and apply each column's `action`.
    Update,
    /// Keep the row under a legal obligation, pseudonymised by the columns' actions, and report
    /// it as retained.
    Keep {
        /// The legal basis, in words (e.g. "Tax law: invoices kept 10 years").
        basis: String,
        /// How long, as an ISO 8601 duration (e.g. `P10Y`).
        period: String,
    },
}

impl RowErasure {
    /// The action's stable name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DeleteRow => "delete_row",
            Self::Update => "update",
            Self::Keep { .. } => "keep",
        }
    }
}

/// A reference from `column` of this table to `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The referencing column of this table.
    pub column: String,
    /// The referenced column.
    pub target: ColumnRef,
    /// Which way locating may follow the reference.
    pub direction: Direction,
}

/// A column in this store or another store of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnRef {
    /// Another store's name; absent for this store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
}

/// Which way a reference may be followed while locating one person's data. The words are
/// fideslang's: values flow *from* the target into this column, or *to* the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Rows of this table belong to the person of the target row: once target rows are found,
    /// find rows here whose column holds their values (a customer's orders).
    From,
    /// The target row belongs to the person of this row: once rows here are found, find target
    /// rows holding this column's values (a customer's profile row).
    To,
    /// Never follow: the target is another person (a customer's support representative).
    None,
}

/// A Redis key pattern with personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyMap {
    /// The pattern, with exactly one `{placeholder}` (e.g. `session:{customer_id}`).
    pub pattern: String,
    /// Where the placeholder's values come from.
    pub source: KeySource,
    /// The data category of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What the keys hold, in words for the person (default: a readable form of the pattern).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// Why the company holds this data (shown in access exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Text>,
    /// The legal basis of the purpose (GDPR Art. 6(1)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    /// Where the data came from when not from the person; left out: from the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Text>,
    /// An automated decision made from this data; left out: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated_decision: Option<AutomatedDecision>,
    /// Hash fields with their own categories and actions (for `erasure: update`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ColumnMap>,
    /// What erasure does: `delete_row` deletes the key, `update` applies the fields' actions.
    #[serde(default)]
    pub erasure: RowErasure,
}

impl KeyMap {
    /// The pattern split around its placeholder: `(prefix, name, suffix)`.
    pub fn placeholder(&self) -> Option<(&str, &str, &str)> {
        let open = self.pattern.find('{')?;
        let close = open + self.pattern[open..].find('}')?;
        let rest = &self.pattern[close + 1..];
        if rest.contains('{') || rest.contains('}') || self.pattern[..open].contains('}') {
            return None;
        }
        Some((&self.pattern[..open], &self.pattern[open + 1..close], rest))
    }

    /// The key for one placeholder value.
    pub fn key_for(&self, value: &str) -> Option<String> {
        let (prefix, _, suffix) = self.placeholder()?;
        Some(format!("{prefix}{value}{suffix}"))
    }
}

/// Where a key pattern's placeholder values come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeySource {
    /// The subject's identities of this kind (e.g. `cart:{email}`).
    Identity(IdentityKind),
    /// The values of a column of located rows (e.g. `session:{customer_id}` from the shop's
    /// `customers.id`).
    Column(ColumnRef),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_placeholders() {
        let key = KeyMap {
            pattern: "session:{customer_id}:data".into(),
            source: KeySource::Identity(IdentityKind::CustomerId),
            category: None,
            label: None,
            purpose: None,
            legal_basis: None,
            origin: None,
            automated_decision: None,
            fields: vec![],
            erasure: RowErasure::DeleteRow,
        };
        assert_eq!(key.placeholder(), Some(("session:", "customer_id", ":data")));
        assert_eq!(key.key_for("42").as_deref(), Some("session:42:data"));
        let two = KeyMap { pattern: "a:{x}:{y}".into(), ..key.clone() };
        assert_eq!(two.placeholder(), None);
        let none = KeyMap { pattern: "plain".into(), ..key };
        assert_eq!(none.placeholder(), None);
    }

    #[test]
    fn email_identities_match_case_insensitively_by_default() {
        let col = ColumnMap {
            name: "email".into(),
            label: None,
            category: None,
            identity: Some(IdentityKind::Email),
            matching: None,
            action: None,
            redact_with: None,
        };
        assert_eq!(col.effective_matching(), Matching::CaseInsensitive);
        let id = ColumnMap { identity: Some(IdentityKind::CustomerId), ..col };
        assert_eq!(id.effective_matching(), Matching::Exact);
    }
}
