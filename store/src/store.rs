//! The store handle: open, write, scan, quarantine, merge, close.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::batch::Batch;
use crate::catalog::{Catalog, MeasurementSchema};
use crate::error::{Result, StoreError, meta_err};
use crate::identity::{IdTypes, Identity, IdentityPlan, Resolver};
use crate::manifest::{Manifest, Shared};
use crate::merge::{MergePolicy, merge_once, run_merger};
use crate::part::{Level, PartInfo, PartMeta};
use crate::quarantine::{QuarantineEntry, ReplayReport};
use crate::scan::{Scan, ScanRequest};
use crate::tables::{
    BLOCKED, CUSTOMER_KEYS, FIELD_STATS, IDENTITIES, LINKS, META, PARTS, PIECES, QUARANTINE, REFUSALS, SCHEMA, SPLITS,
};
use crate::writer::{Request, WriteReceipt, Writer, read_counters, write_counters};

/// The file name of the store inside its data directory.
pub const FILE_NAME: &str = "events.redb";
/// On-disk format version; see `store/FORMAT.md`.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_KEY: &str = "format";
const MAGIC: &[u8; 10] = b"cxp-store\0";

/// How to run a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Merge in the background after commits.
    pub auto_merge: bool,
    /// When to merge.
    pub merge: MergePolicy,
    /// Events one group commit takes at most (batches larger than this commit alone).
    pub max_group_events: usize,
    /// Batches that may wait for the writer before `write` blocks (backpressure).
    pub queue_depth: usize,
    /// redb page cache.
    pub cache_bytes: usize,
    /// Keep the customer search index (in `search/` next to the store file).
    pub search: bool,
    /// How often the search index commits (what it has is searchable after a commit).
    pub search_commit_every: std::time::Duration,
    /// How often changed profiles are checkpointed (also at close).
    pub checkpoint_every: std::time::Duration,
    /// Data dictionary applied to every batch before it reaches the writer (aliases,
    /// normalisation, hard rules to the quarantine), and naming the identifier fields.
    pub dictionary: crate::dict::DictionaryChoice,
    /// Refuse events carrying an identifier of an erased or opted-out customer (and keep
    /// digests of erased identifiers to recognise them).
    pub suppression: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            auto_merge: true,
            merge: MergePolicy::default(),
            max_group_events: 64 * 1024,
            queue_depth: 16,
            cache_bytes: 256 * 1024 * 1024,
            dictionary: crate::dict::DictionaryChoice::Off,
            checkpoint_every: std::time::Duration::from_secs(30),
            search: false,
            search_commit_every: std::time::Duration::from_secs(1),
            suppression: true,
        }
    }
}

/// A write in flight: wait for it to be durable.
#[derive(Debug)]
pub struct PendingWrite(std::sync::mpsc::Receiver<Result<WriteReceipt>>);

impl PendingWrite {
    /// Blocks until the batch's transaction has committed (or failed).
    pub fn wait(self) -> Result<WriteReceipt> {
        self.0.recv().map_err(|_| StoreError::WriterGone)?
    }
}

/// Counts for reports and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Live parts per level (fresh, hour, day, month).
    pub parts: [u64; 4],
    /// Events stored.
    pub events: u64,
    /// Encoded bytes of all chunks.
    pub chunk_bytes: u64,
    /// Bytes of part metadata, customer bitmaps included.
    pub meta_bytes: u64,
    /// Customer keys allocated.
    pub customers: u64,
    /// Lines in the quarantine.
    pub quarantined: u64,
    /// Size of the redb file.
    pub file_bytes: u64,
    /// The background merger's last error, if any.
    pub last_merge_error: Option<String>,
}

/// An open event store.
pub struct Store {
    pub(crate) shared: Arc<Shared>,
    path: PathBuf,
    pub(crate) tx: Option<SyncSender<Request>>,
    writer: Option<JoinHandle<()>>,
    merger: Mutex<Option<(SyncSender<()>, JoinHandle<()>)>>,
    merge_policy: MergePolicy,
    pub(crate) dictionary: Option<std::sync::Arc<crate::dict::Dictionary>>,
    pub(crate) search: Option<Arc<crate::search::indexer::SearchShared>>,
    pub(crate) search_tx: Option<std::sync::mpsc::Sender<crate::search::indexer::Work>>,
    indexer: Option<JoinHandle<()>>,
    // One erasure at a time, in receipt order: the search index records the last erasure it
    // applied, which is only enough if they finish in order.
    pub(crate) erasing: Mutex<()>,
    pub(crate) erase_listeners: Mutex<Vec<crate::erase::EraseListener>>,
}

impl Store {
    /// Opens (or creates) the store in directory `dir`.
    pub fn open(dir: impl AsRef<Path>, mut options: StoreOptions) -> Result<Store> {
        // Zeros would make merges spin or divide by zero.
        options.merge.fresh_trigger = options.merge.fresh_trigger.max(1);
        options.merge.max_job_rows = options.merge.max_job_rows.max(1);
        options.merge.max_part_rows = options.merge.max_part_rows.max(1);
        options.queue_depth = options.queue_depth.max(1);
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io { path: dir.display().to_string(), source: e })?;
        let path = dir.join(FILE_NAME);
        // A copy left by a `compact` that did not finish: the store file is whole without it,
        // and it may hold what later erasures removed.
        let _ = std::fs::remove_file(path.with_extension("redb.compacting"));
        let db = Database::builder().set_cache_size(options.cache_bytes).create(&path)?;
        init_format(&db, &path)?;
        let dictionary = choose_dictionary(&db, &options.dictionary, &path)?;
        let plan = identity_plan(&db, dictionary.as_deref())?;
        let (catalog, counters, mut manifest, identity, splits) = load(&db)?;
        // Unfinished erasures stay hidden until `finish_erasures` below completes them.
        manifest.hidden = Arc::new(crate::erase::pending_keys(&db)?);
        let hidden = Arc::clone(&manifest.hidden);
        let suppression = crate::suppress::Suppression::load(&db, options.suppression)?;
        let profiles = load_profiles(&db, &manifest, &identity, dictionary.as_deref())?;
        let shared = Arc::new(Shared {
            db,
            current: Mutex::new(Arc::new(manifest)),
            last_merge_error: Mutex::new(None),
            stopping: Default::default(),
            merging: Mutex::new(()),
            unmergeable: Mutex::default(),
            identity: std::sync::RwLock::new(identity),
            hidden_keys: std::sync::RwLock::new(hidden),
            roster: Mutex::default(),
            profiles: std::sync::RwLock::new(profiles),
            plan: plan.clone(),
            committed_seq: std::sync::atomic::AtomicU64::new(counters.next_seq),
            taps: Mutex::default(),
            scores: Mutex::default(),
        });
        let next_seq = counters.next_seq;
        let (tx, rx) = sync_channel(options.queue_depth);
        let (search, search_tx, indexer) = if options.search {
            let (search, index_writer, from) = crate::search::indexer::open(dir)?;
            let (stx, srx) = std::sync::mpsc::channel();
            let (s, sh, every) = (Arc::clone(&shared), Arc::clone(&search), options.search_commit_every);
            let handle = std::thread::Builder::new()
                .name("cxp-search".into())
                .spawn(move || crate::search::indexer::run(s, sh, index_writer, from, next_seq, srx, every))
                .map_err(|e| StoreError::Io { path: "search thread".into(), source: e })?;
            (Some(search), Some(stx), Some(handle))
        } else {
            (None, None, None)
        };
        let (wake_tx, wake_rx) = sync_channel(1);
        let writer = Writer {
            shared: Arc::clone(&shared),
            catalog,
            resolver: Resolver::new(plan, splits, suppression),
            counters,
            max_group_events: options.max_group_events,
            checkpoint_every: options.checkpoint_every,
            last_checkpoint: std::time::Instant::now(),
            search: search_tx.clone(),
            stage: None,
            checkpoints_off: false,
            dictionary: dictionary.clone(),
        };
        let signal = options.auto_merge.then(|| wake_tx.clone());
        let writer = std::thread::Builder::new()
            .name("cxp-writer".into())
            .spawn(move || writer.run(rx, signal))
            .map_err(|e| StoreError::Io { path: "writer thread".into(), source: e })?;
        let merger = if options.auto_merge {
            let (s, t, p) = (Arc::clone(&shared), tx.clone(), options.merge);
            let handle = std::thread::Builder::new()
                .name("cxp-merger".into())
                .spawn(move || run_merger(s, t, wake_rx, p))
                .map_err(|e| StoreError::Io { path: "merger thread".into(), source: e })?;
            Some((wake_tx, handle))
        } else {
            None
        };
        let store = Store {
            shared,
            path,
            tx: Some(tx),
            writer: Some(writer),
            merger: Mutex::new(merger),
            merge_policy: options.merge,
            dictionary,
            search,
            search_tx,
            indexer,
            erasing: Mutex::new(()),
            erase_listeners: Mutex::default(),
        };
        // An erasure that cannot finish now (a damaged part, say) must not keep the store
        // closed: its person stays hidden, `stats` says why, and the next call retries.
        if let Err(e) = store.finish_erasures() {
            *store.shared.last_merge_error.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(format!("finishing an erasure: {e}"));
        }
        Ok(store)
    }

    /// The data dictionary applied at ingest, if any.
    pub fn dictionary(&self) -> Option<&crate::dict::Dictionary> {
        self.dictionary.as_deref()
    }

    /// The redb file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a batch and waits until it is durable.
    pub fn write(&self, batch: Batch) -> Result<WriteReceipt> {
        self.write_async(batch)?.wait()
    }

    /// Queues a batch for the next group commit; blocks only while the queue is full.
    pub fn write_async(&self, batch: Batch) -> Result<PendingWrite> {
        self.send_write(batch, None)
    }

    fn send_write(&self, batch: Batch, replay_of: Option<u64>) -> Result<PendingWrite> {
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        // On the caller's thread: callers normalise in parallel, the writer only stores.
        let mut quality = crate::dict::DictStats::default();
        let batch = match &self.dictionary {
            Some(dict) => dict.apply(&batch, &mut quality),
            None => batch,
        };
        let (reply, rx) = sync_channel(1);
        tx.send(Request::Write { batch, replay_of, quality, reply }).map_err(|_| StoreError::WriterGone)?;
        Ok(PendingWrite(rx))
    }

    /// Reads events; see [`ScanRequest`].
    pub fn scan(&self, request: ScanRequest) -> Result<Scan> {
        let (manifest, txn) = self.shared.snapshot()?;
        let parts = manifest.parts.get(&request.measurement).cloned().unwrap_or_default();
        Scan::new(parts, &manifest.hidden, txn, request)
    }

    /// Measurements that have stored events.
    pub fn measurements(&self) -> Result<Vec<String>> {
        let (manifest, _) = self.shared.snapshot()?;
        Ok(manifest.parts.keys().cloned().collect())
    }

    /// The earliest and latest event time of every stored event (`None`: no events), from
    /// the part list alone.
    pub fn time_range(&self) -> Result<Option<(i64, i64)>> {
        let (manifest, _) = self.shared.snapshot()?;
        Ok(manifest.all().fold(None, |acc, p| {
            let (a, b) = (p.meta.min_ts, p.meta.max_ts);
            Some(acc.map_or((a, b), |(x, y): (i64, i64)| (x.min(a), y.max(b))))
        }))
    }

    /// Live parts' metadata.
    pub fn parts(&self) -> Result<Vec<PartMeta>> {
        let (manifest, _) = self.shared.snapshot()?;
        Ok(manifest.all().map(|p| p.meta.clone()).collect())
    }

    /// The schema of every measurement.
    pub fn schemas(&self) -> Result<Vec<(String, MeasurementSchema)>> {
        let (_, txn) = self.shared.snapshot()?;
        let table = match txn.open_table(SCHEMA) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            let name = k.value().to_owned();
            out.push((name.clone(), postcard::from_bytes(v.value()).map_err(meta_err(format!("schema of {name}")))?));
        }
        Ok(out)
    }

    /// Data-quality counts of the dictionary per (measurement, canonical field).
    pub fn field_stats(&self) -> Result<BTreeMap<(String, String), crate::dict::FieldStats>> {
        let (_, txn) = self.shared.snapshot()?;
        let table = txn.open_table(FIELD_STATS)?;
        let mut out = BTreeMap::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            let (m, f) = k.value();
            let stats = postcard::from_bytes(v.value()).map_err(meta_err(format!("field stats of {m}.{f}")))?;
            out.insert((m.to_owned(), f.to_owned()), stats);
        }
        Ok(out)
    }

    /// Quarantine entries with id greater than `after`, at most `limit` of them.
    pub fn quarantine(&self, after: u64, limit: usize) -> Result<Vec<QuarantineEntry>> {
        let (_, txn) = self.shared.snapshot()?;
        let table = match txn.open_table(QUARANTINE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for entry in table.range(after.saturating_add(1)..)?.take(limit) {
            let (k, v) = entry?;
            out.push(postcard::from_bytes(v.value()).map_err(meta_err(format!("quarantine entry {}", k.value())))?);
        }
        Ok(out)
    }

    /// Parses the quarantined lines again (with their original precision and receive time)
    /// and stores those that now pass; the others stay with their new reason. `ids = None`
    /// replays every entry.
    pub fn replay_quarantine(&self, ids: Option<&[u64]>) -> Result<ReplayReport> {
        let entries = match ids {
            Some(ids) => ids.iter().filter_map(|id| self.quarantine_entry(*id).transpose()).collect::<Result<_>>()?,
            None => {
                let mut all = Vec::new();
                loop {
                    let page = self.quarantine(all.last().map_or(0, |e: &QuarantineEntry| e.id), 10_000)?;
                    if page.is_empty() {
                        break;
                    }
                    all.extend(page);
                }
                all
            }
        };
        self.replay(entries, None)
    }

    /// One quarantine entry.
    pub fn quarantine_entry(&self, id: u64) -> Result<Option<QuarantineEntry>> {
        let (_, txn) = self.shared.snapshot()?;
        let table = txn.open_table(QUARANTINE)?;
        let Some(v) = table.get(id)? else { return Ok(None) };
        postcard::from_bytes(v.value()).map(Some).map_err(meta_err(format!("quarantine entry {id}")))
    }

    /// Replaces quarantine entry `id`'s line with `fixed` (same precision and receive time)
    /// and replays it: stored and removed if it now passes, kept with the new reason if not.
    /// Returns `None` when there is no such entry.
    pub fn fix_quarantine(&self, id: u64, fixed: &[u8]) -> Result<Option<ReplayReport>> {
        let Some(entry) = self.quarantine_entry(id)? else { return Ok(None) };
        self.replay(vec![entry], Some(fixed)).map(Some)
    }

    fn replay(&self, entries: Vec<QuarantineEntry>, fixed: Option<&[u8]>) -> Result<ReplayReport> {
        let mut report = ReplayReport::default();
        let mut pending = Vec::with_capacity(entries.len());
        for e in entries {
            let precision = cxp_lp::Precision::parse(&e.precision).unwrap_or_default();
            let options = cxp_lp::ParseOptions { precision, ..cxp_lp::ParseOptions::default() };
            let mut batch = Batch::new(e.source.clone());
            batch.push_line_protocol(fixed.unwrap_or(&e.raw), options, e.received_ns, e.line.max(1));
            if batch.is_empty() {
                // A fix that is blank or only comments would delete the entry and store
                // nothing: keep the entry instead.
                report.still_rejected += 1;
                continue;
            }
            pending.push(self.send_write(batch, Some(e.id))?);
        }
        for p in pending {
            let receipt = p.wait()?;
            match (receipt.accepted, receipt.rejected.is_empty()) {
                (_, false) => report.still_rejected += 1,
                (0, true) => {} // replayed meanwhile by another caller
                _ => report.stored += 1,
            }
        }
        Ok(report)
    }

    /// Runs merges until every window holds as few parts as it can, merging fresh parts of
    /// any number. Returns the number of merges done.
    pub fn merge_all(&self) -> Result<u64> {
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        // Fresh parts that arrive while this runs are left to the background merger.
        let cutoff = self.shared.snapshot()?.0.all().map(|p| p.meta.id).max().unwrap_or(0);
        let mut merges = 0;
        while merge_once(&self.shared, tx, &self.merge_policy, true, cutoff)? {
            merges += 1;
        }
        Ok(merges)
    }

    /// Counts of parts, events, bytes and more.
    pub fn stats(&self) -> Result<StoreStats> {
        let (manifest, txn) = self.shared.snapshot()?;
        let mut stats = StoreStats::default();
        for p in manifest.all() {
            let level = match p.meta.level {
                Level::Fresh => 0,
                Level::Hour => 1,
                Level::Day => 2,
                Level::Month => 3,
            };
            stats.parts[level] += 1;
            stats.events += p.meta.rows;
            stats.chunk_bytes += p.meta.bytes();
            stats.meta_bytes +=
                postcard::to_allocvec(&p.meta).map_or(0, |v| v.len() as u64) + p.bitmap.serialized_size() as u64;
        }
        if let Ok(meta) = txn.open_table(META) {
            stats.customers = u64::from(read_counters(&meta)?.next_ck - 1);
        }
        if let Ok(q) = txn.open_table(QUARANTINE) {
            stats.quarantined = q.len()?;
        }
        stats.file_bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        stats.last_merge_error = self.shared.last_merge_error.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(stats)
    }

    /// Stops the merger and the writer (after they finish their current work) and closes
    /// the file.
    pub fn close(mut self) -> Result<()> {
        self.shutdown();
        Ok(())
    }

    /// Merges everything, then copies the live data into a new redb file that replaces the
    /// old one: the space freed by merges is released, and no byte of deleted data (erased
    /// customers included) is left in the file. Also merges the search index's segments.
    pub fn compact(mut self) -> Result<u64> {
        let merges = self.merge_all()?;
        self.shutdown();
        let plan = self.shared.plan.clone();
        let shared = std::mem::replace(
            &mut self.shared,
            Arc::new(Shared {
                db: placeholder_db()?,
                current: Mutex::default(),
                last_merge_error: Mutex::default(),
                stopping: Default::default(),
                merging: Mutex::new(()),
                unmergeable: Mutex::default(),
                identity: Default::default(),
                profiles: std::sync::RwLock::new(crate::profile::Profiles::new(Default::default())),
                plan,
                hidden_keys: Default::default(),
                roster: Mutex::default(),
                committed_seq: Default::default(),
                taps: Mutex::default(),
                scores: Mutex::default(),
            }),
        );
        let shared = Arc::try_unwrap(shared).map_err(|_| StoreError::Format("store still in use".into()))?;
        // A copy rather than redb's own compaction: freed pages (of erased customers, of
        // merged parts) keep their old bytes until overwritten, and a fresh file has none.
        let fresh = self.path.with_extension("redb.compacting");
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| StoreError::Io { path, source }
        };
        match std::fs::remove_file(&fresh) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&fresh)(e)),
        }
        {
            let to = Database::builder().create(&fresh)?;
            crate::tables::copy_all(&shared.db, &to)?;
        }
        let receipts = crate::erase::read_receipts(&shared.db.begin_read()?)?;
        drop(shared);
        std::fs::rename(&fresh, &self.path).map_err(io(&self.path))?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
            crate::search::indexer::offline(dir, &receipts, true)?;
        }
        Ok(merges)
    }

    fn shutdown(&mut self) {
        if let Some((wake, handle)) = self.merger.lock().unwrap_or_else(|p| p.into_inner()).take() {
            self.shared.stopping.store(true, std::sync::atomic::Ordering::Release);
            // Full means a wake-up is already pending; either way the merger sees the flag.
            let _ = wake.try_send(());
            let _ = handle.join();
        }
        self.tx = None;
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
        // The writer held the indexer's other sender: with both gone it commits and stops.
        self.search_tx = None;
        if let Some(handle) = self.indexer.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shutdown();
    }
}

// `compact` needs the real database out of the Arc; an in-memory one stands in meanwhile.
fn placeholder_db() -> Result<Database> {
    Ok(Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?)
}

fn init_format(db: &Database, path: &Path) -> Result<()> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        let found = meta.get(FORMAT_KEY)?.map(|v| v.value().to_vec());
        match found {
            None => {
                let parts = txn.open_table(PARTS)?;
                if !parts.is_empty()? {
                    return Err(StoreError::Format(format!("{}: parts without a format marker", path.display())));
                }
                let mut marker = MAGIC.to_vec();
                marker.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
                meta.insert(FORMAT_KEY, marker.as_slice())?;
                write_counters(&mut meta, &Default::default())?;
            }
            Some(marker) => {
                let version = marker
                    .strip_prefix(MAGIC.as_slice())
                    .and_then(|v| v.try_into().ok())
                    .map(u32::from_le_bytes)
                    .ok_or_else(|| StoreError::Format(format!("{}: not a cxp store", path.display())))?;
                if version != FORMAT_VERSION {
                    return Err(StoreError::Format(format!(
                        "{}: format version {version}, this build reads version {FORMAT_VERSION}",
                        path.display()
                    )));
                }
                if meta.get(crate::writer::COUNTERS_KEY)?.is_none() {
                    return Err(StoreError::Format(format!("{}: the counters record is missing", path.display())));
                }
            }
        }
        // Create every table so that readers never meet a missing one.
        txn.open_table(PIECES)?;
        txn.open_table(SCHEMA)?;
        txn.open_table(IDENTITIES)?;
        txn.open_table(CUSTOMER_KEYS)?;
        txn.open_table(QUARANTINE)?;
        txn.open_table(FIELD_STATS)?;
        txn.open_table(LINKS)?;
        txn.open_table(REFUSALS)?;
        txn.open_table(BLOCKED)?;
        txn.open_table(SPLITS)?;
        txn.open_table(crate::tables::PROFILES)?;
        txn.open_table(crate::tables::ERASURES)?;
        txn.open_table(crate::tables::SUPPRESSED)?;
        txn.open_table(crate::tables::OPTED_OUT)?;
    }
    txn.commit()?;
    Ok(())
}

const ID_TYPES_KEY: &str = "id_types";
const DICTIONARY_KEY: &str = "dictionary";

// The dictionary to apply: the given one (saved for later opens), the saved one, or none.
fn choose_dictionary(
    db: &Database,
    choice: &crate::dict::DictionaryChoice,
    path: &Path,
) -> Result<Option<Arc<crate::dict::Dictionary>>> {
    use crate::dict::{Dictionary, DictionaryChoice};
    match choice {
        DictionaryChoice::Off => Ok(None),
        DictionaryChoice::Use(_) | DictionaryChoice::Disable => {
            let dict = match choice {
                DictionaryChoice::Use(d) => Some(Arc::clone(d)),
                _ => None,
            };
            // An empty record says "no dictionary".
            let text = dict.as_ref().map_or("", |d| d.text());
            let txn = db.begin_write()?;
            txn.open_table(META)?.insert(DICTIONARY_KEY, text.as_bytes())?;
            txn.commit()?;
            Ok(dict)
        }
        DictionaryChoice::Saved => {
            let txn = db.begin_read()?;
            let saved = txn.open_table(META)?.get(DICTIONARY_KEY)?.map(|v| v.value().to_vec());
            let Some(bytes) = saved else { return Ok(Some(Arc::new(Dictionary::builtin()))) };
            if bytes.is_empty() {
                return Ok(None);
            }
            let text = String::from_utf8_lossy(&bytes);
            let dict = Dictionary::parse(&text).map_err(|errors| {
                let first = errors.first().map(ToString::to_string).unwrap_or_default();
                StoreError::Format(format!("{}: the saved data dictionary is invalid: {first}", path.display()))
            })?;
            Ok(Some(Arc::new(dict)))
        }
    }
}

// The identity plan of this open: identifier fields of the dictionary (or the foundation's
// `customer` and `anon`), with the type numbers of this store; new types are persisted.
fn identity_plan(db: &Database, dict: Option<&crate::dict::Dictionary>) -> Result<IdentityPlan> {
    let mut types = read_types(&db.begin_read()?)?;
    let before = types.clone();
    let (fields, rules) = match dict {
        Some(d) => (d.identifier_fields(), d.identity_rules().clone()),
        None => (Vec::new(), Default::default()),
    };
    let plan = IdentityPlan::new(&mut types, &fields, &rules).map_err(StoreError::Invalid)?;
    if types != before {
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let bytes = postcard::to_allocvec(types.declared()).map_err(meta_err("identifier types"))?;
            meta.insert(ID_TYPES_KEY, bytes.as_slice())?;
        }
        txn.commit()?;
    }
    Ok(plan)
}

fn read_types(txn: &redb::ReadTransaction) -> Result<IdTypes> {
    let meta = txn.open_table(META)?;
    let declared: Vec<String> = match meta.get(ID_TYPES_KEY)? {
        Some(v) => postcard::from_bytes(v.value()).map_err(meta_err("identifier types"))?,
        None => Vec::new(),
    };
    Ok(IdTypes::with_declared(declared))
}

// Profiles from the last checkpoint, then the events stored after it.
fn load_profiles(
    db: &Database,
    manifest: &Manifest,
    identity: &Identity,
    dict: Option<&crate::dict::Dictionary>,
) -> Result<crate::profile::Profiles> {
    let cfg = Arc::new(crate::profile::ProfileConfig::new(dict));
    let mut profiles = crate::profile::Profiles::new(cfg);
    let from = crate::profile::checkpoint::load(&db.begin_read()?, &mut profiles)?;
    // Keys that became non-roots after the checkpoint (links replayed below were committed
    // after it) fold into their root.
    let stale: Vec<crate::Ck> = profiles.map.keys().filter(|k| identity.graph.root(*k) != *k).collect();
    for k in stale {
        profiles.union(identity.graph.root(k), k);
    }
    crate::profile::replay::replay(manifest, &|| Ok(db.begin_read()?), &identity.graph, &mut profiles, from, None)?;
    Ok(profiles)
}

type Loaded = (Catalog, crate::writer::Counters, Manifest, Identity, std::collections::HashSet<(crate::Ck, crate::Ck)>);

fn load(db: &Database) -> Result<Loaded> {
    let txn = db.begin_read()?;
    let catalog = Catalog::load(&txn.open_table(SCHEMA)?)?;
    let counters = read_counters(&txn.open_table(META)?)?;
    let mut manifest = Manifest::default();
    for entry in txn.open_table(PARTS)?.iter()? {
        let (k, v) = entry?;
        let meta: PartMeta = postcard::from_bytes(v.value()).map_err(meta_err(format!("part {}", k.value())))?;
        let info = PartInfo::new(meta)
            .map_err(|e| StoreError::Io { path: format!("part {} customers", k.value()), source: e })?;
        manifest.add(info);
    }
    let (graph, splits) = crate::identity::load_graph(&txn)?;
    let identity = Identity { index: crate::identity::load_index(&txn)?, graph, types: read_types(&txn)? };
    Ok((catalog, counters, manifest, identity, splits))
}
