//! Segment `messageId` deduplication: clients retry a batch with the same ids when they did
//! not see the reply (a timeout, a restart), so an id already stored is not stored again.
//!
//! The window holds the last `capacity` ids, first in first out, and is reloaded from the
//! stored events' `message_id` field at start, so a retry after a crash is recognised too.
//! An id whose first request is still being written is "pending": a concurrent retry is told
//! to come back (503) rather than guessed at, since the first write may still fail.

use std::collections::VecDeque;
use std::sync::Mutex;

use hashbrown::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Stored,
}

/// What the window says of one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Never seen: it is now pending, and must be [`Dedup::settle`]d.
    New,
    /// Already stored: skip the event.
    Stored,
    /// A request with it is being written right now.
    Pending,
}

/// The window.
#[derive(Debug)]
pub struct Dedup {
    inner: Mutex<Inner>,
    capacity: usize,
}

// Ids with their state and the generation of their queue entry: an id forgotten after a
// failed write and claimed again gets a new entry, and the old one is skipped when it comes up.
#[derive(Debug, Default)]
struct Inner {
    ids: HashMap<Box<str>, (State, u64)>,
    order: VecDeque<(Box<str>, u64)>,
    generation: u64,
}

impl Inner {
    fn insert(&mut self, id: &str, state: State) {
        self.generation += 1;
        self.ids.insert(id.into(), (state, self.generation));
        self.order.push_back((id.into(), self.generation));
    }
}

impl Dedup {
    /// A window of `capacity` ids.
    pub fn new(capacity: usize) -> Dedup {
        Dedup { inner: Mutex::default(), capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims `id`.
    pub fn claim(&self, id: &str) -> Seen {
        let mut inner = self.lock();
        match inner.ids.get(id) {
            Some((State::Stored, _)) => Seen::Stored,
            Some((State::Pending, _)) => Seen::Pending,
            None => {
                inner.insert(id, State::Pending);
                Seen::New
            }
        }
    }

    /// The writes of `ids` (claimed as new) ended: stored, or failed and free to retry.
    pub fn settle<'a>(&self, ids: impl IntoIterator<Item = &'a str>, stored: bool) {
        let mut inner = self.lock();
        for id in ids {
            if stored {
                if let Some((s, _)) = inner.ids.get_mut(id) {
                    *s = State::Stored;
                }
            } else {
                inner.ids.remove(id);
            }
        }
        self.evict(&mut inner);
    }

    /// Remembers ids already stored (reloaded at start).
    pub fn remember<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.lock();
        for id in ids {
            if !inner.ids.contains_key(id) {
                inner.insert(id, State::Stored);
            }
        }
        self.evict(&mut inner);
    }

    fn evict(&self, inner: &mut Inner) {
        while inner.ids.len() > self.capacity {
            let Some((old, generation)) = inner.order.pop_front() else { break };
            match inner.ids.get(&old) {
                Some((State::Stored, g)) if *g == generation => {
                    inner.ids.remove(&old);
                }
                // A pending id stays until settled: it goes to the back of the queue.
                Some((State::Pending, g)) if *g == generation => {
                    inner.order.push_back((old, generation));
                    break;
                }
                // A stale entry (the id was forgotten, or claimed again later).
                _ => {}
            }
        }
        // Stale entries must not pile up when ids keep failing.
        if inner.order.len() > 2 * self.capacity + 1024 {
            let ids = &inner.ids;
            inner.order.retain(|(id, g)| ids.get(id).is_some_and(|(_, have)| have == g));
        }
    }

    /// Ids in the window.
    pub fn len(&self) -> usize {
        self.lock().ids.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_recognised_and_failures_forgotten() {
        let d = Dedup::new(2);
        assert_eq!(d.claim("a"), Seen::New);
        assert_eq!(d.claim("a"), Seen::Pending);
        d.settle(["a"], true);
        assert_eq!(d.claim("a"), Seen::Stored);
        assert_eq!(d.claim("b"), Seen::New);
        d.settle(["b"], false);
        assert_eq!(d.claim("b"), Seen::New, "a failed write may be retried");
        d.settle(["b"], true);
        d.remember(["c"]);
        assert_eq!(d.len(), 2, "the oldest id left the window");
        assert_eq!(d.claim("a"), Seen::New);
        assert_eq!(d.claim("b"), Seen::Stored);
        d.settle(["a"], true);
        assert_eq!(d.len(), 2);
        assert_eq!(d.claim("b"), Seen::New, "b, the oldest, left the window when a was stored");
        assert_eq!(d.claim("c"), Seen::Stored);
    }
}
