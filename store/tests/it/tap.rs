//! Taps: committed events reach subscribers with their keys, people and sequence numbers; a
//! lossy tap drops whole groups when its subscriber is behind, and says how many.

use std::time::Duration;

use cxp_store::TapMode;

use crate::util::{lp, open};

#[test]
fn subscribers_see_every_committed_event_with_its_person() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let tap = store.tap(16, TapMode::Blocking);
    lp(&store, "page_view,anon=d-1 sku=\"A\" 1000\nidentify,anon=d-1,customer=c-1 name=\"x\" 2000\n");
    let refused = lp(&store, "order,customer=c-1 amount=5 3000\norder,customer=c-1 amount=\"five\" 4000\nbad line\n");
    assert_eq!(refused.accepted, 1);
    let mut seen = Vec::new();
    while let Some(group) = tap.recv_timeout(Duration::from_millis(500)) {
        for (e, key) in group.events() {
            assert!(key.seq < group.next_seq);
            seen.push((e.measurement.to_owned(), e.ts, key.root, key.seq));
        }
        if seen.len() == 3 {
            break;
        }
    }
    let root = store.root(store.customer_key("c-1").expect("look-up").expect("known"));
    let names: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["page_view", "identify", "order"], "refused lines never reach a tap");
    // The sign-in linked the device to the customer: from the identify on, one person.
    assert_eq!((seen[1].2, seen[2].2), (root, root));
    assert!(seen.windows(2).all(|w| w[0].3 < w[1].3), "sequence numbers grow: {seen:?}");
    assert_eq!(tap.dropped(), 0);
}

#[test]
fn a_lossy_tap_never_holds_ingest_and_counts_what_it_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let tap = store.tap(1, TapMode::Lossy(1_000_000));
    for i in 0..5 {
        lp(&store, &format!("login,customer=c-{i} ok=true {}\n", 1000 + i));
    }
    let first = tap.recv_timeout(Duration::from_millis(500)).expect("the first group");
    assert_eq!(first.len(), 1);
    assert!(tap.recv_timeout(Duration::from_millis(50)).is_none());
    assert_eq!(tap.dropped(), 4, "one group queued, the four after it dropped");
    drop(tap);
    // A bound on the events waiting: the second group would exceed it.
    let tap = store.tap(100, TapMode::Lossy(1));
    lp(&store, "login,customer=c-7 ok=true 7000\n");
    lp(&store, "login,customer=c-8 ok=true 8000\n");
    assert_eq!(tap.dropped(), 1);
    assert_eq!(tap.recv_timeout(Duration::from_millis(500)).map(|g| g.len()), Some(1));
    drop(tap);
    // A subscriber that went away is forgotten.
    lp(&store, "login,customer=c-9 ok=true 9000\n");
}

#[test]
fn a_reader_catches_up_from_a_sequence_number_through_merges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    lp(&store, "login,customer=c-1 ok=true 1000\nlogin,customer=c-2 ok=true 2000\n");
    let mark = store.committed_seq();
    lp(&store, "login,customer=c-3 ok=true 500\nlogin,customer=c-4 ok=true 3000\n");
    lp(&store, "order,customer=c-5 amount=1.0 4000\n");
    let read = |store: &cxp_store::Store| -> Vec<i64> {
        let mut ts: Vec<i64> = ["login", "order"]
            .iter()
            .flat_map(|m| store.scan(cxp_store::ScanRequest::new(*m).from_seq(mark)).expect("scan"))
            .flat_map(|b| b.expect("batch").ts)
            .collect();
        ts.sort_unstable();
        ts
    };
    // Late events (an old timestamp) count by when they were committed, not by their time.
    assert_eq!(read(&store), vec![500, 3000, 4000]);
    store.merge_all().expect("merge");
    assert_eq!(read(&store), vec![500, 3000, 4000], "the same after merges mix old and new rows in a part");
}
