//! The writer thread: the only place that writes to redb.
//!
//! Handlers send batches over a bounded channel and wait for the acknowledgement. Batches that
//! arrive while a commit runs join the next one (group commit): one write transaction, one
//! fsync, many batches. A batch is acknowledged only after its transaction has committed; if
//! the commit fails, every batch of the group gets the error and nothing of it stays in memory.

use hashbrown::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use redb::{Durability, ReadableDatabase, ReadableTable, Table, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::batch::{Batch, Reject};
use crate::catalog::Catalog;
use crate::codec::Effort;
use crate::error::{Result, StoreError, meta_err};
use crate::identity::resolve::IdTables;
use crate::identity::{Link, Refusal, Resolver, Split};
use crate::lpwrite::format_event;
use crate::manifest::{Manifest, Shared};
use crate::part::{EncodedPart, Level, PartData, PartInfo};
use crate::quarantine::QuarantineEntry;
use crate::tables::{
    BLOCKED, CUSTOMER_KEYS, FIELD_STATS, LINKS, META, PARTS, PIECES, QUARANTINE, REFUSALS, SCHEMA, SPLITS,
};
use crate::types::Ck;

/// Rows per chunk of a fresh part.
pub(crate) const FRESH_CHUNK_ROWS: usize = 16 * 1024;

/// Store-wide counters, persisted in the same transaction as the data they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counters {
    pub(crate) next_seq: u64,
    pub(crate) next_part: u64,
    pub(crate) next_ck: u32,
    pub(crate) next_quarantine: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters { next_seq: 1, next_part: 1, next_ck: 1, next_quarantine: 1 }
    }
}

/// What the store did with one batch, sent once its transaction committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReceipt {
    /// Events stored.
    pub accepted: u64,
    /// Lines refused (parse errors carried by the batch, then type conflicts), each kept in
    /// the quarantine.
    pub rejected: Vec<Reject>,
    /// First and last sequence number given to the accepted events.
    pub seqs: Option<(u64, u64)>,
    /// Events refused because an identifier they carry is suppressed (erased or opted out):
    /// counted only, as keeping them anywhere would keep what the person asked to remove.
    pub suppressed: u64,
}

/// A finished merge: parts to drop and the parts that replace them.
#[derive(Debug)]
pub(crate) struct Swap {
    pub(crate) removed: Vec<u64>,
    pub(crate) added: Vec<EncodedPart>,
}

pub(crate) enum Request {
    Write {
        batch: Batch,
        replay_of: Option<u64>,
        quality: crate::dict::DictStats,
        reply: SyncSender<Result<WriteReceipt>>,
    },
    Swap {
        swap: Swap,
        reply: SyncSender<Result<()>>,
    },
    Split {
        link: u64,
        reason: String,
        reply: SyncSender<Result<Link>>,
    },
    // The requests below run alone, between group commits (see `erase.rs`).
    Erase {
        root: Ck,
        by: String,
        reply: SyncSender<Result<Option<crate::erase::ErasureReceipt>>>,
    },
    EraseFinish {
        receipt: crate::erase::ErasureReceipt,
        reply: SyncSender<Result<crate::erase::ErasureReceipt>>,
    },
    OptOut {
        root: Ck,
        out: bool,
        reply: SyncSender<Result<Vec<Ck>>>,
    },
    State {
        entries: Vec<(String, Option<Vec<u8>>)>,
        reply: SyncSender<Result<()>>,
    },
}

impl Request {
    fn weight(&self) -> usize {
        match self {
            Request::Write { batch, .. } => batch.len() + batch.rejects().len(),
            _ => 0,
        }
    }

    fn alone(&self) -> bool {
        matches!(
            self,
            Request::Erase { .. } | Request::EraseFinish { .. } | Request::OptOut { .. } | Request::State { .. }
        )
    }

    // Answers a request that was not carried out.
    fn fail(self, e: StoreError) {
        match self {
            Request::Write { reply, .. } => drop(reply.send(Err(e))),
            Request::Swap { reply, .. } => drop(reply.send(Err(e))),
            Request::Split { reply, .. } => drop(reply.send(Err(e))),
            Request::Erase { reply, .. } => drop(reply.send(Err(e))),
            Request::EraseFinish { reply, .. } => drop(reply.send(Err(e))),
            Request::OptOut { reply, .. } => drop(reply.send(Err(e))),
            Request::State { reply, .. } => drop(reply.send(Err(e))),
        }
    }
}

pub(crate) struct Writer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) catalog: Catalog,
    pub(crate) resolver: Resolver,
    pub(crate) counters: Counters,
    pub(crate) max_group_events: usize,
    pub(crate) checkpoint_every: std::time::Duration,
    pub(crate) last_checkpoint: std::time::Instant,
    /// The search indexer, told what each commit changed.
    pub(crate) search: Option<std::sync::mpsc::Sender<crate::search::indexer::Work>>,
    /// The profile stage (see `stage.rs`), while the writer runs.
    pub(crate) stage: Option<SyncSender<crate::stage::Msg>>,
    /// Set when profiles may disagree with the events (a failed rebuild): no more checkpoints.
    pub(crate) checkpoints_off: bool,
    /// The data dictionary, to recognise identifiers in refused raw lines.
    pub(crate) dictionary: Option<Arc<crate::dict::Dictionary>>,
}

/// Per write request of a group, per event of its batch: (key, sequence number, implied tag)
/// of a stored event, `None` for a refused one. What profiles are updated from after commit.
pub(crate) type Stored = Vec<Vec<Option<(Ck, u64, Option<&'static str>)>>>;

pub(crate) enum Outcome {
    Write(WriteReceipt),
    Swap(Result<()>),
    Split(Result<Link>),
}

impl Writer {
    /// Runs until every sender is gone. `merge_signal` is poked after each commit.
    pub(crate) fn run(mut self, rx: Receiver<Request>, merge_signal: Option<SyncSender<()>>) {
        // Profile updates and acknowledgements run on their own thread, overlapping the build
        // of the next group; one group waits there at most.
        let (stage_tx, stage_rx) = std::sync::mpsc::sync_channel(1);
        let (shared, search) = (Arc::clone(&self.shared), self.search.clone());
        let stage = std::thread::Builder::new()
            .name("cxp-profiles".into())
            .spawn(move || crate::stage::run(&shared, search.as_ref(), stage_rx))
            .ok();
        self.stage = stage.as_ref().map(|_| stage_tx);
        // A request that runs alone, met while gathering a group: it goes next.
        let mut carried: Option<Request> = None;
        while let Some(first) = carried.take().or_else(|| rx.recv().ok()) {
            if first.alone() {
                self.run_alone(first);
                continue;
            }
            let mut weight = first.weight();
            let mut group = vec![first];
            while weight < self.max_group_events {
                match rx.try_recv() {
                    Ok(next) if next.alone() => {
                        carried = Some(next);
                        break;
                    }
                    Ok(next) => {
                        weight += next.weight();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            match self.commit_group(&mut group) {
                Ok((outcomes, stored, merges, None)) => {
                    let next_seq = self.counters.next_seq;
                    let msg = crate::stage::Msg::Group { group, outcomes, stored, merges, next_seq };
                    let unsent = match &self.stage {
                        Some(tx) => tx.send(msg).err().map(|e| e.0),
                        None => Some(msg),
                    };
                    if let Some(crate::stage::Msg::Group { group, outcomes, stored, merges, next_seq }) = unsent {
                        // No stage thread: do its work here.
                        let search = self.search.as_ref();
                        let keys = crate::stage::apply(&self.shared, search, &group, &stored, &merges, next_seq);
                        crate::stage::finish(&self.shared, group, outcomes, keys, next_seq);
                    }
                }
                Ok((outcomes, stored, merges, Some(old))) => {
                    // Undoing a link can split a customer anywhere in its set: with every
                    // earlier group applied, rebuild the graph from the tables rather than patch
                    // it, then the profiles of that set from their events.
                    self.drain_stage();
                    // The set as this group left it: its own links may have joined more keys
                    // to it, whose profiles the merges below fold in and the rebuild must redo.
                    let mut old = old;
                    {
                        let identity = crate::identity::resolve::read(&self.shared.identity);
                        let more: Vec<Ck> = old.iter().flat_map(|k| identity.graph.members(*k)).collect();
                        old.extend(more);
                    }
                    old.sort_unstable();
                    old.dedup();
                    let next_seq = self.counters.next_seq;
                    let keys =
                        crate::stage::apply(&self.shared, self.search.as_ref(), &group, &stored, &merges, next_seq);
                    let rebuilt = self.rebuild_graph().and_then(|()| self.rebuild_profiles(&old));
                    if let Err(e) = rebuilt {
                        // Profiles may be wrong now: never checkpoint them, so the next open
                        // rebuilds them from the events (the split count no longer matches).
                        self.checkpoints_off = true;
                        self.report(format!("rebuilding after a split: {e}; profiles are rebuilt at the next open"));
                    }
                    crate::stage::finish(&self.shared, group, outcomes, keys, next_seq);
                }
                Err(e) => {
                    for req in group {
                        req.fail(e.to_store_error());
                    }
                }
            }
            if let Some(signal) = &merge_signal
                && let Err(TrySendError::Disconnected(_)) = signal.try_send(())
            {
                // The merger is gone (shutting down); nothing to wake.
            }
            if let Err(e) = self.checkpoint(false) {
                // Profiles stay right in RAM; the next open replays more events. Say so.
                self.report(format!("profile checkpoint: {e}"));
            }
        }
        // Closing: let the stage finish, then checkpoint so that the next open replays nothing.
        self.stage = None;
        if let Some(handle) = stage {
            let _ = handle.join();
        }
        if let Err(e) = self.checkpoint(true) {
            self.report(format!("profile checkpoint: {e}"));
        }
    }

    // Whether a refused raw line carries a suppressed identifier.
    fn suppressed_raw(&self, raw: &[u8]) -> bool {
        let Some(found) = crate::suppress::raw_identifiers(raw, self.dictionary.as_deref(), &self.resolver.plan) else {
            return false;
        };
        let identity = crate::identity::resolve::read(&self.shared.identity);
        found
            .iter()
            .any(|(kind, value)| self.resolver.suppression.refuses(identity.index.find(*kind, value), *kind, value))
    }

    // Runs an erasure step or an opt-out, with every earlier group committed and applied.
    fn run_alone(&mut self, req: Request) {
        match req {
            Request::Erase { root, by, reply } => {
                let done = self.erase_begin(root, &by);
                let _ = reply.send(done);
            }
            Request::EraseFinish { receipt, reply } => {
                let done = self.erase_finish(receipt);
                let _ = reply.send(done);
            }
            Request::OptOut { root, out, reply } => {
                let done = self.opt_out(root, out);
                let _ = reply.send(done);
            }
            Request::State { entries, reply } => {
                let _ = reply.send(crate::state::write(&self.shared.db, &entries));
            }
            other => other.fail(StoreError::Format("not a request that runs alone".into())),
        }
    }

    // Background failures have no caller to return to: `Store::stats` shows the last one.
    pub(crate) fn report(&self, message: String) {
        *self.shared.last_merge_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
    }

    // Waits until the stage has applied every group sent to it.
    pub(crate) fn drain_stage(&self) {
        if let Some(tx) = &self.stage {
            let (done, wait) = sync_channel(1);
            if tx.send(crate::stage::Msg::Barrier(done)).is_ok() {
                let _ = wait.recv();
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn commit_group(
        &mut self,
        group: &mut [Request],
    ) -> Result<(Vec<Outcome>, Stored, Vec<(Ck, Ck)>, Option<Vec<Ck>>), GroupError> {
        let mut txn = self.shared.db.begin_write().map_err(|e| GroupError::NotWritten(e.to_string()))?;
        txn.set_durability(Durability::Immediate).map_err(|e| GroupError::NotWritten(e.to_string()))?;
        txn.set_quick_repair(true);
        let mut counters = self.counters;
        let built = self.build(&txn, group, &mut counters);
        let (outcomes, added, removed, split, stored) = match built {
            Ok(done) => done,
            Err(e) => {
                self.catalog.rollback();
                self.resolver.rollback(&self.shared.identity);
                return Err(GroupError::NotWritten(e.to_string()));
            }
        };
        let mut merges = Vec::new();
        let committed = {
            let mut current = self.shared.current.lock().unwrap_or_else(|p| p.into_inner());
            let result = txn.commit();
            if result.is_ok() {
                merges = self.resolver.commit(&self.shared.identity);
                let mut next: Manifest = (**current).clone();
                next.remove(&removed);
                for part in added {
                    next.add(part);
                }
                *current = Arc::new(next);
            }
            result
        };
        match committed {
            Ok(()) => {
                self.catalog.commit();
                self.counters = counters;
                Ok((outcomes, stored, merges, split))
            }
            Err(e) => {
                self.catalog.rollback();
                self.resolver.rollback(&self.shared.identity);
                // redb: a failed commit may still have reached the disk.
                Err(GroupError::Uncertain(e.to_string()))
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn build(
        &mut self,
        txn: &WriteTransaction,
        group: &mut [Request],
        c: &mut Counters,
    ) -> Result<(Vec<Outcome>, Vec<PartInfo>, Vec<u64>, Option<Vec<Ck>>, Stored)> {
        let mut quarantine = txn.open_table(QUARANTINE)?;
        let mut cks = txn.open_table(CUSTOMER_KEYS)?;
        let mut parts = txn.open_table(PARTS)?;
        let mut chunks = txn.open_table(PIECES)?;
        let now = now_ns();
        let mut links = txn.open_table(LINKS)?;
        let mut next_link = links.last()?.map_or(1, |(k, _)| k.value() + 1).max(floor(txn, LINK_FLOOR)?);
        let mut refusals = txn.open_table(REFUSALS)?;
        let mut next_refusal = refusals.last()?.map_or(1, |(k, _)| k.value() + 1).max(floor(txn, REFUSAL_FLOOR)?);
        let mut builders: HashMap<&str, PartData> = HashMap::new();
        let mut outcomes = Vec::with_capacity(group.len());
        let mut split: Option<Vec<Ck>> = None;
        let mut stored: Stored = Vec::new();
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for req in group.iter_mut() {
            match req {
                Request::Write { batch, replay_of, quality, .. } => {
                    if !quality.is_empty() {
                        add_field_stats(txn, quality)?;
                    }
                    // A replay whose entry is gone was replayed by someone else meanwhile:
                    // storing it again would duplicate its events.
                    let original = match replay_of {
                        Some(id) => match quarantine.get(*id)? {
                            Some(v) => Some(
                                postcard::from_bytes::<QuarantineEntry>(v.value())
                                    .map_err(meta_err(format!("quarantine entry {id}")))?,
                            ),
                            None => {
                                stored.push(Vec::new());
                                outcomes.push(Outcome::Write(WriteReceipt::default()));
                                continue;
                            }
                        },
                        None => None,
                    };
                    let mut receipt = WriteReceipt::default();
                    let suppressing = self.resolver.suppression.active();
                    let mut refused = batch.rejects().to_vec();
                    if suppressing {
                        // A refused line of a suppressed person is not kept either.
                        let before = refused.len();
                        refused.retain(|r| !self.suppressed_raw(&r.raw));
                        receipt.suppressed += (before - refused.len()) as u64;
                    }
                    let mut kept = Vec::with_capacity(batch.len());
                    for event in batch.events() {
                        // Before anything else: a suppressed event must not reach the quarantine.
                        if suppressing && self.resolver.suppressed(&self.shared.identity, &event) {
                            kept.push(None);
                            receipt.suppressed += 1;
                            continue;
                        }
                        if let Err(reason) = self.catalog.check_and_stage(&event) {
                            kept.push(None);
                            refused.push(Reject {
                                line: event.line,
                                reason,
                                raw: format_event(&event).into_bytes(),
                                precision: Some(cxp_lp::Precision::Nanoseconds),
                            });
                            continue;
                        }
                        let mut tables = IdTables { cks: &mut cks };
                        let resolved =
                            self.resolver.resolve(&self.shared.identity, &event, &mut c.next_ck, &mut tables)?;
                        let (ck, implied) = (resolved.ck, resolved.implied);
                        let seq = c.next_seq;
                        c.next_seq += 1;
                        for l in &resolved.links {
                            let link = Link {
                                id: next_link,
                                a: l.a,
                                b: l.b,
                                seq,
                                ts: event.ts,
                                measurement: event.measurement.to_owned(),
                                source: batch.source().to_owned(),
                            };
                            append(&mut links, &mut next_link, &link, "identity link")?;
                        }
                        for r in resolved.refusals {
                            let kind =
                                crate::identity::resolve::read(&self.shared.identity).types.name(r.kind).to_owned();
                            let refusal = Refusal {
                                id: next_refusal,
                                key: r.key,
                                kind,
                                value: r.value,
                                reason: r.reason,
                                seq,
                                ts: event.ts,
                                measurement: event.measurement.to_owned(),
                                source: batch.source().to_owned(),
                            };
                            append(&mut refusals, &mut next_refusal, &refusal, "identity refusal")?;
                        }
                        kept.push(Some((ck, seq, implied)));
                        receipt.seqs = Some((receipt.seqs.map_or(seq, |s| s.0), seq));
                        receipt.accepted += 1;
                        builders.entry(event.measurement).or_default().push_event(&event, ck, seq, implied);
                    }
                    for (i, reject) in refused.iter().enumerate() {
                        // A replayed line refused again keeps its entry (id, receive time, source,
                        // line); further lines of a multi-line fix get entries of their own.
                        let keep = original.as_ref().filter(|_| i == 0);
                        let id = match keep {
                            Some(e) => e.id,
                            None => {
                                c.next_quarantine += 1;
                                c.next_quarantine - 1
                            }
                        };
                        let entry = QuarantineEntry {
                            id,
                            received_ns: original
                                .as_ref()
                                .map_or_else(|| batch.received_ns().unwrap_or(now), |e| e.received_ns),
                            source: original.as_ref().map_or_else(|| batch.source().to_owned(), |e| e.source.clone()),
                            line: keep.map_or(reject.line, |e| e.line),
                            reason: reject.reason.clone(),
                            precision: reject.precision.unwrap_or(batch.precision()).as_str().to_owned(),
                            raw: reject.raw.clone(),
                        };
                        let bytes = postcard::to_allocvec(&entry).map_err(meta_err("quarantine entry"))?;
                        quarantine.insert(id, bytes.as_slice())?;
                    }
                    if let (Some(e), true) = (&original, refused.is_empty()) {
                        quarantine.remove(e.id)?;
                    }
                    receipt.rejected = refused;
                    stored.push(kept);
                    outcomes.push(Outcome::Write(receipt));
                }
                Request::Swap { swap, .. } => {
                    let added_parts = std::mem::take(&mut swap.added);
                    let live = self.shared.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    let all_live = swap.removed.iter().all(|id| live.all().any(|p| p.meta.id == *id));
                    if !all_live {
                        outcomes.push(Outcome::Swap(Err(StoreError::Format(
                            "merge input changed while merging; merge skipped".into(),
                        ))));
                        continue;
                    }
                    for id in &swap.removed {
                        if let Some(meta) = live.all().find(|p| p.meta.id == *id) {
                            delete_part(&mut parts, &mut chunks, &meta.meta)?;
                        }
                    }
                    for part in added_parts {
                        let id = c.next_part;
                        c.next_part += 1;
                        added.push(write_part(&mut parts, &mut chunks, id, part)?);
                    }
                    removed.extend_from_slice(&swap.removed);
                    outcomes.push(Outcome::Swap(Ok(())));
                }
                Request::Split { link, reason, .. } => {
                    let done = split_link(txn, &links, *link, std::mem::take(reason), now);
                    if let Ok(l) = &done {
                        self.resolver.pending_splits.push((l.a.min(l.b), l.a.max(l.b)));
                        let members = crate::identity::resolve::read(&self.shared.identity).graph.members(l.a);
                        split.get_or_insert_with(Vec::new).extend(members);
                    }
                    outcomes.push(Outcome::Split(done));
                }
                Request::Erase { .. }
                | Request::EraseFinish { .. }
                | Request::OptOut { .. }
                | Request::State { .. } => {
                    // `run` hands these to `run_alone`; they never join a group.
                    return Err(StoreError::Format("a request that runs alone reached a group commit".into()));
                }
            }
        }
        if !self.resolver.blocked.is_empty() {
            let mut table = txn.open_table(BLOCKED)?;
            for ((kind, value), n) in &self.resolver.blocked {
                let before = table.get((*kind, value.as_str()))?.map_or(0, |v| v.value());
                table.insert((*kind, value.as_str()), before + n)?;
            }
        }
        for (measurement, data) in builders {
            let mut encoded = data.encode(Effort::Fresh, FRESH_CHUNK_ROWS);
            encoded.meta.measurement = measurement.to_owned();
            encoded.meta.level = Level::Fresh;
            let id = c.next_part;
            c.next_part += 1;
            added.push(write_part(&mut parts, &mut chunks, id, encoded)?);
        }
        let mut schema = txn.open_table(SCHEMA)?;
        self.catalog.write_staged(&mut schema)?;
        let mut meta = txn.open_table(META)?;
        write_counters(&mut meta, c)?;
        Ok((outcomes, added, removed, split, stored))
    }

    // The profiles of the customers a split touched, rebuilt from their events.
    fn rebuild_profiles(&mut self, keys: &[Ck]) -> Result<()> {
        let only: roaring::RoaringBitmap = keys.iter().copied().collect();
        // Profiles, then identity: the order every other holder of both takes them in. The
        // writer is the only thread that changes the graph, and it is here: holding the read
        // lock throughout is cheaper than copying a graph of millions of keys.
        let mut profiles = self.shared.profiles.write().unwrap_or_else(|p| p.into_inner());
        let identity = crate::identity::resolve::read(&self.shared.identity);
        let graph = &identity.graph;
        for k in keys {
            profiles.drop_profile(*k);
        }
        let manifest = self.shared.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let db = &self.shared.db;
        crate::profile::replay::replay(&manifest, &|| Ok(db.begin_read()?), graph, &mut profiles, 1, Some(&only))?;
        drop(profiles);
        if let Some(tx) = &self.search {
            let mut roots: Vec<Ck> = keys.iter().map(|k| graph.root(*k)).collect();
            roots.sort_unstable();
            roots.dedup();
            let gone = keys.iter().copied().filter(|k| !roots.contains(k)).collect();
            let work = crate::search::indexer::Work::Changed {
                roots,
                gone,
                texts: Vec::new(),
                next_seq: self.counters.next_seq,
            };
            let _ = tx.send(work);
        }
        Ok(())
    }

    /// Writes a profile checkpoint when one is due (`force`: whenever anything changed).
    pub(crate) fn checkpoint(&mut self, force: bool) -> Result<()> {
        let due = force || self.last_checkpoint.elapsed() >= self.checkpoint_every;
        if !due || self.checkpoints_off {
            return Ok(());
        }
        // The checkpoint says which events the profiles include: all that committed.
        self.drain_stage();
        let changed = {
            let p = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
            p.full || !p.dirty.is_empty() || !p.removed.is_empty()
        };
        if !changed {
            return Ok(());
        }
        self.last_checkpoint = std::time::Instant::now();
        let mut txn = self.shared.db.begin_write()?;
        txn.set_durability(Durability::Immediate).map_err(|e| StoreError::Format(e.to_string()))?;
        {
            let p = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
            crate::profile::checkpoint::write(&txn, &p, self.counters.next_seq)?;
        }
        txn.commit()?;
        self.shared.profiles.write().unwrap_or_else(|p| p.into_inner()).checkpointed();
        Ok(())
    }

    pub(crate) fn rebuild_graph(&mut self) -> Result<()> {
        let txn = self.shared.db.begin_read()?;
        let (graph, splits) = crate::identity::load_graph(&txn)?;
        crate::identity::resolve::write(&self.shared.identity).graph = graph;
        self.resolver.splits = splits;
        Ok(())
    }
}

// Appends `record` under id `*next` to an append-only table and advances the id.
fn append(table: &mut Table<u64, &'static [u8]>, next: &mut u64, record: &impl Serialize, what: &str) -> Result<()> {
    let bytes = postcard::to_allocvec(record).map_err(meta_err(what))?;
    table.insert(*next, bytes.as_slice())?;
    *next += 1;
    Ok(())
}

// Records that `link` is undone; refuses an unknown or already undone link.
fn split_link(
    txn: &WriteTransaction,
    links: &Table<u64, &'static [u8]>,
    link: u64,
    reason: String,
    now: i64,
) -> Result<Link> {
    let Some(bytes) = links.get(link)? else {
        return Err(StoreError::Invalid(format!("there is no link {link}")));
    };
    let found: Link = postcard::from_bytes(bytes.value()).map_err(meta_err(format!("link {link}")))?;
    let mut splits = txn.open_table(SPLITS)?;
    if splits.get(link)?.is_some() {
        return Err(StoreError::Invalid(format!("link {link} is already split")));
    }
    let record = Split { link, at: now, reason };
    let bytes = postcard::to_allocvec(&record).map_err(meta_err("identity split"))?;
    splits.insert(link, bytes.as_slice())?;
    Ok(found)
}

/// Why a group commit failed, sent to every batch of the group.
enum GroupError {
    /// Nothing of the group reached the disk: retrying is safe.
    NotWritten(String),
    /// The commit itself failed: redb cannot say whether it is durable.
    Uncertain(String),
}

impl GroupError {
    fn to_store_error(&self) -> StoreError {
        match self {
            GroupError::NotWritten(msg) => {
                StoreError::Io { path: "write transaction".into(), source: std::io::Error::other(msg.clone()) }
            }
            GroupError::Uncertain(msg) => StoreError::CommitUncertain(msg.clone()),
        }
    }
}

/// Writes a part's metadata and blobs under `id`.
pub(crate) fn write_part(
    parts: &mut Table<u64, &'static [u8]>,
    pieces: &mut Table<(u64, u32), &'static [u8]>,
    id: u64,
    mut part: EncodedPart,
) -> Result<PartInfo> {
    part.meta.id = id;
    crate::pieces::write(pieces, id, &part.stream)?;
    let meta_bytes = postcard::to_allocvec(&part.meta).map_err(meta_err(format!("part {id}")))?;
    parts.insert(id, meta_bytes.as_slice())?;
    PartInfo::new(part.meta).map_err(|e| StoreError::Io { path: format!("part {id} customers"), source: e })
}

fn delete_part(
    parts: &mut Table<u64, &'static [u8]>,
    pieces: &mut Table<(u64, u32), &'static [u8]>,
    meta: &crate::part::PartMeta,
) -> Result<()> {
    crate::pieces::delete(pieces, meta.id)?;
    parts.remove(meta.id)?;
    Ok(())
}

// Adds a batch's data-quality counts to the persisted ones.
fn add_field_stats(txn: &WriteTransaction, quality: &crate::dict::DictStats) -> Result<()> {
    let mut table = txn.open_table(FIELD_STATS)?;
    for (m, f, add) in quality.fields.iter().flat_map(|(m, per)| per.iter().map(move |(f, s)| (m, f, s))) {
        let mut total: crate::dict::FieldStats = match table.get((m.as_str(), f.as_str()))? {
            Some(v) => postcard::from_bytes(v.value()).map_err(meta_err(format!("field stats of {m}.{f}")))?,
            None => Default::default(),
        };
        total.seen += add.seen;
        total.normalized += add.normalized;
        total.invalid += add.invalid;
        total.rejected += add.rejected;
        let bytes = postcard::to_allocvec(&total).map_err(meta_err("field stats"))?;
        table.insert((m.as_str(), f.as_str()), bytes.as_slice())?;
    }
    Ok(())
}

pub(crate) const COUNTERS_KEY: &str = "counters";
/// `meta` keys of the lowest id the next link or refusal may take (set when an erasure
/// deletes the last ones, so that ids are not reused).
pub(crate) const LINK_FLOOR: &str = "link_floor";
pub(crate) const REFUSAL_FLOOR: &str = "refusal_floor";

fn floor(txn: &WriteTransaction, key: &str) -> Result<u64> {
    let meta = txn.open_table(META)?;
    let found = meta.get(key)?.and_then(|v| <[u8; 8]>::try_from(v.value()).ok()).map(u64::from_le_bytes);
    Ok(found.unwrap_or(0))
}

pub(crate) fn raise_floor(txn: &WriteTransaction, key: &str, to: u64) -> Result<()> {
    if floor(txn, key)? < to {
        txn.open_table(META)?.insert(key, to.to_le_bytes().as_slice())?;
    }
    Ok(())
}

pub(crate) fn write_counters(meta: &mut Table<&'static str, &'static [u8]>, c: &Counters) -> Result<()> {
    let bytes = postcard::to_allocvec(c).map_err(meta_err("counters"))?;
    meta.insert(COUNTERS_KEY, bytes.as_slice())?;
    Ok(())
}

pub(crate) fn read_counters(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Counters> {
    match meta.get(COUNTERS_KEY)? {
        Some(v) => postcard::from_bytes(v.value()).map_err(meta_err("counters")),
        None => Ok(Counters::default()),
    }
}

/// Wall-clock time in ns since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}
