//! Automation's own redb file, `automation.redb` in the data directory, with its log
//! (`automation.wal`, see `wal.rs`). The engine's state and the outbox commit on their own
//! here instead of queueing behind ingest groups and merges in the store's single writer, and
//! a change is durable once its log record is: an event's message is durable (and on its
//! way) within a few milliseconds of the event's commit even at 100,000 events/s. Nothing
//! needs the two stores to commit together: the cursor saved here only ever names events the
//! store has already committed.

use std::path::Path;
use std::sync::Mutex;

use cxp_store::{StateTable, Store, StoreError, apply_state, read_state, read_states};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use super::wal::Wal;

const STATE: StateTable = TableDefinition::new("state");
/// The sequence number of the last log record applied (`seq`).
const LOG: TableDefinition<&str, u64> = TableDefinition::new("log");

/// File name inside the data directory.
pub const FILE_NAME: &str = "automation.redb";
/// The log's file name inside the data directory.
pub const LOG_FILE_NAME: &str = "automation.wal";
/// The most the log grows to before a checkpoint starts it again.
const LOG_CAP: u64 = 32 << 20;

type Entries = Vec<(String, Option<Vec<u8>>)>;

/// The log and the last sequence number given out, together under one lock so that records
/// and commits are in the same order.
#[derive(Debug)]
struct Logged {
    wal: Wal,
    seq: u64,
}

/// Key-value state of automation (keys listed in `state.rs`).
pub struct StateDb {
    db: Database,
    log: Mutex<Logged>,
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
        Self::open_with(dir, store, LOG_CAP)
    }

    fn open_with(dir: &Path, store: &Store, log_cap: u64) -> Result<StateDb, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io { path: dir.display().to_string(), source: e })?;
        let db = Database::builder().set_cache_size(16 << 20).create(dir.join(FILE_NAME))?;
        let log_path = dir.join(LOG_FILE_NAME);
        let (wal, records) = Wal::open(&log_path, log_cap)
            .map_err(|e| StoreError::Io { path: log_path.display().to_string(), source: e })?;
        let durable = applied_seq(&db)?;
        let this = StateDb { db, log: Mutex::new(Logged { wal, seq: durable }) };
        // Changes logged after the last durable commit (a crash came before the checkpoint):
        // apply them, durably, and start the log again.
        let newer: Vec<(u64, Vec<u8>)> = records.into_iter().filter(|(seq, _)| *seq > durable).collect();
        if let Some(last) = newer.last().map(|(seq, _)| *seq) {
            let mut all: Entries = Vec::new();
            for (seq, payload) in &newer {
                let entries: Entries = postcard::from_bytes(payload)
                    .map_err(|e| StoreError::Format(format!("{LOG_FILE_NAME}: record {seq}: {e}")))?;
                all.extend(entries);
            }
            this.commit(&all, last, Durability::Immediate)?;
            tracing::info!(records = newer.len(), "automation state brought up to date from its log");
            lock(&this.log).seq = last;
        }
        lock(&this.log).wal.reset();
        if this.state("auto.meta")?.is_none() && store.state("auto.meta")?.is_some() {
            let old = store.states("auto.")?;
            let keys: Vec<(String, Option<Vec<u8>>)> = old.iter().map(|(k, _)| (k.clone(), None)).collect();
            this.put_state(old.into_iter().map(|(k, v)| (k, Some(v))).collect())?;
            store.put_state(keys)?;
            tracing::info!("automation state moved out of the store into {FILE_NAME}");
        }
        Ok(this)
    }

    /// Writes (`Some`) and removes (`None`) entries, atomically and durably: logged, then
    /// committed to redb without waiting for the disk. When the log is full, everything
    /// committed so far is made durable in redb first and the log starts again; a change
    /// larger than the log goes to redb durably on its own.
    pub fn put_state(&self, entries: Entries) -> Result<(), StoreError> {
        let mut log = lock(&self.log);
        let payload = postcard::to_stdvec(&entries).map_err(|e| StoreError::Format(e.to_string()))?;
        if !log.wal.fits(payload.len()) {
            self.commit(&[], log.seq, Durability::Immediate)?;
            log.wal.reset();
        }
        let seq = log.seq + 1;
        if !log.wal.fits(payload.len()) {
            self.commit(&entries, seq, Durability::Immediate)?;
            log.seq = seq;
            return Ok(());
        }
        let io = |e| StoreError::Io { path: LOG_FILE_NAME.into(), source: e };
        let start = log.wal.append(seq, &payload).map_err(io)?;
        log.seq = seq;
        let committed = self.commit(&entries, seq, Durability::None);
        if committed.is_err() {
            // The caller hears that nothing was saved (and sends nothing): the record must not
            // come back at the next open either.
            match log.wal.undo(start) {
                Ok(()) => log.seq = seq - 1,
                Err(e) => tracing::error!(error = %e, "automation log: a change that failed could not be taken back"),
            }
        }
        committed
    }

    /// Makes everything durable in redb and overwrites the log, so that it keeps nothing of
    /// what was just removed (an erasure).
    pub fn scrub_log(&self) -> Result<(), StoreError> {
        let mut log = lock(&self.log);
        self.commit(&[], log.seq, Durability::Immediate)?;
        log.wal.scrub().map_err(|e| StoreError::Io { path: LOG_FILE_NAME.into(), source: e })
    }

    fn commit(
        &self,
        entries: &[(String, Option<Vec<u8>>)],
        seq: u64,
        durability: Durability,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability).map_err(|e| StoreError::Format(e.to_string()))?;
        apply_state(&txn, STATE, entries)?;
        txn.open_table(LOG)?.insert("seq", seq)?;
        txn.commit()?;
        Ok(())
    }

    /// The entry `key`.
    pub fn state(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read_state(&self.db.begin_read()?, STATE, key)
    }

    /// Every entry whose key starts with `prefix`, by key.
    pub fn states(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        read_states(&self.db.begin_read()?, STATE, prefix)
    }
}

impl Drop for StateDb {
    // A last checkpoint, so that a clean stop leaves nothing to replay.
    fn drop(&mut self) {
        let seq = lock(&self.log).seq;
        if let Err(e) = self.commit(&[], seq, Durability::Immediate) {
            tracing::warn!(error = %e, "automation state: the last checkpoint failed; the log will be replayed");
        }
    }
}

fn lock(m: &Mutex<Logged>) -> std::sync::MutexGuard<'_, Logged> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sequence number of the last log record whose changes redb holds durably.
fn applied_seq(db: &Database) -> Result<u64, StoreError> {
    let txn = db.begin_read()?;
    match txn.open_table(LOG) {
        Ok(t) => Ok(t.get("seq")?.map_or(0, |v| v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
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

    // A copy of the files taken while the database is open is what a crash leaves: redb's last
    // durable commit plus the log.
    fn crash_image(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("dir");
        for name in [FILE_NAME, LOG_FILE_NAME] {
            std::fs::copy(from.join(name), to.join(name)).expect("copy");
        }
    }

    #[test]
    fn a_crash_after_put_state_returns_loses_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = cxp_store::StoreOptions { search: false, ..Default::default() };
        let store = Store::open(dir.path().join("store"), opts).expect("open");
        let live = dir.path().join("live");
        let db = StateDb::open_with(&live, &store, 0).expect("open db");
        for i in 0..50u32 {
            db.put_state(vec![(format!("auto.i/{i:03}"), Some(i.to_le_bytes().to_vec()))]).expect("put");
        }
        db.put_state(vec![("auto.i/007".into(), None)]).expect("remove");
        // Past the log's size (4 MiB at least): a checkpoint, and the log starts again.
        let big = vec![1u8; 1 << 20];
        for i in 0..6u32 {
            db.put_state(vec![(format!("auto.big/{i}"), Some(big.clone()))]).expect("put big");
        }
        // Larger than the whole log: straight to redb, durably.
        db.put_state(vec![("auto.huge".into(), Some(vec![2u8; 5 << 20]))]).expect("put huge");
        db.put_state(vec![("auto.last".into(), Some(b"x".to_vec()))]).expect("put last");
        let image = dir.path().join("image");
        crash_image(&live, &image);
        let back = StateDb::open_with(&image, &store, 0).expect("reopen the image");
        let small = back.states("auto.i/").expect("range");
        assert_eq!(small.len(), 49);
        assert!(small.iter().all(|(k, _)| k != "auto.i/007"));
        assert_eq!(back.state("auto.i/042").expect("get"), Some(42u32.to_le_bytes().to_vec()));
        assert_eq!(back.states("auto.big/").expect("range").len(), 6);
        assert_eq!(back.state("auto.huge").expect("get").map(|v| v.len()), Some(5 << 20));
        assert_eq!(back.state("auto.last").expect("get"), Some(b"x".to_vec()));
        // And it goes on from there: a later write survives the next crash too.
        back.put_state(vec![("auto.after".into(), Some(b"y".to_vec()))]).expect("put after");
        let again = dir.path().join("again");
        crash_image(&image, &again);
        let back = StateDb::open_with(&again, &store, 0).expect("reopen");
        assert_eq!(back.state("auto.after").expect("get"), Some(b"y".to_vec()));
        assert_eq!(back.state("auto.last").expect("get"), Some(b"x".to_vec()));
        drop((db, back));
    }
}
