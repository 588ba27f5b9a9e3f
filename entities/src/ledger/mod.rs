//! The deletion ledger: every destruction Lethe performs, provable later without trusting
//! Lethe's database.
//!
//! * [`entry`]: what an entry holds and its canonical encoding;
//! * [`merkle`]: RFC 9162 tree hashing, frontier, inclusion and consistency proofs;
//! * [`checkpoint`]: Ed25519-signed tree heads;
//! * [`verify`]: offline verification of an export;
//! * [`append`]: the one function every destruction calls inside its own transaction;
//! * [`signer`]: the signing key (generated on first start, encrypted under the master key)
//!   and checkpoint writing;
//! * [`intent`]: intents for work done in customers' stores, settled after their transaction;
//! * [`read`]: queries for the API and the export;
//! * [`certificate`]: signed certificates of erasure for completed erasure requests.
//!
//! Each organization has its own ledger (own sequence, own tree): an auditor of one tenant
//! sees nothing of another's.

pub mod append;
pub mod certificate;
pub mod checkpoint;
pub mod entry;
pub mod intent;
pub mod merkle;
pub mod read;
pub mod signer;
pub mod verify;

pub use append::{Appended, NewEntry, append};
pub use entry::{EntryKind, SubjectRef};

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The entry to append is not acceptable (the message names the field, never a value).
    #[error("invalid ledger entry: {0}")]
    Invalid(&'static str),
    /// The stored ledger is inconsistent with itself (a corrupted head).
    #[error("the stored ledger is inconsistent: {0}")]
    Corrupt(&'static str),
    /// The signing key could not be loaded.
    #[error("the ledger signing key cannot be read: {0}")]
    Key(&'static str),
    /// No such intent.
    #[error("ledger intent not found")]
    IntentNotFound,
    /// A database failure.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}
