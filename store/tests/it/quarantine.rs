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
    assert_eq!(entry.precision, "s");
    store.fix_quarantine(entry.id, b"m f=1i 5\nm g=2i").expect("fix");
    let events = store.events(&EventFilter::default()).expect("events");
    assert_eq!(events.iter().map(|e| e.ts).collect::<Vec<_>>(), vec![5_000_000_000, entry.received_ns]);
}
