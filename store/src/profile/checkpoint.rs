//! Profile checkpoints: the profiles changed since the last checkpoint are written in one
//! transaction with the sequence number they include, so that an open replays only newer
//! events. A checkpoint is a cache of what the events say: when its version, the
//! configuration or the identity splits differ, it is ignored and profiles are rebuilt.

use redb::{ReadableTable, ReadableTableMetadata, Table, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{Interner, Profiles};
use crate::error::{Result, meta_err};
use crate::tables::{META, PROFILES, SPLITS};

const VERSION: u32 = 1;
const KEY: &str = "profiles";

#[derive(Debug, Serialize, Deserialize)]
struct CheckpointMeta {
    version: u32,
    /// Every event with a smaller sequence number is in the profiles.
    next_seq: u64,
    fingerprint: u64,
    splits: u64,
    names: Vec<String>,
    values: Vec<String>,
}

/// Writes the profiles changed since the last checkpoint and the checkpoint record.
pub(crate) fn write(txn: &WriteTransaction, profiles: &Profiles, next_seq: u64) -> Result<()> {
    let mut table: Table<u32, &[u8]> = txn.open_table(PROFILES)?;
    if profiles.full {
        // Rebuilt from the events: no record of the old checkpoint may survive.
        table.retain(|_, _| false)?;
    }
    for ck in &profiles.removed {
        table.remove(*ck)?;
    }
    // The packed record in RAM is the checkpoint record.
    let every: Box<dyn Iterator<Item = crate::types::Ck>> =
        if profiles.full { Box::new(profiles.map.keys()) } else { Box::new(profiles.dirty.iter().copied()) };
    for ck in every {
        if let Some(bytes) = profiles.map.raw(ck) {
            table.insert(ck, &*bytes)?;
        }
    }
    let splits = txn.open_table(SPLITS)?.len()?;
    let meta = CheckpointMeta {
        version: VERSION,
        next_seq,
        fingerprint: profiles.cfg.fingerprint,
        splits,
        names: profiles.names.all(),
        values: profiles.values.all(),
    };
    let bytes = postcard::to_allocvec(&meta).map_err(meta_err("profile checkpoint"))?;
    txn.open_table(META)?.insert(KEY, bytes.as_slice())?;
    Ok(())
}

/// Loads the checkpoint into `profiles` when it is usable; returns the sequence number to
/// replay from (1: everything).
pub(crate) fn load(txn: &redb::ReadTransaction, profiles: &mut Profiles) -> Result<u64> {
    let meta_table = txn.open_table(META)?;
    profiles.full = true;
    let Some(raw) = meta_table.get(KEY)? else { return Ok(1) };
    let Ok(meta) = postcard::from_bytes::<CheckpointMeta>(raw.value()) else { return Ok(1) };
    let splits = txn.open_table(SPLITS)?.len()?;
    if meta.version != VERSION || meta.fingerprint != profiles.cfg.fingerprint || meta.splits != splits {
        return Ok(1);
    }
    profiles.names = Interner::from_names(meta.names);
    profiles.values = Interner::from_names(meta.values);
    for entry in txn.open_table(PROFILES)?.iter()? {
        let (k, v) = entry?;
        if !profiles.map.load(k.value(), v.value()) {
            // A record this build cannot read: start over from the events.
            profiles.map.clear();
            profiles.names = Interner::default();
            profiles.values = Interner::default();
            return Ok(1);
        }
    }
    profiles.full = false;
    Ok(meta.next_seq)
}
