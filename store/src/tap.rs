//! Committed events as they happen: the profile stage hands every committed group to the
//! subscribers (recommendations, triggers) right after applying it to the profiles, before
//! the writers are acknowledged, so a subscriber sees an event no later than its producer
//! hears it is stored.
//!
//! A group travels as its batches (moved, not copied) plus each stored event's key, root and
//! sequence number, one allocation per group. A `Lossy` tap never slows ingest: when its
//! queue is full the group is dropped and counted, and the subscriber learns it from the gap
//! in sequence numbers (it can read the missed events back from the store). A `Blocking` tap
//! holds the stage until there is room, which holds ingest: for subscribers that must see
//! every event and keep up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use crate::batch::{Batch, EventRef};
use crate::store::Store;
use crate::types::Ck;

/// What a tap does when its subscriber is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapMode {
    /// Drop the group and count it once this many events wait unread (a bound on the memory
    /// a slow subscriber can hold: groups hold whole batches).
    Lossy(usize),
    /// Wait for room (ingest waits too). The subscriber must never wait on the store (a
    /// write, a checkpoint) while its queue is full: the store would be waiting on it.
    Blocking,
}

/// The key of a stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKey {
    /// The customer key the event was written with.
    pub ck: Ck,
    /// Its person when the group was applied.
    pub root: Ck,
    /// Sequence number.
    pub seq: u64,
}

/// One committed group.
#[derive(Debug)]
pub struct Committed {
    batches: Vec<Batch>,
    keys: Vec<Vec<Option<EventKey>>>,
    /// Every sequence number below this is committed (the store's next sequence number after
    /// this group).
    pub next_seq: u64,
    /// When the group was committed and applied (what latencies downstream count from).
    pub committed_at: std::time::Instant,
}

impl Committed {
    pub(crate) fn new(batches: Vec<Batch>, keys: Vec<Vec<Option<EventKey>>>, next_seq: u64) -> Committed {
        Committed { batches, keys, next_seq, committed_at: std::time::Instant::now() }
    }

    /// The stored events of the group with their keys (events of no customer and refused
    /// events are left out).
    pub fn events(&self) -> impl Iterator<Item = (EventRef<'_>, EventKey)> + '_ {
        self.batches
            .iter()
            .zip(&self.keys)
            .flat_map(|(b, keys)| b.events().zip(keys.iter()).filter_map(|(e, k)| k.map(|k| (e, k))))
    }

    /// The smallest sequence number of the group, if it stored any event.
    pub fn first_seq(&self) -> Option<u64> {
        self.keys.iter().flatten().flatten().map(|k| k.seq).min()
    }

    /// Stored events.
    pub fn len(&self) -> usize {
        self.keys.iter().flatten().flatten().count()
    }

    /// Whether no event was stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A subscription to committed groups.
#[derive(Debug)]
pub struct Tap {
    rx: Receiver<Arc<Committed>>,
    dropped: Arc<AtomicU64>,
    queued: Arc<AtomicUsize>,
}

impl Tap {
    /// The next group, waiting at most `timeout`; `None` on timeout or when the store closed.
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<Arc<Committed>> {
        let g = self.rx.recv_timeout(timeout).ok()?;
        self.queued.fetch_sub(g.len(), Ordering::Relaxed);
        Some(g)
    }

    /// Groups dropped so far because this subscriber was behind (lossy taps).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The stage's side of a tap.
#[derive(Debug)]
pub(crate) struct TapSender {
    tx: SyncSender<Arc<Committed>>,
    mode: TapMode,
    dropped: Arc<AtomicU64>,
    queued: Arc<AtomicUsize>,
}

/// Hands `group` to every tap; forgets taps whose subscriber is gone.
pub(crate) fn publish(taps: &std::sync::Mutex<Vec<TapSender>>, group: Committed) {
    let n = group.len();
    let group = Arc::new(group);
    let mut taps = taps.lock().unwrap_or_else(|p| p.into_inner());
    taps.retain(|t| match t.mode {
        TapMode::Blocking => {
            t.queued.fetch_add(n, Ordering::Relaxed);
            t.tx.send(Arc::clone(&group)).is_ok()
        }
        TapMode::Lossy(limit) => {
            if t.queued.load(Ordering::Relaxed) + n > limit.max(n) {
                t.dropped.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            match t.tx.try_send(Arc::clone(&group)) {
                Ok(()) => {
                    t.queued.fetch_add(n, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Full(_)) => {
                    t.dropped.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        }
    });
}

impl Store {
    /// Subscribes to committed groups from now on, with a queue of `capacity` groups.
    pub fn tap(&self, capacity: usize, mode: TapMode) -> Tap {
        let (tx, rx) = sync_channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let queued = Arc::new(AtomicUsize::new(0));
        let sender = TapSender { tx, mode, dropped: Arc::clone(&dropped), queued: Arc::clone(&queued) };
        self.shared.taps.lock().unwrap_or_else(|p| p.into_inner()).push(sender);
        Tap { rx, dropped, queued }
    }

    /// Every sequence number below this is committed and applied: an event with a smaller
    /// one is readable by a scan started now, and one at or above it reaches taps opened
    /// before.
    pub fn committed_seq(&self) -> u64 {
        self.shared.committed_seq.load(Ordering::Acquire)
    }
}
