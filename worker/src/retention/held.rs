//! The rows of one table that legal holds on subjects keep ([`Held`]): what a purge and a
//! preview leave out. How they are found is [`super::holds`].

/// Rows whose `column` holds one of `values` are held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    /// The identity column.
    pub column: String,
    /// Compare ignoring case (`values` are lower-case then).
    pub ignore_case: bool,
    /// The held subjects' identities (personal data: never logged).
    pub values: Vec<String>,
}

/// The rows of one table that subject holds keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// By identity column.
    pub columns: Vec<Excluded>,
    /// By primary key (columns as text, in key order), as located; for a Redis store, the
    /// held keys themselves (one element each).
    pub keys: Vec<Vec<String>>,
}
