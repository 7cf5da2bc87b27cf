//! The search indexer: a thread that owns the tantivy writer, applies what the store's writer
//! reports after each commit, and commits every second or so with the redb sequence number
//! the index now includes. At start it catches the index up (or rebuilds it) from redb.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::ReadableDatabase;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::{Fields, SEARCH_DIR, TEXT_FIELDS, register_tokenizers, schema};
use crate::error::{Result, StoreError};
use crate::manifest::Shared;
use crate::scan::{Scan, ScanRequest};
use crate::types::{Ck, NO_CUSTOMER, Value};

// Marks profile documents, so that a catch-up can replace them all at once.
const PROFILE_MARK: &str = "\u{1}profile";

/// What the store's writer reports after a commit.
pub(crate) enum Work {
    Changed {
        /// People whose profile changed.
        roots: Vec<Ck>,
        /// Roots that are no longer people of their own (merged into another).
        gone: Vec<Ck>,
        /// Free texts of the group's events: (event key, text).
        texts: Vec<(Ck, String)>,
        /// Every event before this sequence number is included.
        next_seq: u64,
    },
    /// Commit now and answer when searchable.
    Flush(SyncSender<()>),
    /// Delete every document of these keys, commit, and merge the segments so that no file
    /// of the index keeps their text; answer when done.
    Erase(u64, Vec<Ck>, SyncSender<Result<()>>),
}

/// The index as readers see it.
pub(crate) struct SearchShared {
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    /// Sequence number the last commit includes.
    pub(crate) indexed_seq: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

fn search_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Search(e.to_string())
}

/// Opens the index in `dir`, or creates it when it is missing or cannot be read (a broken
/// index is thrown away: redb has everything to rebuild it). Returns the reader side, the
/// writer and what the index includes (sequence 0: nothing).
pub(crate) fn open(dir: &Path) -> Result<(Arc<SearchShared>, IndexWriter, Indexed)> {
    let path = dir.join(SEARCH_DIR);
    let (schema, fields) = schema();
    let opened = Index::open_in_dir(&path).ok().filter(|i| i.schema() == schema);
    let index = match opened {
        Some(i) => i,
        None => {
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path)
                .map_err(|e| StoreError::Io { path: path.display().to_string(), source: e })?;
            Index::create_in_dir(&path, schema).map_err(search_err)?
        }
    };
    register_tokenizers(&index);
    let indexed = index.load_metas().ok().and_then(|m| m.payload).map_or(Indexed::default(), |p| Indexed::parse(&p));
    let writer: IndexWriter = index.writer_with_num_threads(1, 64 << 20).map_err(search_err)?;
    let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(search_err)?;
    let shared = Arc::new(SearchShared {
        reader,
        fields,
        indexed_seq: AtomicU64::new(indexed.seq),
        last_error: Mutex::new(None),
    });
    Ok((shared, writer, indexed))
}

/// What a commit of the index includes, kept as its payload (`"SEQ ERASURE"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Indexed {
    /// Every event before this sequence number.
    pub(crate) seq: u64,
    /// Every erasure up to this receipt number (erasures run while the store was open
    /// without its index are applied at the next open with it).
    pub(crate) erasure: u64,
}

impl Indexed {
    fn parse(payload: &str) -> Indexed {
        let mut words = payload.split_whitespace().map(|w| w.parse().unwrap_or(0));
        Indexed { seq: words.next().unwrap_or(0), erasure: words.next().unwrap_or(0) }
    }
}

struct Indexer {
    store: Arc<Shared>,
    search: Arc<SearchShared>,
    writer: IndexWriter,
    pending: bool,
    next_seq: u64,
    erasure: u64,
}

/// Runs the indexer until the store's writer hangs up, committing every `every`.
pub(crate) fn run(
    store: Arc<Shared>,
    search: Arc<SearchShared>,
    writer: IndexWriter,
    from: Indexed,
    to_seq: u64,
    rx: Receiver<Work>,
    every: Duration,
) {
    let from_seq = from.seq;
    let mut me = Indexer { store, search, writer, pending: false, next_seq: from_seq, erasure: from.erasure };
    let missed = me.missed_erasures();
    me.record(missed);
    if from_seq < to_seq {
        let caught = me.catch_up(from_seq, to_seq);
        me.record(caught);
    }
    let mut last = Instant::now();
    loop {
        let wait = every.saturating_sub(last.elapsed());
        match rx.recv_timeout(wait) {
            Ok(Work::Changed { roots, gone, texts, next_seq }) => {
                let applied = me.apply(&roots, &gone, &texts);
                me.record(applied);
                me.next_seq = me.next_seq.max(next_seq);
                me.pending = true;
            }
            Ok(Work::Erase(receipt, keys, reply)) => {
                me.erasure = me.erasure.max(receipt);
                let done = me.erase(&keys);
                last = Instant::now();
                let _ = reply.send(done);
            }
            Ok(Work::Flush(reply)) => {
                let done = me.commit();
                me.record(done);
                last = Instant::now();
                let _ = reply.send(());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                let done = me.commit();
                me.record(done);
                return;
            }
        }
        if last.elapsed() >= every {
            let done = me.commit();
            me.record(done);
            last = Instant::now();
        }
    }
}

impl Indexer {
    fn record(&self, r: Result<()>) {
        if let Err(e) = r {
            *self.search.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
    }

    fn commit(&mut self) -> Result<()> {
        if !self.pending {
            return Ok(());
        }
        let mut prepared = self.writer.prepare_commit().map_err(search_err)?;
        prepared.set_payload(&format!("{} {}", self.next_seq, self.erasure));
        prepared.commit().map_err(search_err)?;
        self.search.reader.reload().map_err(search_err)?;
        self.search.indexed_seq.store(self.next_seq, Ordering::Release);
        self.pending = false;
        Ok(())
    }

    // Erasures that ran while the store was open without its index.
    fn missed_erasures(&mut self) -> Result<()> {
        let receipts = crate::erase::read_receipts(&self.store.db.begin_read()?)?;
        let missed: Vec<_> = receipts.iter().filter(|r| r.id > self.erasure).collect();
        let Some(last) = missed.last().map(|r| r.id) else { return Ok(()) };
        let keys: Vec<Ck> = missed.iter().flat_map(|r| r.keys.iter().copied()).collect();
        self.erasure = last;
        self.erase(&keys)
    }

    fn erase(&mut self, keys: &[Ck]) -> Result<()> {
        let f = self.search.fields;
        for ck in keys {
            self.writer.delete_term(Term::from_field_u64(f.ck, u64::from(*ck)));
            self.writer.delete_term(Term::from_field_u64(f.profile, u64::from(*ck)));
        }
        self.pending = true;
        self.commit()?;
        merge_segments(&mut self.writer)?;
        self.search.reader.reload().map_err(search_err)
    }

    fn apply(&mut self, roots: &[Ck], gone: &[Ck], texts: &[(Ck, String)]) -> Result<()> {
        let f = self.search.fields;
        for ck in gone.iter().chain(roots) {
            self.writer.delete_term(Term::from_field_u64(f.profile, u64::from(*ck)));
        }
        for root in roots {
            if let Some(doc) = self.profile_doc(*root) {
                self.writer.add_document(doc).map_err(search_err)?;
            }
        }
        for (ck, text) in texts {
            let mut doc = TantivyDocument::default();
            doc.add_u64(f.ck, u64::from(*ck));
            doc.add_text(f.all, text);
            self.writer.add_document(doc).map_err(search_err)?;
        }
        Ok(())
    }

    // The document of person `root`: identifiers and trait values.
    fn profile_doc(&self, root: Ck) -> Option<TantivyDocument> {
        let f = self.search.fields;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.ck, u64::from(root));
        doc.add_u64(f.profile, u64::from(root));
        doc.add_text(f.id, PROFILE_MARK);
        let mut text = String::new();
        {
            let identity = crate::identity::resolve::read(&self.store.identity);
            if identity.graph.root(root) != root {
                return None;
            }
            for m in identity.graph.members(root) {
                let Some((_, value)) = identity.index.get(m) else { continue };
                doc.add_text(f.id, value);
                // A phone stored as +8613800000000 is also found as typed without the country.
                if let Some(digits) = value.strip_prefix('+') {
                    for cc in 1..=3 {
                        if let Some(national) = digits.get(cc..).filter(|n| n.len() >= 6) {
                            doc.add_text(f.id, national);
                        }
                    }
                    doc.add_text(f.id, digits);
                }
                text.push_str(value);
                text.push('\n');
            }
        }
        let profiles = self.store.profiles.read().unwrap_or_else(|p| p.into_inner());
        let profile = profiles.map.get(root)?;
        for t in &profile.traits {
            if let Some(s) = t.value.as_str() {
                text.push_str(s);
                text.push('\n');
            }
        }
        doc.add_text(f.all, &text);
        Some(doc)
    }

    // Rebuilds every profile document and adds the texts of events from `from_seq` on.
    fn catch_up(&mut self, from_seq: u64, to_seq: u64) -> Result<()> {
        let f = self.search.fields;
        if from_seq == 0 {
            self.writer.delete_all_documents().map_err(search_err)?;
        } else {
            self.writer.delete_term(Term::from_field_text(f.id, PROFILE_MARK));
        }
        let roots: Vec<Ck> = {
            let profiles = self.store.profiles.read().unwrap_or_else(|p| p.into_inner());
            profiles.map.keys().collect()
        };
        for chunk in roots.chunks(10_000) {
            for root in chunk {
                if let Some(doc) = self.profile_doc(*root) {
                    self.writer.add_document(doc).map_err(search_err)?;
                }
            }
        }
        let texts = stored_texts(&self.store, from_seq, to_seq)?;
        self.apply(&[], &[], &texts)?;
        self.next_seq = to_seq;
        self.pending = true;
        self.commit()
    }
}

// Merges every segment into one (dropping deleted documents from the files) and deletes the
// files nothing uses any more. Files a searcher still holds go at a later collection.
fn merge_segments(writer: &mut IndexWriter) -> Result<()> {
    // No new merge of the writer's own policy may start meanwhile; one already running holds
    // its segments until it ends (merges of this index take seconds), so ask again until then.
    writer.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
    let started = Instant::now();
    let merged = loop {
        let ids = writer.index().searchable_segment_ids().map_err(search_err)?;
        if ids.is_empty() {
            break Ok(());
        }
        match writer.merge(&ids).wait() {
            Ok(_) => break Ok(()),
            Err(e) if started.elapsed() > Duration::from_secs(600) => break Err(search_err(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    writer.set_merge_policy(Box::new(tantivy::merge_policy::LogMergePolicy::default()));
    merged?;
    writer.garbage_collect_files().wait().map_err(search_err)?;
    Ok(())
}

/// Applies, to the index in `dir`, the erasures among `receipts` it has not seen (the store was
/// open without its index when they ran), and with `merge` also merges its segments and
/// removes unused files. The store must be closed, or open without its index.
pub(crate) fn offline(dir: &Path, receipts: &[crate::erase::ErasureReceipt], merge: bool) -> Result<()> {
    let path = dir.join(SEARCH_DIR);
    if !path.exists() {
        return Ok(());
    }
    let (schema, fields) = schema();
    let Some(index) = Index::open_in_dir(&path).ok().filter(|i| i.schema() == schema) else {
        // Unreadable or of another version: rebuilt from redb at the next open anyway, and it
        // may hold what an erasure removed.
        return std::fs::remove_dir_all(&path)
            .map_err(|e| StoreError::Io { path: path.display().to_string(), source: e });
    };
    register_tokenizers(&index);
    let mut indexed =
        index.load_metas().ok().and_then(|m| m.payload).map_or(Indexed::default(), |p| Indexed::parse(&p));
    let missed: Vec<_> = receipts.iter().filter(|r| r.id > indexed.erasure).collect();
    if missed.is_empty() && !merge {
        return Ok(());
    }
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 64 << 20).map_err(search_err)?;
    if let Some(last) = missed.iter().map(|r| r.id).max() {
        for ck in missed.iter().flat_map(|r| r.keys.iter()) {
            writer.delete_term(Term::from_field_u64(fields.ck, u64::from(*ck)));
            writer.delete_term(Term::from_field_u64(fields.profile, u64::from(*ck)));
        }
        indexed.erasure = last;
        let mut prepared = writer.prepare_commit().map_err(search_err)?;
        prepared.set_payload(&format!("{} {}", indexed.seq, indexed.erasure));
        prepared.commit().map_err(search_err)?;
    }
    merge_segments(&mut writer)?;
    writer.wait_merging_threads().map_err(search_err)
}

/// Free texts of stored events with sequence numbers in `[from_seq, to_seq)`: (event key,
/// text). Later events reach the indexer as work from the writer.
fn stored_texts(store: &Shared, from_seq: u64, to_seq: u64) -> Result<Vec<(Ck, String)>> {
    let measurements: Vec<String> = store.snapshot()?.0.parts.keys().cloned().collect();
    let mut out = Vec::new();
    for measurement in measurements {
        // Parts and read transaction from one snapshot: merges run meanwhile, and a part list
        // older than the transaction could name parts it no longer has.
        let (manifest, txn) = store.snapshot()?;
        let parts: Vec<_> = manifest
            .parts
            .get(&measurement)
            .into_iter()
            .flatten()
            .filter(|p| p.meta.max_seq >= from_seq)
            .filter(|p| p.meta.columns.iter().any(|c| TEXT_FIELDS.contains(&c.name.as_str())))
            .cloned()
            .collect();
        if parts.is_empty() {
            continue;
        }
        let request = ScanRequest::new(measurement.as_str()).columns(TEXT_FIELDS).with_keys();
        for batch in Scan::new(parts, &manifest.hidden, txn, request)? {
            let batch = batch?;
            for row in 0..batch.rows {
                if batch.seq[row] < from_seq || batch.seq[row] >= to_seq || batch.ck[row] == NO_CUSTOMER {
                    continue;
                }
                for (def, col) in &batch.columns {
                    if def.kind == crate::types::ColumnKind::Field
                        && let Some(Value::Str(s)) = col.get(row)
                    {
                        out.push((batch.ck[row], s));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The free texts of one event, for [`Work::Changed`].
pub(crate) fn event_texts(event: &crate::batch::EventRef<'_>, ck: Ck, out: &mut Vec<(Ck, String)>) {
    for (k, v) in event.fields() {
        if let cxp_lp::FieldValue::Str(s) = v
            && TEXT_FIELDS.contains(&k)
        {
            out.push((ck, s.into_owned()));
        }
    }
}
