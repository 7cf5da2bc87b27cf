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
    // `#KEY` names a key (what a masked search hit gives), and only a key that exists.
    let by_key = store.customer_key(&format!("#{}", view.root)).expect("ok");
    assert_eq!(by_key, Some(view.root));
    assert_eq!(store.customer_key("#99999").expect("ok"), None);
    assert_eq!(store.customer_key("#x").expect("ok"), None);
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

fn key(store: &cxp_store::Store, id: &str) -> u32 {
    store.customer_key(id).expect("lookup").unwrap_or_else(|| panic!("{id} is known"))
}

// The seed's example: anonymous browsing on the web, then sign-in with a phone number, then an
// offline store order that carries only that phone number (written another way).
#[test]
fn browsing_then_sign_in_then_an_offline_order_by_phone_is_one_customer() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = crate::util::open_governed(dir.path());
        lp(&store, "page_view,anon=d-9 path=\"/p/A-1\" 1\n");
        lp(&store, "identify,anon=d-9,customer=c-7 手机号=\"138 0000 0000\",Email=\" ZW@Example.com \" 2\n");
        let r = lp(&store, "order,channel=store,phone=13800000000 amount=99.0 3\n");
        assert_eq!(r.accepted, 1);
        let (d, c, p) = (key(&store, "d-9"), key(&store, "c-7"), key(&store, "+8613800000000"));
        assert_eq!(store.root(c), d);
        assert_eq!(store.root(p), d, "the offline order's phone is the signed-in customer's");
        assert_eq!(key(&store, "138-0000-0000"), p, "look-ups are normalised like ingest");
        assert_eq!(key(&store, "zw@EXAMPLE.com"), key(&store, "zw@example.com"));
    }
    let store = crate::util::open_governed(dir.path());
    let view = store.identity("13800000000").expect("ok").expect("known");
    let mut types: Vec<&str> = view.identifiers.iter().map(|(_, t, _)| t.as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["anon", "customer", "email", "phone"]);
    assert_eq!(view.links.len(), 3, "customer-anon, customer-email, customer-phone");
    let events = store.events(&cxp_store::EventFilter::default()).expect("events");
    let roots: Vec<u32> = events.iter().map(|e| store.root(e.ck)).collect();
    assert_eq!(roots, vec![view.root; 3]);
    assert_eq!(
        events[2].tags,
        vec![("channel".to_owned(), "store".to_owned()), ("phone".to_owned(), "+8613800000000".to_owned())]
    );
}

#[test]
fn guardrails_refuse_a_shared_device_and_ignore_placeholders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::util::open_governed(dir.path());
    lp(&store, "identify,anon=d-shop,customer=c-1 name=\"A\" 1\n");
    // A second customer signs in on the shop's tablet: one customer id per person.
    let r = lp(&store, "identify,anon=d-shop,customer=c-2 name=\"B\" 2\nlogin,anon=anonymous,customer=c-3 ok=true 3\n");
    assert_eq!(r.accepted, 2, "the events are kept; only the link is refused");
    let (c1, c2, d) = (key(&store, "c-1"), key(&store, "c-2"), key(&store, "d-shop"));
    assert_eq!(store.root(d), store.root(c1));
    assert_ne!(store.root(c2), store.root(c1));
    let refusals = store.refusals(0, 10).expect("refusals");
    assert_eq!(refusals.len(), 1);
    assert_eq!((refusals[0].kind.as_str(), refusals[0].value.as_str()), ("anon", "d-shop"));
    assert_eq!(refusals[0].reason, "the customer would have 2 customer values (max 1)");
    assert_eq!(refusals[0].key, c2);
    assert!(store.customer_key("anonymous").expect("ok").is_none(), "a placeholder never becomes an identifier");
    assert_eq!(store.blocked_identifiers().expect("ok"), vec![("anon".to_owned(), "anonymous".to_owned(), 1)]);
    let view = store.identity("c-2").expect("ok").expect("known");
    assert_eq!(view.refusals.len(), 1, "explain shows what was refused");
}

#[test]
fn a_device_limit_stops_the_sixth_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::util::open_governed(dir.path());
    for i in 1..=6 {
        lp(&store, &format!("identify,anon=d-{i},customer=c-1 n={i}i {i}\n"));
    }
    let c = key(&store, "c-1");
    let joined = (1..=6).filter(|i| store.root(key(&store, &format!("d-{i}"))) == store.root(c)).count();
    assert_eq!(joined, 5);
    assert!(store.refusals(0, 10).expect("ok")[0].reason.contains("6 anon values (max 5)"));
}

#[test]
fn a_split_undoes_a_link_survives_reopen_and_is_not_redone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = {
        let store = open(dir.path());
        lp(&store, "identify,anon=d-1,customer=c-1 f=1i 1\nidentify,anon=d-2,customer=c-1 f=1i 2\n");
        let view = store.identity("d-2").expect("ok").expect("known");
        assert_eq!(view.identifiers.len(), 3);
        let link = view.links.iter().find(|l| store.customer_id(l.b).is_some_and(|(_, id)| id == "d-2")).expect("link");
        let undone = store.split_link(link.id, "shared tablet").expect("split");
        assert_eq!(undone.id, link.id);
        assert!(store.split_link(link.id, "again").is_err(), "a link splits once");
        assert!(store.split_link(999, "none").is_err());
        assert_ne!(store.root(key(&store, "d-2")), store.root(key(&store, "c-1")));
        assert_eq!(store.root(key(&store, "d-1")), store.root(key(&store, "c-1")), "other links stay");
        // The same pair arriving again is refused, with the reason.
        lp(&store, "identify,anon=d-2,customer=c-1 f=1i 3\n");
        assert_ne!(store.root(key(&store, "d-2")), store.root(key(&store, "c-1")));
        link.id
    };
    let store = open(dir.path());
    assert_ne!(store.root(key(&store, "d-2")), store.root(key(&store, "c-1")), "splits are durable");
    let view = store.identity("c-1").expect("ok").expect("known");
    assert_eq!(view.splits.len(), 1);
    assert_eq!((view.splits[0].0.id, view.splits[0].1.reason.as_str()), (link, "shared tablet"));
    assert!(view.refusals.iter().any(|r| r.reason == "an operator split these identifiers"));
}
