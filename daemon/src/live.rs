//! Named segments kept live: every definition (configuration file and API) is re-evaluated
//! when new events are committed and, with no events at all, at least every `expiry` (a
//! customer leaves "active in 30 days" on a quiet night). One round evaluates all segments
//! together (one profile snapshot, shared leaves: `query_many`); the difference to the
//! previous members is the customers who entered and left, appended to a change log that
//! journeys and triggers read and that subscribers receive as it happens.
//!
//! Rounds are spaced so that evaluation takes at most `max_share` of one core: under heavy
//! ingest membership lags by a round instead of slowing ingest down, and the lag is reported.
//! Membership, counters and size history are kept in the store's app state, so a restart
//! does not make every member enter again. They are kept at most every `PERSIST_EVERY`: after
//! a crash, changes of the last seconds are emitted again (never lost; consumers that act on
//! them dedupe by segment, customer and direction).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cxp_query::api::{SegmentChange, SegmentDef, SegmentDoc, SizePoint};
use cxp_query::segment::defs::{self, SegmentSpec};
use cxp_store::{Store, now_ns};
use hashbrown::HashMap;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// App-state keys of live membership.
const STATE_PREFIX: &str = "segment.live.";
/// How often changed membership is written to the store, at most.
const PERSIST_EVERY: Duration = Duration::from_secs(10);
/// One size-history point per this long.
const HISTORY_STEP_NS: i64 = 60_000_000_000;

/// How live segments are kept.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Shortest time between two rounds.
    pub refresh: Duration,
    /// Longest time between two rounds, events or not.
    pub expiry: Duration,
    /// Share of one core the rounds may take (0.2: a round of 50 ms waits 200 ms for the next).
    pub max_share: f64,
    /// Size-history points kept per segment.
    pub history: usize,
    /// Changes kept in the log.
    pub change_log: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            refresh: Duration::from_secs(1),
            expiry: Duration::from_secs(60),
            max_share: 0.2,
            history: 1440,
            change_log: 100_000,
        }
    }
}

/// Why a definition was refused.
#[derive(Debug, thiserror::Error)]
pub enum DefineError {
    /// The name or expression is not valid, or it does not compile against this store.
    #[error("{0}")]
    Invalid(String),
    /// The name belongs to a definition in the configuration.
    #[error("segment {0:?} is defined in the configuration file: change it there")]
    FromFile(String),
    /// The store could not keep it.
    #[error("{0}")]
    Store(String),
}

#[derive(Debug, Default)]
struct Tracked {
    members: RoaringBitmap,
    evaluated_at: i64,
    // Ingest's event counter when the round that produced `members` began.
    events_seen: u64,
    entered: u64,
    exited: u64,
    history: VecDeque<SizePoint>,
    error: Option<String>,
    dirty: bool,
    // Restored from the store or evaluated: its first round reports changes against it.
    known: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Persisted {
    evaluated_at: i64,
    entered: u64,
    exited: u64,
    history: Vec<SizePoint>,
}

#[derive(Debug, Default)]
struct Registry {
    specs: Vec<SegmentSpec>,
    tracked: HashMap<String, Tracked>,
    log: VecDeque<SegmentChange>,
    next_seq: u64,
    last_round: Option<(i64, Duration)>,
    last_persist: Option<Instant>,
}

/// The live segments of a daemon.
pub struct LiveSegments {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    files: Vec<SegmentSpec>,
    options: LiveOptions,
    registry: Mutex<Registry>,
    wake: Notify,
    changes: broadcast::Sender<SegmentChange>,
}

impl std::fmt::Debug for LiveSegments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSegments").field("segments", &self.registry().specs.len()).finish_non_exhaustive()
    }
}

fn encode(t: &Tracked) -> Vec<u8> {
    let head = Persisted {
        evaluated_at: t.evaluated_at,
        entered: t.entered,
        exited: t.exited,
        history: t.history.iter().copied().collect(),
    };
    let head = serde_json::to_vec(&head).unwrap_or_default();
    let mut out = Vec::with_capacity(4 + head.len() + t.members.serialized_size());
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    // Writing to a Vec cannot fail.
    let _ = t.members.serialize_into(&mut out);
    out
}

fn decode(bytes: &[u8]) -> Option<Tracked> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let head: Persisted = serde_json::from_slice(bytes.get(4..4 + len)?).ok()?;
    let members = RoaringBitmap::deserialize_from(bytes.get(4 + len..)?).ok()?;
    Some(Tracked {
        members,
        evaluated_at: head.evaluated_at,
        events_seen: 0,
        entered: head.entered,
        exited: head.exited,
        history: head.history.into(),
        error: None,
        dirty: false,
        known: true,
    })
}

impl LiveSegments {
    /// Live segments over `store`: the definitions of `files` and those kept in the store,
    /// with the membership saved by the last run.
    pub fn open(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        files: Vec<SegmentSpec>,
        options: LiveOptions,
    ) -> Result<LiveSegments, defs::DefsError> {
        let specs = defs::merge(files.clone(), defs::stored(&store)?);
        // Log positions start at 1, so that `after=0` asks for everything.
        let mut registry = Registry { specs, next_seq: 1, ..Registry::default() };
        for (key, bytes) in store.states(STATE_PREFIX)? {
            let name = &key[STATE_PREFIX.len()..];
            match decode(&bytes) {
                Some(t) => {
                    registry.tracked.insert(name.to_owned(), t);
                }
                None => tracing::warn!(segment = name, "saved membership is unreadable; it is evaluated afresh"),
            }
        }
        let (changes, _) = broadcast::channel(4096);
        Ok(LiveSegments {
            store,
            metrics,
            files,
            options,
            registry: Mutex::new(registry),
            wake: Notify::new(),
            changes,
        })
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes as they happen (a slow receiver misses some: it reads them from the log).
    pub fn subscribe(&self) -> broadcast::Receiver<SegmentChange> {
        self.changes.subscribe()
    }

    /// The definitions now.
    pub fn specs(&self) -> Vec<SegmentSpec> {
        self.registry().specs.clone()
    }

    /// Every segment's document, by name.
    pub fn docs(&self) -> Vec<SegmentDoc> {
        let r = self.registry();
        r.specs.iter().map(|s| self.doc_of(&r, s)).collect()
    }

    /// The document of segment `name`.
    pub fn doc(&self, name: &str) -> Option<SegmentDoc> {
        let r = self.registry();
        r.specs.iter().find(|s| s.def.name == name).map(|s| self.doc_of(&r, s))
    }

    fn doc_of(&self, r: &Registry, spec: &SegmentSpec) -> SegmentDoc {
        let t = r.tracked.get(&spec.def.name).filter(|t| t.evaluated_at > 0);
        let lag_ms = match t {
            // Events committed since the round began are not in the membership yet.
            Some(t) if self.metrics.events.load(Ordering::Relaxed) > t.events_seen => {
                ((now_ns() - t.evaluated_at).max(0) / 1_000_000) as u64
            }
            Some(_) => 0,
            None => ((now_ns() - r.last_round.map_or(0, |(at, _)| at)).max(0) / 1_000_000) as u64,
        };
        SegmentDoc {
            name: spec.def.name.clone(),
            expr: spec.def.expr.clone(),
            description: spec.def.description.clone(),
            source: spec.source.name().to_owned(),
            members: t.map_or(0, |t| t.members.len()),
            evaluated_at: t.map_or(0, |t| t.evaluated_at),
            lag_ms,
            entered: t.map_or(0, |t| t.entered),
            exited: t.map_or(0, |t| t.exited),
            history: t.map(|t| t.history.iter().copied().collect()).unwrap_or_default(),
            error: r.tracked.get(&spec.def.name).and_then(|t| t.error.clone()),
        }
    }

    /// The members of segment `name` (None: no such segment, or not evaluated yet).
    pub fn members(&self, name: &str) -> Option<RoaringBitmap> {
        let r = self.registry();
        r.tracked.get(name).filter(|t| t.evaluated_at > 0).map(|t| t.members.clone())
    }

    /// The live segments person `root` is in now, by name (one look at the registry).
    pub fn segments_of(&self, root: u32) -> Vec<String> {
        let r = self.registry();
        let mut names: Vec<String> = r
            .tracked
            .iter()
            .filter(|(_, t)| t.evaluated_at > 0 && t.members.contains(root))
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// Whether person `root` is in segment `name` (None: no such segment, or not evaluated).
    pub fn is_member(&self, name: &str, root: u32) -> Option<bool> {
        let r = self.registry();
        r.tracked.get(name).filter(|t| t.evaluated_at > 0).map(|t| t.members.contains(root))
    }

    /// The position of the last change in the log (reading after it gives only what comes).
    pub fn log_position(&self) -> u64 {
        self.registry().next_seq.saturating_sub(1)
    }

    /// Changes after log position `after`, at most `limit`: (changes, next position, missed).
    pub fn changes_after(&self, after: u64, limit: usize) -> (Vec<SegmentChange>, u64, u64) {
        let r = self.registry();
        let first = r.log.front().map_or(r.next_seq, |c| c.seq);
        let missed = first.saturating_sub(after.saturating_add(1));
        let start = after.saturating_add(1).max(first);
        let skip = (start - first) as usize;
        let out: Vec<SegmentChange> = r.log.iter().skip(skip).take(limit).cloned().collect();
        let next = out.last().map_or(after.max(first - 1), |c| c.seq);
        (out, next, missed)
    }

    /// Defines (or redefines) a segment through the API: checked against this store's names,
    /// kept, and evaluated in the next round. Blocking.
    pub fn define(&self, def: SegmentDef) -> Result<(), DefineError> {
        if self.files.iter().any(|f| f.def.name == def.name) {
            return Err(DefineError::FromFile(def.name));
        }
        defs::check(&def).map_err(|e| DefineError::Invalid(e.to_string()))?;
        let mut all = defs::definitions(&self.specs());
        all.insert(def.name.clone(), def.expr.clone());
        cxp_query::segment::check(&self.store, &def.expr, &all).map_err(|e| match e {
            cxp_query::segment::QueryError::Store(e) => DefineError::Store(e.to_string()),
            e => DefineError::Invalid(e.to_string()),
        })?;
        defs::save(&self.store, &def).map_err(|e| DefineError::Store(e.to_string()))?;
        self.reload_specs()?;
        // A redefinition starts from the old members: who no longer qualifies leaves.
        self.wake.notify_one();
        Ok(())
    }

    /// Deletes an API definition (and its saved membership). False: there was none. Blocking.
    pub fn remove(&self, name: &str) -> Result<bool, DefineError> {
        if self.files.iter().any(|f| f.def.name == name) {
            return Err(DefineError::FromFile(name.to_owned()));
        }
        if !defs::remove(&self.store, name).map_err(|e| DefineError::Store(e.to_string()))? {
            return Ok(false);
        }
        self.store
            .put_state(vec![(format!("{STATE_PREFIX}{name}"), None)])
            .map_err(|e| DefineError::Store(e.to_string()))?;
        self.registry().tracked.remove(name);
        self.reload_specs()?;
        Ok(true)
    }

    fn reload_specs(&self) -> Result<(), DefineError> {
        let stored = defs::stored(&self.store).map_err(|e| DefineError::Store(e.to_string()))?;
        self.registry().specs = defs::merge(self.files.clone(), stored);
        Ok(())
    }

    /// One round: every segment evaluated now, changes logged and published. Blocking.
    pub fn round(&self) -> Result<Duration, cxp_query::segment::QueryError> {
        let started = Instant::now();
        let specs = self.specs();
        let events_seen = self.metrics.events.load(Ordering::Relaxed);
        let at = now_ns();
        let exprs: Vec<String> = specs.iter().map(|s| s.def.expr.clone()).collect();
        let answers = cxp_query::segment::query_many(&self.store, &exprs, at, &defs::definitions(&specs))?;
        let took = started.elapsed();
        let mut published = Vec::new();
        let persist = {
            let mut guard = self.registry();
            let r = &mut *guard;
            for (spec, answer) in specs.iter().zip(answers) {
                let t = r.tracked.entry(spec.def.name.clone()).or_default();
                let members = match answer {
                    Ok(m) => m,
                    Err(e) => {
                        t.error = Some(e.to_string());
                        continue;
                    }
                };
                t.error = None;
                let entered = &members - &t.members;
                let exited = &t.members - &members;
                for (set, inside) in [(&entered, true), (&exited, false)] {
                    for root in set {
                        let change = SegmentChange {
                            seq: r.next_seq,
                            segment: spec.def.name.clone(),
                            root,
                            entered: inside,
                            at,
                        };
                        r.next_seq += 1;
                        if r.log.len() >= self.options.change_log.max(1) {
                            r.log.pop_front();
                        }
                        r.log.push_back(change.clone());
                        published.push(change);
                    }
                }
                t.entered += entered.len();
                t.exited += exited.len();
                t.dirty |= !entered.is_empty() || !exited.is_empty() || !t.known;
                t.known = true;
                t.members = members;
                t.evaluated_at = at;
                t.events_seen = events_seen;
                let point = SizePoint { at, members: t.members.len() };
                match t.history.back_mut() {
                    Some(last) if at.div_euclid(HISTORY_STEP_NS) == last.at.div_euclid(HISTORY_STEP_NS) => {
                        *last = point
                    }
                    _ => {
                        t.history.push_back(point);
                        t.dirty = true;
                    }
                }
                while t.history.len() > self.options.history.max(1) {
                    t.history.pop_front();
                }
            }
            // Membership of segments no longer defined is forgotten.
            let gone: Vec<String> =
                r.tracked.keys().filter(|k| !specs.iter().any(|s| &s.def.name == *k)).cloned().collect();
            for g in &gone {
                r.tracked.remove(g);
            }
            r.last_round = Some((at, took));
            let due = r.last_persist.is_none_or(|p| p.elapsed() >= PERSIST_EVERY);
            let mut entries: Vec<(String, Option<Vec<u8>>)> =
                gone.into_iter().map(|g| (format!("{STATE_PREFIX}{g}"), None)).collect();
            if due {
                for (name, t) in r.tracked.iter_mut().filter(|(_, t)| t.dirty) {
                    entries.push((format!("{STATE_PREFIX}{name}"), Some(encode(t))));
                    t.dirty = false;
                }
                r.last_persist = Some(Instant::now());
            }
            entries
        };
        if !persist.is_empty()
            && let Err(e) = self.store.put_state(persist)
        {
            // Kept in memory; the next due round writes it again (it is still dirty there only
            // if it changed again, so mark all dirty).
            tracing::warn!(error = %e, "live segment membership could not be saved");
            self.registry().tracked.values_mut().for_each(|t| t.dirty = true);
        }
        for c in published {
            // No receivers is not an error.
            let _ = self.changes.send(c);
        }
        Ok(took)
    }

    /// Saves whatever changed since the last save (at shutdown). Blocking.
    pub fn save(&self) -> cxp_store::Result<()> {
        let entries: Vec<(String, Option<Vec<u8>>)> = {
            let mut r = self.registry();
            r.tracked
                .iter_mut()
                .filter(|(_, t)| t.dirty)
                .map(|(name, t)| {
                    t.dirty = false;
                    (format!("{STATE_PREFIX}{name}"), Some(encode(t)))
                })
                .collect()
        };
        if entries.is_empty() { Ok(()) } else { self.store.put_state(entries) }
    }

    /// Keeps the segments live until `cancel`: a round when events arrived (at most every
    /// `refresh`, and within the `max_share` budget), when a definition changed, and at least
    /// every `expiry`.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut last_events = u64::MAX;
        let mut last_round = Instant::now() - self.options.expiry;
        let mut pause = Duration::ZERO;
        let mut woken = true;
        loop {
            let events = self.metrics.events.load(Ordering::Relaxed);
            let due = woken || events != last_events || last_round.elapsed() >= self.options.expiry;
            if due && !self.specs().is_empty() {
                last_events = events;
                last_round = Instant::now();
                let me = self.clone();
                match tokio::task::spawn_blocking(move || me.round()).await {
                    Ok(Ok(took)) => {
                        let share = self.options.max_share.clamp(0.01, 1.0);
                        pause = self.options.refresh.max(took.mul_f64((1.0 - share) / share));
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "live segments could not be evaluated"),
                    Err(e) => tracing::warn!(error = %e, "live segment round failed"),
                }
            } else if due {
                last_round = Instant::now();
            }
            let wait = if due { pause.max(self.options.refresh) } else { self.options.refresh };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.wake.notified() => woken = true,
                () = tokio::time::sleep(wait) => woken = false,
            }
        }
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.save()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "live segment membership could not be saved at shutdown"),
            Err(e) => tracing::warn!(error = %e, "saving live segments failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(dir: &std::path::Path, change_log: usize) -> LiveSegments {
        let store = Store::open(dir, cxp_store::StoreOptions::default()).expect("store");
        let options = LiveOptions { change_log, ..LiveOptions::default() };
        LiveSegments::open(Arc::new(store), Arc::default(), Vec::new(), options).expect("live")
    }

    #[test]
    fn the_change_log_pages_and_says_what_was_missed() {
        let dir = tempfile::tempdir().expect("dir");
        let live = live(dir.path(), 3);
        assert_eq!(live.changes_after(0, 10), (vec![], 0, 0));
        {
            let mut r = live.registry();
            for root in 0..5u32 {
                let seq = r.next_seq;
                r.next_seq += 1;
                if r.log.len() >= 3 {
                    r.log.pop_front();
                }
                r.log.push_back(SegmentChange { seq, segment: "s".into(), root, entered: true, at: 0 });
            }
        }
        // Positions 1..=5 were written; 3..=5 are kept.
        let (page, next, missed) = live.changes_after(0, 2);
        assert_eq!((page.iter().map(|c| c.seq).collect::<Vec<_>>(), next, missed), (vec![3, 4], 4, 2));
        let (page, next, missed) = live.changes_after(next, 10);
        assert_eq!((page.iter().map(|c| c.seq).collect::<Vec<_>>(), next, missed), (vec![5], 5, 0));
        assert_eq!(live.changes_after(5, 10), (vec![], 5, 0));
    }

    #[test]
    fn saved_membership_reads_back_and_damage_is_refused() {
        let mut t = Tracked { evaluated_at: 7, entered: 3, exited: 1, ..Tracked::default() };
        t.members.extend([1u32, 5, 1 << 20]);
        t.history.push_back(SizePoint { at: 7, members: 3 });
        let bytes = encode(&t);
        let back = decode(&bytes).expect("decodes");
        assert_eq!((back.members, back.evaluated_at, back.entered, back.exited), (t.members, 7, 3, 1));
        assert_eq!(back.history, t.history);
        assert!(decode(&bytes[..bytes.len() - 3]).is_none());
        assert!(decode(&bytes[..2]).is_none());
    }
}
