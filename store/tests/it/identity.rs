//! Identity links: an anonymous visitor who signs in becomes one customer, durably.

use crate::util::{lp, open};

#[test]
fn anonymous_browsing_then_sign_in_is_one_customer_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        lp(&store, "page_view,anon=d-77 dur=3i 1\npage_view,anon=d-77 dur=5i 2\n");
        let receipt =
            lp(&store, "identify,anon=d-77,customer=c-1042 name=\"张伟\" 3\norder,customer=c-1042 amount=5.0 4\n");
        assert_eq!(receipt.accepted, 2);
        let d = store.customer_key("d-77").expect("ok").expect("d-77");
        let c = store.customer_key("c-1042").expect("ok").expect("c-1042");
        assert_ne!(d, c);
        assert_eq!(store.root(c), store.root(d), "one customer");
        assert_eq!(store.root(d), d, "the identifier seen first stands for the customer");
    }
    let store = open(dir.path());
    let view = store.identity("c-1042").expect("ok").expect("known");
    let ids: Vec<&str> = view.identifiers.iter().map(|(_, _, id)| id.as_str()).collect();
    assert_eq!(ids, vec!["d-77", "c-1042"]);
    assert_eq!(view.links.len(), 1);
    let link = &view.links[0];
    assert_eq!((link.measurement.as_str(), link.ts, link.source.as_str()), ("identify", 3, "test"));
    assert_eq!(store.root(store.customer_key("c-1042").expect("ok").expect("c")), view.root);
    // Events keep the key they were written with: merging rewrote nothing.
    let events = store.events(&cxp_store::EventFilter::default()).expect("events");
    let keys: Vec<u32> = events.iter().map(|e| e.ck).collect();
    let (d, c) = (view.identifiers[0].0, view.identifiers[1].0);
    assert_eq!(keys, vec![d, d, c, c]);
}

#[test]
fn a_group_records_each_join_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    lp(
        &store,
        "identify,anon=d-1,customer=c-1 f=1i 1\nidentify,anon=d-2,customer=c-1 f=1i 2\nidentify,anon=d-1,customer=c-1 f=1i 3\nlogin,customer=c-2 ok=true 4\n",
    );
    let view = store.identity("d-2").expect("ok").expect("known");
    assert_eq!(view.links.len(), 2, "{:?}", view.links);
    assert_eq!(view.identifiers.len(), 3);
    let c2 = store.customer_key("c-2").expect("ok").expect("c-2");
    assert_eq!(store.root(c2), c2, "unlinked customers stay apart");
    assert!(store.identity("nobody").expect("ok").is_none());
}
