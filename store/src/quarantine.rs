//! The quarantine: every line the store refused, with why, where from and when. Nothing is
//! dropped silently; an operator can list the entries and replay them once the cause is fixed.

use serde::{Deserialize, Serialize};

/// One refused line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// Entry id (increasing).
    pub id: u64,
    /// When the store received it, ns since the epoch.
    pub received_ns: i64,
    /// Where it came from (`import:FILE`, `http:/write`, ...).
    pub source: String,
    /// 1-based line number in its source (0 when the source has no lines).
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
    /// Timestamp precision of the source, as a line-protocol name (`ns`, `ms`, ...), so that a
    /// replay reads the timestamp as it was meant.
    pub precision: String,
    /// The line as received (lossless, even when it is not UTF-8).
    pub raw: Vec<u8>,
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Entries whose line is now stored (and removed from the quarantine).
    pub stored: u64,
    /// Entries refused again (kept, with the new reason).
    pub still_rejected: u64,
}
