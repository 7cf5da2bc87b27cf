//! What to generate: sizes, period and seed.

/// 2026-01-01T00:00:00Z in nanoseconds since the Unix epoch.
pub const DEFAULT_START_NS: i64 = 1_767_225_600 * 1_000_000_000;

/// The largest customer count honoured; identifiers (phones, member cards) stay unique up to
/// here, and larger values are clamped to it.
pub const MAX_CUSTOMERS: u64 = 90_000_000;

/// Parameters of a synthetic stream. The same configuration always yields the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenConfig {
    /// Number of customers, `c-1` to `c-<customers>` (at least 1, at most [`MAX_CUSTOMERS`]).
    /// Not every customer need appear: light customers may stay silent in a short stream.
    pub customers: u64,
    /// Exact number of lines produced.
    pub events: u64,
    /// Length of the period in days (at least 1); timestamps fall in
    /// `[start_ns, start_ns + days * 86_400 * 10^9)`.
    pub days: u32,
    /// Seed of the random stream.
    pub seed: u64,
    /// Start of the period, nanoseconds since the Unix epoch.
    pub start_ns: i64,
}

impl Default for GenConfig {
    /// 10,000 customers, 1,000,000 events over 90 days from 2026-01-01 UTC, seed 42.
    fn default() -> Self {
        GenConfig { customers: 10_000, events: 1_000_000, days: 90, seed: 42, start_ns: DEFAULT_START_NS }
    }
}

impl GenConfig {
    /// The customer count actually used (clamped to `1..=MAX_CUSTOMERS`).
    pub(crate) fn customer_count(&self) -> u32 {
        self.customers.clamp(1, MAX_CUSTOMERS) as u32
    }

    /// The number of days actually used (at least 1).
    pub(crate) fn day_count(&self) -> u32 {
        self.days.max(1)
    }
}
