//! What a dry run of a policy finds, whatever the store's kind: [`Preview`].

use time::OffsetDateTime;
use uuid::Uuid;

/// Primary keys in a preview's sample.
pub const SAMPLE: u64 = 20;

/// What the next run would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Rows dated before this are past the age.
    pub cutoff: OffsetDateTime,
    /// Rows the run would delete or anonymise.
    pub rows: u64,
    /// The oldest affected row's age, as the store shows it.
    pub oldest: Option<String>,
    /// The newest affected row's age.
    pub newest: Option<String>,
    /// Primary keys of the first affected rows, in key order (each key's columns as text).
    pub sample: Vec<Vec<String>>,
    /// The legal hold that covers the whole table, store or organization (nothing would go).
    pub held_by: Option<Uuid>,
}
