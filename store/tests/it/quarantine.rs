//! Refused lines are kept with their reason, listed, fixed and replayed.

use cxp_store::{Batch, EventFilter, ParseOptions, Precision};

use crate::util::{lp, open};

#[test]
fn bad_lines_and_type_conflicts_are_quarantined_not_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let receipt = lp(&store, "order,customer=c-1 amount=1.5 10\norder,customer=c-1 amount=\n");
    assert_eq!(receipt.accepted, 1);
    let receipt = lp(&store, "ok f=1i 1\norder,customer=c-2 amount=3i 11\norder,customer=c-3 amount=2.5 12\nx y\n");
    assert_eq!(receipt.accepted, 2, "the conflict and the bad line are refused, the rest stored");
    assert_eq!(receipt.rejected.len(), 2);
    let entries = store.quarantine(0, 100).expect("list");
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].line, 2);
    assert_eq!(entries[0].raw, b"order,customer=c-1 amount=");
    assert!(entries[0].reason.starts_with("col 27:"), "{}", entries[0].reason);
    assert_eq!(entries[0].source, "test");
    // The writer refuses type conflicts after parsing: the reason names both types.
    let conflict = entries.iter().find(|e| e.reason.contains("conflict")).expect("conflict entry");
    assert_eq!(
        conflict.reason,
        "field type conflict: input field \"amount\" on measurement \"order\" is type integer, already exists as type float"
    );
    assert_eq!(conflict.raw, b"order,customer=c-2 amount=3i 11");
    assert_eq!(conflict.line, 2, "the writer keeps the line number of a refused event");
    assert!(entries.iter().any(|e| e.raw == b"x y"));

    // Replaying unchanged lines changes nothing.
    let report = store.replay_quarantine(None).expect("replay");
    assert_eq!((report.stored, report.still_rejected), (0, 3));
    assert_eq!(store.quarantine(0, 100).expect("list").len(), 3);

    // Fixing one stores it and removes it from the quarantine.
    let report = store.fix_quarantine(conflict.id, b"order,customer=c-2 amount=3.0 11").expect("fix").expect("exists");
    assert_eq!(report.stored, 1);
    let left = store.quarantine(0, 100).expect("list");
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|e| e.id != conflict.id));
    let orders =
        store.events(&EventFilter { measurement: Some("order".into()), ..Default::default() }).expect("events");
    assert_eq!(orders.iter().map(|e| e.ts).collect::<Vec<_>>(), vec![10, 11, 12]);
    assert!(store.fix_quarantine(999, b"a f=1").expect("fix").is_none());
}

#[test]
fn replay_keeps_the_original_precision_and_receive_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut batch = Batch::new("http:/write");
    let options = ParseOptions { precision: Precision::Seconds, ..ParseOptions::default() };
    batch.push_line_protocol(b"m f=\n", options, 77, 1);
    store.write(batch).expect("write");
    let entry = &store.quarantine(0, 10).expect("list")[0];
    assert_eq!((entry.precision.as_str(), entry.received_ns), ("s", 77));
    store.fix_quarantine(entry.id, b"m f=1i 5\nm g=2i").expect("fix");
    let events = store.events(&EventFilter::default()).expect("events");
    assert_eq!(events.iter().map(|e| e.ts).collect::<Vec<_>>(), vec![77, 5_000_000_000]);
}

fn write_with(store: &cxp_store::Store, text: &str, precision: Precision, now: i64) -> cxp_store::WriteReceipt {
    let mut batch = Batch::new("test");
    batch.push_line_protocol(text.as_bytes(), ParseOptions { precision, ..ParseOptions::default() }, now, 1);
    store.write(batch).expect("write")
}

#[test]
fn a_type_conflict_in_seconds_replays_at_the_right_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    write_with(&store, "order amount=1.5 1700000000\n", Precision::Seconds, 0);
    write_with(&store, "order amount=2i 1700000001\n", Precision::Seconds, 0);
    let entry = store.quarantine(0, 10).expect("list").remove(0);
    // The writer re-wrote the event with a ns timestamp, and says so.
    assert_eq!(
        (entry.raw.as_slice(), entry.precision.as_str()),
        (b"order amount=2i 1700000001000000000".as_slice(), "ns")
    );
    let again = store.replay_quarantine(None).expect("replay");
    assert_eq!(again.still_rejected, 1);
    assert!(store.quarantine_entry(entry.id).expect("get").expect("kept").reason.contains("conflict"));
    store.fix_quarantine(entry.id, b"order amount=2.0 1700000001000000000").expect("fix").expect("exists");
    let ts: Vec<i64> = store.events(&EventFilter::default()).expect("events").iter().map(|e| e.ts).collect();
    assert_eq!(ts, vec![1_700_000_000_000_000_000, 1_700_000_001_000_000_000]);
}

#[test]
fn an_entry_is_replayed_once_even_by_racing_callers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::sync::Arc::new(open(dir.path()));
    lp(&store, "m f=oops 5\n");
    let id = store.quarantine(0, 1).expect("list")[0].id;
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || store.fix_quarantine(id, b"m f=1i 5").expect("fix"))
        })
        .collect();
    let stored: u64 = racers.into_iter().map(|t| t.join().expect("thread").map_or(0, |r| r.stored)).sum();
    assert_eq!(stored, 1);
    assert_eq!(store.events(&EventFilter::default()).expect("events").len(), 1, "stored exactly once");
    assert!(store.quarantine_entry(id).expect("get").is_none());
}

#[test]
fn a_fix_keeps_every_bad_line_and_the_original_receive_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    write_with(&store, "m f=\n", Precision::Nanoseconds, 1_000);
    let first = store.quarantine(0, 1).expect("list").remove(0);
    assert_eq!(first.received_ns, 1_000);
    // Two bad lines in one fix: both kept, the first under the original entry.
    store.fix_quarantine(first.id, b"m g=\nm h=\n").expect("fix").expect("exists");
    let entries = store.quarantine(0, 10).expect("list");
    assert_eq!(entries.len(), 2);
    assert_eq!((entries[0].id, entries[0].received_ns, entries[0].line), (first.id, 1_000, first.line));
    assert_eq!(entries[0].raw, b"m g=");
    assert_eq!(entries[1].raw, b"m h=");
    // A blank fix deletes nothing.
    let report = store.fix_quarantine(first.id, b"# nothing\n\n").expect("fix").expect("exists");
    assert_eq!((report.stored, report.still_rejected), (0, 1));
    assert!(store.quarantine_entry(first.id).expect("get").is_some());
    // A good fix without a timestamp gets the time the line was first received.
    store.fix_quarantine(first.id, b"m f=1i").expect("fix").expect("exists");
    assert_eq!(store.events(&EventFilter::default()).expect("events")[0].ts, 1_000);
}
