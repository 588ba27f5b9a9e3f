//! The deletion ledger's worker side: destruction in a customer's store with its ledger entry
//! (intent, store transaction with receipt, settlement), recovery after a crash between them,
//! and the checkpointer that signs tree heads every N entries or T seconds.

pub mod checkpointer;
pub mod external;
pub mod receipts;
pub mod recovery;
pub mod settlements;
pub mod sweep;

pub use checkpointer::CheckpointSettings;
pub use settlements::Settlements;
