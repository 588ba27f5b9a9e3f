//! Data maps: per store, which tables (or Redis key patterns) hold personal data, which columns
//! identify a person, how rows reference each other (and in which direction locating may follow
//! them), each column's data category, and what erasure does to each row and column.
//!
//! * [`model`]: the types (YAML in files, the same structure as JSON in the API);
//! * [`parse`]: reading YAML/JSON with errors that point at the line and field;
//! * [`validate`]: structural checks (the live schema is checked by the worker);
//! * [`notice`]: what a map tells the person (labels, legal bases, sources, transfers);
//! * [`taxonomy`]: the built-in data categories (fideslang-compatible `user.*`);
//! * [`classify`]: discovery's suggestions from column names and sampled values;
//! * [`graph`]: the organization-wide reference graph that locating walks;
//! * [`fides`]: import of fideslang dataset YAML.

pub mod classify;
pub mod fides;
pub mod graph;
pub mod model;
pub mod notice;
pub mod parse;
pub mod taxonomy;
pub mod validate;

pub use model::{
    ColumnAction, ColumnMap, ColumnRef, DataMap, Direction, KeyMap, KeySource, Matching, Reference, RowErasure,
    TableMap,
};
pub use parse::MapError;
