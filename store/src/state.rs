//! State of the layers above the store, by key: named segments defined through the API, their
//! membership and size history, automation. The store keeps the bytes durable and consistent
//! with the events (one file, one writer) and knows nothing of what they mean.

use std::sync::mpsc::sync_channel;

use redb::{Database, Durability, ReadTransaction, TableDefinition, WriteTransaction};

use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::tables::APP_STATE;
use crate::writer::Request;

/// A table of state entries by key, as the store keeps them (and automation, in its own file).
pub type StateTable = TableDefinition<'static, &'static str, &'static [u8]>;

/// Sets (`Some`) or removes (`None`) `entries` of `table` in `txn`.
pub fn apply_state(txn: &WriteTransaction, table: StateTable, entries: &[(String, Option<Vec<u8>>)]) -> Result<()> {
    let mut table = txn.open_table(table)?;
    for (key, value) in entries {
        match value {
            Some(v) => drop(table.insert(key.as_str(), v.as_slice())?),
            None => drop(table.remove(key.as_str())?),
        }
    }
    Ok(())
}

/// The entry `key` of `table` (none when the table was never written).
pub fn read_state(txn: &ReadTransaction, table: StateTable, key: &str) -> Result<Option<Vec<u8>>> {
    let table = match txn.open_table(table) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(table.get(key)?.map(|v| v.value().to_vec()))
}

/// Every entry of `table` whose key starts with `prefix`, by key.
pub fn read_states(txn: &ReadTransaction, table: StateTable, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let table = match txn.open_table(table) {
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

// Runs in the writer, alone: one durable transaction for all entries.
pub(crate) fn write(db: &Database, entries: &[(String, Option<Vec<u8>>)]) -> Result<()> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate).map_err(|e| StoreError::Format(e.to_string()))?;
    apply_state(&txn, APP_STATE, entries)?;
    txn.commit()?;
    Ok(())
}

impl Store {
    /// Sets (`Some`) or removes (`None`) state entries, all in one durable transaction.
    pub fn put_state(&self, entries: Vec<(String, Option<Vec<u8>>)>) -> Result<()> {
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        let (reply, rx) = sync_channel(1);
        tx.send(Request::State { entries, reply }).map_err(|_| StoreError::WriterGone)?;
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }

    /// The state entry `key`.
    pub fn state(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let (_, txn) = self.shared.snapshot()?;
        read_state(&txn, APP_STATE, key)
    }

    /// Every state entry whose key starts with `prefix`, by key.
    pub fn states(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let (_, txn) = self.shared.snapshot()?;
        read_states(&txn, APP_STATE, prefix)
    }
}
