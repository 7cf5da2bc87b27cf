//! Automation's own redb file, `automation.redb` in the data directory. The engine's state
//! and the outbox commit on their own here, in well under a millisecond, instead of queueing
//! behind ingest groups and merges in the store's single writer: an event's message is
//! durable (and on its way) within a few milliseconds of the event's commit even at 100,000
//! events/s. Nothing needs the two files to commit together: the cursor saved here only ever
//! names events the store has already committed.

use std::path::Path;

use cxp_store::{Store, StoreError};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};

const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");

/// File name inside the data directory.
pub const FILE_NAME: &str = "automation.redb";

/// Key-value state of automation (keys listed in `state.rs`).
pub struct StateDb {
    db: Database,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateDb")
    }
}

impl StateDb {
    /// Opens (or creates) the file in `dir`; state an earlier version kept in the store's app
    /// state moves over once.
    pub fn open(dir: &Path, store: &Store) -> Result<StateDb, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io { path: dir.display().to_string(), source: e })?;
        let db = Database::builder().set_cache_size(16 << 20).create(dir.join(FILE_NAME))?;
        let this = StateDb { db };
        if this.state("auto.meta")?.is_none() && store.state("auto.meta")?.is_some() {
            let old = store.states("auto.")?;
            let keys: Vec<(String, Option<Vec<u8>>)> = old.iter().map(|(k, _)| (k.clone(), None)).collect();
            this.put_state(old.into_iter().map(|(k, v)| (k, Some(v))).collect())?;
            store.put_state(keys)?;
            tracing::info!("automation state moved out of the store into {FILE_NAME}");
        }
        Ok(this)
    }

    /// Writes (`Some`) and removes (`None`) entries in one durable transaction.
    pub fn put_state(&self, entries: Vec<(String, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate).map_err(|e| StoreError::Format(e.to_string()))?;
        {
            let mut table = txn.open_table(STATE)?;
            for (key, value) in &entries {
                match value {
                    Some(v) => drop(table.insert(key.as_str(), v.as_slice())?),
                    None => drop(table.remove(key.as_str())?),
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The entry `key`.
    pub fn state(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(STATE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Every entry whose key starts with `prefix`, by key.
    pub fn states(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(STATE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for entry in table.range(prefix..)? {
            let (k, v) = entry?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_owned(), v.value().to_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reads_by_prefix_and_moves_state_out_of_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(dir.path(), cxp_store::StoreOptions { search: false, ..Default::default() }).expect("open");
        store
            .put_state(vec![
                ("auto.meta".into(), Some(b"{}".to_vec())),
                ("auto.i/1".into(), Some(b"x".to_vec())),
                ("model.keep".into(), Some(b"y".to_vec())),
            ])
            .expect("put");
        let db = StateDb::open(dir.path(), &store).expect("open db");
        assert_eq!(db.state("auto.meta").expect("get"), Some(b"{}".to_vec()));
        assert_eq!(db.states("auto.i/").expect("range"), vec![("auto.i/1".to_owned(), b"x".to_vec())]);
        assert!(store.states("auto.").expect("store").is_empty(), "moved, not copied");
        assert_eq!(store.state("model.keep").expect("store"), Some(b"y".to_vec()));
        db.put_state(vec![("auto.i/1".into(), None), ("auto.i/2".into(), Some(b"z".to_vec()))]).expect("put");
        assert_eq!(db.states("auto.i/").expect("range"), vec![("auto.i/2".to_owned(), b"z".to_vec())]);
        drop(db);
        // Reopened: nothing moves twice, what was written is there.
        let db = StateDb::open(dir.path(), &store).expect("reopen");
        assert_eq!(db.states("auto.").expect("all").len(), 2);
    }
}
