//! Customer search: Chinese and English, identifiers, and an index that is missing, broken
//! or behind at open is rebuilt or caught up from redb.

use std::sync::Arc;

use cxp_store::dict::{Dictionary, DictionaryChoice};
use cxp_store::{Store, StoreOptions};

use crate::util::lp;

fn open(dir: &std::path::Path, search: bool) -> Store {
    let options = StoreOptions {
        auto_merge: false,
        search,
        dictionary: DictionaryChoice::Use(Arc::new(Dictionary::builtin())),
        ..StoreOptions::default()
    };
    Store::open(dir, options).expect("open")
}

const EVENTS: &str =
    "identify,customer=c-1 name=\"张伟\",city=\"上海\",phone=\"138 0000 0000\",email=\"ZW@example.com\" 1
review,customer=c-1 text=\"我要退款，物流太慢\",rating=1i 2
review,anon=d-5 text=\"Great shoes, fast delivery\",rating=5i 3
identify,customer=c-2 name=\"Anna Smith\",city=\"Berlin\" 4
";

fn roots(store: &Store, query: &str) -> Vec<u32> {
    store.search(query, 10).expect("search").customers.iter().collect()
}

fn key(store: &Store, id: &str) -> u32 {
    store.root(store.customer_key(id).expect("ok").expect("known"))
}

#[test]
fn chinese_english_and_identifiers_find_the_customer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), true);
    lp(&store, EVENTS);
    store.search_flush().expect("flush");
    let c1 = key(&store, "c-1");
    assert_eq!(roots(&store, "退款"), vec![c1], "a bigram inside 我要退款");
    assert_eq!(roots(&store, "张伟"), vec![c1]);
    assert_eq!(roots(&store, "13800000000"), vec![c1], "the phone as typed, without +86");
    assert_eq!(roots(&store, "zw@example.com"), vec![c1]);
    let d5 = key(&store, "d-5");
    assert_eq!(roots(&store, "fast delivery"), vec![d5]);
    assert!(roots(&store, "delivery 退款").is_empty(), "every word must match");
    assert_eq!(roots(&store, "张伟 退款"), vec![c1], "a name in the profile and a word of a review");
    assert_eq!(roots(&store, "berlin"), vec![key(&store, "c-2")]);
    let hit = &store.search("退款", 5).expect("search").top[0];
    assert!(hit.snippet.contains("我要退款"), "{hit:?}");
    // The anonymous reviewer signs in: the text now finds the customer.
    lp(&store, "identify,anon=d-5,customer=c-9 name=\"Bo\" 5\n");
    store.search_flush().expect("flush");
    assert_eq!(roots(&store, "fast delivery"), vec![key(&store, "c-9")]);
    assert_eq!(key(&store, "c-9"), d5, "the device seen first stands for the person");
    assert!(store.search("   ", 5).expect("empty query").customers.is_empty());
}

#[test]
fn a_missing_broken_or_behind_index_is_rebuilt_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // Written without search: the index does not exist yet.
        let store = open(dir.path(), false);
        lp(&store, EVENTS);
    }
    {
        let store = open(dir.path(), true);
        store.search_flush().expect("flush");
        assert_eq!(roots(&store, "退款").len(), 1, "built from redb at open");
        lp(&store, "review,customer=c-2 text=\"想要退款\",rating=2i 6\n");
    }
    // Behind: events written with search off after the index was made.
    {
        let store = open(dir.path(), false);
        lp(&store, "review,customer=c-3 text=\"申请退款\",rating=1i 7\n");
    }
    {
        let store = open(dir.path(), true);
        store.search_flush().expect("flush");
        assert_eq!(roots(&store, "退款").len(), 3, "caught up");
    }
    // Broken: garbage in the index's meta file.
    let meta = dir.path().join("search").join("meta.json");
    std::fs::write(&meta, b"{ not json").expect("break the index");
    {
        let store = open(dir.path(), true);
        store.search_flush().expect("flush");
        assert_eq!(roots(&store, "退款").len(), 3, "rebuilt");
    }
    // Deleted.
    std::fs::remove_dir_all(dir.path().join("search")).expect("delete the index");
    let store = open(dir.path(), true);
    store.search_flush().expect("flush");
    assert_eq!(roots(&store, "退款").len(), 3, "rebuilt");
}
