//! The profile stage: applies each committed group to the profiles (identity merges, then
//! every stored event under its person), tells the search indexer what changed, and only then
//! acknowledges the group's batches, so an acknowledged event is durable *and* visible in its
//! customer's profile. It runs on its own thread while the writer builds the next group.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender};

use crate::manifest::Shared;
use crate::search::indexer::Work;
use crate::tap::{Committed, EventKey};
use crate::types::{Ck, NO_CUSTOMER};
use crate::writer::{Outcome, Request, Stored};

/// Work for the stage.
pub(crate) enum Msg {
    /// A committed group with what the writer learnt while building it.
    Group { group: Vec<Request>, outcomes: Vec<Outcome>, stored: Stored, merges: Vec<(Ck, Ck)>, next_seq: u64 },
    /// Answer once every earlier group is applied.
    Barrier(SyncSender<()>),
}

pub(crate) fn run(shared: &Arc<Shared>, search: Option<&Sender<Work>>, rx: Receiver<Msg>) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Group { group, outcomes, stored, merges, next_seq } => {
                let keys = apply(shared, search, &group, &stored, &merges, next_seq);
                finish(shared, group, outcomes, keys, next_seq);
            }
            Msg::Barrier(done) => drop(done.send(())),
        }
    }
}

/// Hands the applied group to the taps (when `keys` were gathered for them), then sends every
/// request its outcome.
pub(crate) fn finish(
    shared: &Shared,
    mut group: Vec<Request>,
    outcomes: Vec<Outcome>,
    keys: Option<Vec<Vec<Option<EventKey>>>>,
    next_seq: u64,
) {
    // Before the taps hear of the group: a subscriber that reads this after opening its tap
    // gets every later group through the tap.
    shared.committed_seq.fetch_max(next_seq, std::sync::atomic::Ordering::AcqRel);
    if let Some(keys) = keys {
        let batches = group
            .iter_mut()
            .filter_map(|r| match r {
                Request::Write { batch, .. } => Some(std::mem::take(batch)),
                _ => None,
            })
            .collect();
        crate::tap::publish(&shared.taps, Committed::new(batches, keys, next_seq));
    }
    reply(group, outcomes);
}

/// Sends every request of a committed group its outcome.
pub(crate) fn reply(group: Vec<Request>, outcomes: Vec<Outcome>) {
    for (req, outcome) in group.into_iter().zip(outcomes) {
        match (req, outcome) {
            (Request::Write { reply, .. }, Outcome::Write(r)) => drop(reply.send(Ok(r))),
            (Request::Swap { reply, .. }, Outcome::Swap(r)) => drop(reply.send(r)),
            (Request::Split { reply, .. }, Outcome::Split(r)) => drop(reply.send(r)),
            _ => unreachable!("one outcome per request, in order"),
        }
    }
}

/// Applies a committed group to the profiles: identity merges first, then each stored event
/// under its key's root. Roots come from the graph as it is now, which may already include
/// unions of later groups: profile merges commute, so the result is the same. Returns each
/// stored event's key, root and sequence number when a tap wants them.
pub(crate) fn apply(
    shared: &Shared,
    search: Option<&Sender<Work>>,
    group: &[Request],
    stored: &Stored,
    merges: &[(Ck, Ck)],
    next_seq: u64,
) -> Option<Vec<Vec<Option<EventKey>>>> {
    let tapped = !shared.taps.lock().unwrap_or_else(|p| p.into_inner()).is_empty();
    let mut keys = Vec::new();
    let mut profiles = shared.profiles.write().unwrap_or_else(|p| p.into_inner());
    for (lo, hi) in merges {
        profiles.union(*lo, *hi);
    }
    let batches = group.iter().filter_map(|r| match r {
        Request::Write { batch, .. } => Some(batch),
        _ => None,
    });
    let mut roots = hashbrown::HashSet::new();
    let mut texts = Vec::new();
    let mut root_of = Vec::new();
    for (batch, kept) in batches.zip(stored) {
        // Roots first, a thousand keys per hold of the identity lock: the writer needs that
        // lock to add identifiers while this runs, and taking it once per event made its
        // counter bounce between the writer's core and this one.
        root_of.clear();
        for chunk in kept.chunks(1024) {
            let identity = crate::identity::resolve::read(&shared.identity);
            root_of.extend(chunk.iter().map(|rec| rec.map_or(NO_CUSTOMER, |(ck, _, _)| identity.graph.root(ck))));
        }
        if tapped {
            keys.push(
                kept.iter()
                    .zip(&root_of)
                    .map(|(rec, &root)| match rec {
                        Some((ck, seq, _)) if *ck != NO_CUSTOMER => Some(EventKey { ck: *ck, root, seq: *seq }),
                        _ => None,
                    })
                    .collect(),
            );
        }
        for ((event, rec), root) in batch.events().zip(kept).zip(&root_of) {
            if let Some((ck, seq, implied)) = rec
                && *ck != NO_CUSTOMER
            {
                let row = crate::profile::Row::from_event(&event, *seq, *implied);
                profiles.apply(*root, &row);
                if search.is_some() {
                    roots.insert(*root);
                    crate::search::indexer::event_texts(&event, *ck, &mut texts);
                }
            }
        }
    }
    drop(profiles);
    if let Some(tx) = search {
        roots.extend(merges.iter().map(|(lo, _)| *lo));
        let gone = merges.iter().map(|(_, hi)| *hi).collect();
        let work = Work::Changed { roots: roots.into_iter().collect(), gone, texts, next_seq };
        // The indexer is gone only at shutdown; the next open catches the index up.
        let _ = tx.send(work);
    }
    tapped.then_some(keys)
}
