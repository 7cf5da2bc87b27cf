//! Every redb table of the store, in one place, so that key and value types are visible
//! together. The layout is documented in `store/FORMAT.md`; change both or neither.

use redb::TableDefinition;

/// Store-wide values: the format marker (`format`) and the counters (`counters`).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Part id -> postcard-encoded [`crate::part::PartMeta`].
pub const PARTS: TableDefinition<u64, &[u8]> = TableDefinition::new("parts");

/// (part id, piece index) -> a piece of the part's stream: all its column chunks one after
/// another, cut into pieces of `pieces::PIECE_BYTES` (see `pieces.rs` for why).
pub const PIECES: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("pieces");

/// Measurement -> postcard-encoded [`crate::catalog::MeasurementSchema`].
pub const SCHEMA: TableDefinition<&str, &[u8]> = TableDefinition::new("schema");

/// (identifier kind, identifier value) -> customer key.
pub const IDENTITIES: TableDefinition<(u8, &str), u32> = TableDefinition::new("identities");

/// Customer key -> (identifier kind, identifier value) it was allocated for.
pub const CUSTOMER_KEYS: TableDefinition<u32, (u8, &str)> = TableDefinition::new("customer_keys");

/// Quarantine id -> postcard-encoded [`crate::quarantine::QuarantineEntry`].
pub const QUARANTINE: TableDefinition<u64, &[u8]> = TableDefinition::new("quarantine");

/// (measurement, canonical field) -> postcard-encoded `dict::FieldStats`: data-quality counts
/// of the data dictionary, updated in the same transaction as the events they count.
pub const FIELD_STATS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("field_stats");

/// Link id -> postcard-encoded [`crate::links::Link`]: append-only identity links.
pub const LINKS: TableDefinition<u64, &[u8]> = TableDefinition::new("links");

/// Refusal id -> postcard-encoded [`crate::identity::Refusal`]: links a guardrail refused.
pub const REFUSALS: TableDefinition<u64, &[u8]> = TableDefinition::new("identity_refusals");

/// (identifier type, blocked value) -> events that carried it (and were keyed without it).
pub const BLOCKED: TableDefinition<(u8, &str), u64> = TableDefinition::new("identity_blocked");

/// Link id -> postcard-encoded [`crate::identity::Split`]: links an operator undid.
pub const SPLITS: TableDefinition<u64, &[u8]> = TableDefinition::new("identity_splits");

/// Root customer key -> postcard-encoded profile: the last profile checkpoint (the record
/// `profiles` in `meta` says which events it includes).
pub const PROFILES: TableDefinition<u32, &[u8]> = TableDefinition::new("profiles");
