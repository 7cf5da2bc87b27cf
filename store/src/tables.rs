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

/// Erasure id -> postcard-encoded [`crate::erase::ErasureReceipt`]: what an erasure removed,
/// without personal data. A receipt not yet finished is resumed at open.
pub const ERASURES: TableDefinition<u64, &[u8]> = TableDefinition::new("erasures");

/// Salted SHA-256 of (identifier type, value) -> postcard-encoded
/// [`crate::suppress::Suppressed`]: identifiers refused at ingest (erased customers).
pub const SUPPRESSED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("suppressed");

/// Customer key -> time (ns) it opted out: events carrying its identifiers are refused.
pub const OPTED_OUT: TableDefinition<u32, i64> = TableDefinition::new("opted_out");

/// Key -> bytes: state of the layers above the store (named segments defined through the
/// API, their membership and size history, automation), written through the writer.
pub const APP_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("app_state");

/// Copies every table of `from` into the empty database `to`, one transaction per table.
/// Refuses (before copying) a file holding a table this build does not know: it would be
/// dropped. `Store::compact` uses this so that the new file holds no byte of deleted data.
pub(crate) fn copy_all(from: &redb::Database, to: &redb::Database) -> crate::Result<()> {
    use redb::{ReadableDatabase, TableHandle};
    let known = [
        META.name(),
        PARTS.name(),
        PIECES.name(),
        SCHEMA.name(),
        IDENTITIES.name(),
        CUSTOMER_KEYS.name(),
        QUARANTINE.name(),
        FIELD_STATS.name(),
        LINKS.name(),
        REFUSALS.name(),
        BLOCKED.name(),
        SPLITS.name(),
        PROFILES.name(),
        ERASURES.name(),
        SUPPRESSED.name(),
        OPTED_OUT.name(),
        APP_STATE.name(),
    ];
    let txn = from.begin_read()?;
    let tables: Vec<String> = txn.list_tables()?.map(|t| t.name().to_owned()).collect();
    let multimap = txn.list_multimap_tables()?.next().is_some();
    if let Some(unknown) = tables.iter().find(|t| !known.contains(&t.as_str())) {
        return Err(crate::StoreError::Format(format!("table {unknown:?} is unknown to this build: not compacting")));
    }
    if multimap {
        return Err(crate::StoreError::Format("multimap tables are unknown to this build: not compacting".into()));
    }
    copy(&txn, to, META)?;
    copy(&txn, to, PARTS)?;
    copy(&txn, to, PIECES)?;
    copy(&txn, to, SCHEMA)?;
    copy(&txn, to, IDENTITIES)?;
    copy(&txn, to, CUSTOMER_KEYS)?;
    copy(&txn, to, QUARANTINE)?;
    copy(&txn, to, FIELD_STATS)?;
    copy(&txn, to, LINKS)?;
    copy(&txn, to, REFUSALS)?;
    copy(&txn, to, BLOCKED)?;
    copy(&txn, to, SPLITS)?;
    copy(&txn, to, PROFILES)?;
    copy(&txn, to, ERASURES)?;
    copy(&txn, to, SUPPRESSED)?;
    copy(&txn, to, OPTED_OUT)?;
    copy(&txn, to, APP_STATE)?;
    Ok(())
}

fn copy<K: redb::Key + 'static, V: redb::Value + 'static>(
    from: &redb::ReadTransaction,
    to: &redb::Database,
    def: TableDefinition<K, V>,
) -> crate::Result<()> {
    use redb::ReadableTable;
    let src = match from.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let txn = to.begin_write()?;
    {
        let mut dst = txn.open_table(def)?;
        for entry in src.iter()? {
            let (k, v) = entry?;
            dst.insert(k.value(), v.value())?;
        }
    }
    txn.commit()?;
    Ok(())
}
