//! Signs checkpoints every N entries or T seconds, whichever comes first.

use std::time::Duration;

/// When checkpoints are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointSettings {
    /// Sign once this many entries are unsigned.
    pub every_entries: u64,
    /// Sign once the oldest unsigned entry has waited this long.
    pub every: Duration,
    /// How often to look.
    pub poll: Duration,
}

impl Default for CheckpointSettings {
    fn default() -> Self {
        Self { every_entries: 1_000, every: Duration::from_secs(60), poll: Duration::from_secs(1) }
    }
}
