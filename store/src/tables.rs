//! Every redb table of the store, in one place, so that key and value types are visible
//! together. The layout is documented in `store/FORMAT.md`; change both or neither.

use redb::TableDefinition;

/// Store-wide values: the format marker (`format`) and the counters (`counters`).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Part id -> postcard-encoded [`crate::part::PartMeta`].
pub const PARTS: TableDefinition<u64, &[u8]> = TableDefinition::new("parts");

/// (part id, chunk index, column index) -> encoded column chunk. Column 0 is `ts`, 1 `ck`,
/// 2 `seq`, then the part's tag and field columns in the order of its metadata.
pub const CHUNKS: TableDefinition<(u64, u32, u32), &[u8]> = TableDefinition::new("chunks");

/// Measurement -> postcard-encoded [`crate::catalog::MeasurementSchema`].
pub const SCHEMA: TableDefinition<&str, &[u8]> = TableDefinition::new("schema");

/// (identifier kind, identifier value) -> customer key.
pub const IDENTITIES: TableDefinition<(u8, &str), u32> = TableDefinition::new("identities");

/// Customer key -> (identifier kind, identifier value) it was allocated for.
pub const CUSTOMER_KEYS: TableDefinition<u32, (u8, &str)> = TableDefinition::new("customer_keys");

/// Quarantine id -> postcard-encoded [`crate::quarantine::QuarantineEntry`].
pub const QUARANTINE: TableDefinition<u64, &[u8]> = TableDefinition::new("quarantine");

/// Chunk column index of the event time.
pub const COL_TS: u32 = 0;
/// Chunk column index of the customer key.
pub const COL_CK: u32 = 1;
/// Chunk column index of the sequence number.
pub const COL_SEQ: u32 = 2;
/// Chunk column index of a part's first tag or field column.
pub const COL_FIRST: u32 = 3;
