//! Erasure: the whole identity goes from every table, part, quarantine line and the search
//! index; neighbours stay; the identifiers are refused afterwards; an interrupted erasure
//! finishes at the next open; after `compact` no byte of the person is left in the files.

use std::sync::Arc;

use cxp_store::dict::{Dictionary, DictionaryChoice};
use cxp_store::{ScanRequest, Store, StoreOptions};

use crate::util::lp;

fn open(dir: &std::path::Path) -> Store {
    let options = StoreOptions {
        auto_merge: false,
        search: true,
        dictionary: DictionaryChoice::Use(Arc::new(Dictionary::builtin())),
        ..StoreOptions::default()
    };
    Store::open(dir, options).expect("open")
}

// What must be gone: identifiers (an id, an anonymous device linked to it, a phone, an email)
// and free text (a name, a review).
const SECRETS: [&str; 6] =
    ["erase-me-4711", "dev-erase-9", "+8613912345678", "zhang.erase@example.com", "Zhangerase", "wholly-unique-refund"];

const PERSON: &str = "page_view,anon=dev-erase-9 url=\"/a\" 1
identify,anon=dev-erase-9,customer=erase-me-4711 name=\"Zhangerase\",phone=\"+86 139 1234 5678\",email=\"zhang.erase@example.com\" 2
order,customer=erase-me-4711 amount=10.5 3
review,customer=erase-me-4711 text=\"wholly-unique-refund please\",rating=1i 4
";

const NEIGHBOURS: &str = "identify,customer=erase-me-4712 name=\"Nearby\" 5
order,customer=erase-me-4712 amount=7.0 6
review,customer=c-2 text=\"also a refund\",rating=2i 7
";

// A type conflict (amount was a float): quarantined, with the raw line.
const BAD: &str = "order,customer=erase-me-4711 amount=\"lots\" 8
order,customer=erase-me-4712 amount=\"lots\" 9
";

fn rows(store: &Store, measurement: &str) -> Vec<(u32, i64)> {
    let mut out = Vec::new();
    for batch in store.scan(ScanRequest::new(measurement)).expect("scan") {
        let b = batch.expect("batch");
        out.extend(b.ck.iter().copied().zip(b.ts.iter().copied()));
    }
    out
}

fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && memchr::memmem::find(&bytes, needle.as_bytes()).is_some()
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn fill(store: &Store) {
    lp(store, PERSON);
    lp(store, NEIGHBOURS);
    assert_eq!(lp(store, BAD).rejected.len(), 2);
    store.merge_all().expect("merge");
    // And fresh parts on top of merged ones.
    lp(store, "order,customer=erase-me-4711 amount=1.5 10\norder,customer=c-2 amount=2.5 11\n");
    store.search_flush().expect("flush");
}

#[test]
fn erase_removes_the_person_everywhere_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let keys = store.members(store.customer_key("erase-me-4711").expect("ok").expect("known"));
    assert_eq!(keys.len(), 4, "id, device, phone and email are one person: {keys:?}");
    assert_eq!(store.search("wholly", 10).expect("search").customers.len(), 1);
    for secret in SECRETS {
        assert!(!files_containing(dir.path(), secret).is_empty(), "{secret} is on disk before the erasure");
    }
    let receipt = store.erase("+86 139 1234 5678", "token admin-1").expect("erase").expect("found by phone");
    assert_eq!(receipt.keys, keys);
    assert_eq!(receipt.identifiers.values().sum::<u64>(), 4, "{receipt:?}");
    assert_eq!(receipt.events, 5, "page view, identify, review and 2 orders: {receipt:?}");
    assert_eq!((receipt.quarantined, receipt.links), (1, 3), "{receipt:?}");
    assert!(receipt.finished_ns.is_some() && receipt.suppressed);
    let text = format!("{receipt:?}");
    assert!(SECRETS.iter().all(|s| !text.contains(s)), "a receipt holds no personal data: {text}");

    // Gone from every query.
    for id in ["erase-me-4711", "dev-erase-9", "zhang.erase@example.com"] {
        assert_eq!(store.customer_key(id).expect("ok"), None, "{id}");
    }
    for m in ["page_view", "identify", "order", "review"] {
        assert!(rows(&store, m).iter().all(|(ck, _)| !keys.contains(ck)), "{m}");
    }
    assert!(store.search("wholly", 10).expect("search").customers.is_empty());
    assert!(store.customer("erase-me-4711", None).expect("view").is_none());

    // The neighbours are untouched, including one whose id differs by a digit.
    let near = store.customer_key("erase-me-4712").expect("ok").expect("neighbour kept");
    assert_eq!(rows(&store, "order").iter().filter(|(ck, _)| *ck == near).count(), 1);
    assert_eq!(store.quarantine(0, 10).expect("quarantine").len(), 1, "the neighbour's bad line stays");
    assert_eq!(store.search("refund", 10).expect("search").customers.len(), 1, "c-2's review");
    assert_eq!(rows(&store, "review").len(), 1);

    // Refused at ingest from now on, by any of the identifiers; counted, not quarantined.
    let again = lp(&store, "order,customer=erase-me-4711 amount=3.0 12\nsignup phone=\"+8613912345678\" 13\n");
    assert_eq!((again.accepted, again.suppressed, again.rejected.len()), (0, 2, 0));
    assert_eq!(store.customer_key("erase-me-4711").expect("ok"), None, "no key allocated for a refused event");
    assert_eq!(lp(&store, "order,customer=c-3 amount=3.0 14\n").accepted, 1);
    assert_eq!(store.erasures().expect("receipts"), vec![receipt]);
    assert_eq!(store.erase("erase-me-4711", "again").expect("erase"), None);

    // After compaction no file of the data directory holds any of it.
    store.compact().expect("compact");
    for secret in SECRETS {
        assert_eq!(files_containing(dir.path(), secret), Vec::<String>::new(), "{secret}");
    }
    assert!(!files_containing(dir.path(), "erase-me-4712").is_empty(), "the neighbour's id is still stored raw");
    let store = open(dir.path());
    assert!(store.customer_key("erase-me-4712").expect("ok").is_some());
    assert_eq!(lp(&store, "order,customer=erase-me-4711 amount=3.0 15\n").suppressed, 1, "still refused");
}

#[test]
fn an_interrupted_erasure_hides_at_once_and_finishes_at_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let events_before = store.stats().expect("stats").events;
    let receipt = store.erase_start("erase-me-4711", "cli").expect("erase").expect("found");
    assert_eq!(receipt.finished_ns, None);
    // Step 1 only: the rows are still in the parts, but no scan or search returns them.
    assert_eq!(store.stats().expect("stats").events, events_before);
    assert!(rows(&store, "order").iter().all(|(ck, _)| !receipt.keys.contains(ck)));
    assert!(store.search("wholly", 10).expect("search").customers.is_empty());
    drop(store);

    let store = open(dir.path());
    let done = store.erasures().expect("receipts");
    assert_eq!(done.len(), 1);
    assert!(done[0].finished_ns.is_some(), "{done:?}");
    assert_eq!(done[0].events, 5);
    assert_eq!(store.stats().expect("stats").events, events_before - 5);
    assert!(rows(&store, "order").iter().all(|(ck, _)| !receipt.keys.contains(ck)));
}

#[test]
fn opted_out_customers_are_refused_until_they_opt_back_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    lp(&store, "identify,customer=c-1 phone=\"+8613800000000\" 1\norder,customer=c-2 amount=1.0 2\n");
    let keys = store.opt_out("+8613800000000", true).expect("opt out").expect("known");
    assert_eq!(keys.len(), 2);
    assert!(store.opted_out(keys[0]).expect("read"));
    let r = lp(&store, "order,customer=c-1 amount=1.0 3\norder,customer=c-2 amount=1.0 4\n");
    assert_eq!((r.accepted, r.suppressed), (1, 1));
    drop(store);
    let store = open(dir.path());
    assert_eq!(lp(&store, "signup phone=\"+8613800000000\" 5\n").suppressed, 1, "kept across opens");
    store.opt_out("c-1", false).expect("opt in").expect("known");
    assert_eq!(lp(&store, "order,customer=c-1 amount=1.0 6\n").accepted, 1);
    assert_eq!(store.opt_out("nobody", true).expect("ok"), None);

    // Suppression off: nothing is refused.
    drop(store);
    let options = StoreOptions { auto_merge: false, suppression: false, ..StoreOptions::default() };
    let store = Store::open(dir.path(), options).expect("open");
    store.opt_out("c-1", true).expect("opt out");
    assert_eq!(lp(&store, "order,customer=c-1 amount=1.0 7\n").accepted, 1);
}

#[test]
fn an_erasure_without_the_index_reaches_it_at_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    drop(store);
    let options = StoreOptions { auto_merge: false, dictionary: DictionaryChoice::Saved, ..StoreOptions::default() };
    let without_index = Store::open(dir.path(), options).expect("open");
    without_index.erase("erase-me-4711", "cli").expect("erase").expect("found");
    drop(without_index);
    let store = open(dir.path());
    store.search_flush().expect("flush");
    assert!(store.search("wholly", 10).expect("search").customers.is_empty());
    assert_eq!(store.search("refund", 10).expect("search").customers.len(), 1, "c-2's review stays");
    store.compact().expect("compact");
    assert_eq!(files_containing(dir.path(), "wholly-unique-refund"), Vec::<String>::new());
}

#[test]
fn quarantined_lines_are_judged_by_their_identifiers_not_by_any_matching_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    lp(
        &store,
        "order,customer=42 amount=1.5 1\nsignup,customer=42 phone=\"+8613912345678\" 2\norder,customer=c-9 amount=2.5 3\n",
    );
    // Refused lines: a type conflict of customer 42, one of c-9 that merely contains the
    // number 42, and a review without its rating that names the phone as typed, not as stored.
    let bad = "order,customer=42 amount=\"x\" 4\norder,customer=c-9,store=42 amount=\"lots\" 5\nreview,phone=139\\ 1234\\ 5678 text=\"hi\" 6\n";
    let r = lp(&store, bad);
    assert_eq!(r.rejected.len(), 3, "{r:?}");
    let naming = store.quarantine_naming("42").expect("ok").expect("known");
    assert_eq!(naming.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1, 2], "{naming:?}");
    let receipt = store.erase("42", "test").expect("erase").expect("found");
    assert_eq!(receipt.quarantined, 2);
    let left = store.quarantine(0, 10).expect("quarantine");
    assert_eq!(left.len(), 1);
    assert!(String::from_utf8_lossy(&left[0].raw).contains("c-9"));

    // Lines of the erased person refused for other reasons are not kept either: a type
    // conflict, a dictionary rule (a review needs a rating) and a line the dictionary rejects.
    let again =
        "order,customer=42 amount=\"z\" 7\nreview,customer=42 text=\"hello\" 8\norder,customer=c-9 amount=\"w\" 9\n";
    let r = lp(&store, again);
    assert_eq!((r.suppressed, r.rejected.len()), (2, 1), "{r:?}");
    assert_eq!(store.quarantine(0, 10).expect("quarantine").len(), 2, "only c-9's lines");
}
