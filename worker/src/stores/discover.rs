//! Discovery: introspects a live store and proposes a data map for an operator to review.
//! Nothing discovered is used until it is saved.
//!
//! SQL: every table with a primary key becomes a mapped table; columns get a data category and
//! an identity kind from their names and from up to 20 sampled values (values are read, judged
//! and dropped: never stored, returned or logged); foreign keys become references, with a
//! direction chosen so that locating stays with one person:
//!
//! * a self-reference (`employees.manager_id`, `customers.referred_by`) points at another
//!   person: `none`;
//! * a reference between two tables that both identify people (`customers.support_rep_id ->
//!   employees.id`) points at another person: `none`;
//! * a reference from a person's table to a table that identifies nobody
//!   (`customers.last_order_id -> orders.id`): `to` (that row is the person's);
//! * otherwise (`orders.customer_id -> customers.id`): `from` (these rows are the parent's);
//! * into or out of a shared table (a catalogue many people's rows point at:
//!   `invoice_lines.track_id -> tracks.id`, see [`crate::stores::sql::shared`]): `none`, and
//!   the shared table's columns are not proposed.
//!
//! Identity and reference columns that locating looks up without an index are reported:
//! each would be a full table scan per request.
//!
//! Redis: keys are sampled with `SCAN` and generalised into patterns with one placeholder.

use lethe_entities::datamap::classify::Evidence;
use lethe_entities::datamap::{DataMap, Direction};
use lethe_entities::domain::enums::IdentityKind;
use serde::Serialize;
use utoipa::ToSchema;

/// What discovery proposes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Discovery {
    /// The proposed data map.
    pub map: DataMap,
    /// Why each column got its category: from its name, its sampled values, or both.
    pub suggestions: Vec<ColumnSuggestion>,
    /// Why each reference got its direction.
    pub references: Vec<ReferenceNote>,
    /// Lookups locating would do without an index (`table: column`).
    pub missing_indexes: Vec<String>,
    /// Tables left out, and other remarks.
    pub notes: Vec<String>,
}

/// One column's suggestion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ColumnSuggestion {
    /// Table (or key pattern).
    pub table: String,
    /// Column.
    pub column: String,
    /// Suggested category.
    pub category: String,
    /// Suggested identity kind.
    pub identity: Option<IdentityKind>,
    /// What supports it.
    pub evidence: Evidence,
}

/// Why a reference got its direction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferenceNote {
    /// `table.column -> table.column`.
    pub reference: String,
    /// The proposed direction.
    pub direction: Direction,
    /// Why.
    pub reason: String,
}

impl Discovery {
    /// A proposal with nothing in it yet.
    pub fn empty() -> Self {
        Self { map: DataMap::empty(), suggestions: vec![], references: vec![], missing_indexes: vec![], notes: vec![] }
    }
}
