//! Application state kept beside the events: durable, by key, listed by prefix.

use crate::util::open;

#[test]
fn state_survives_reopen_and_lists_by_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        assert_eq!(store.state("segment.def.vip").expect("read"), None);
        assert!(store.states("segment.").expect("list").is_empty());
        store
            .put_state(vec![
                ("segment.def.vip".into(), Some(b"spend > 100".to_vec())),
                ("segment.def.churn".into(), Some(b"days_since_last > 90".to_vec())),
                ("segmentx".into(), Some(b"other".to_vec())),
                ("journey.1".into(), Some(b"j".to_vec())),
            ])
            .expect("put");
        store.put_state(vec![("segment.def.churn".into(), None)]).expect("remove");
    }
    let store = open(dir.path());
    assert_eq!(store.state("segment.def.vip").expect("read").as_deref(), Some(&b"spend > 100"[..]));
    assert_eq!(store.state("segment.def.churn").expect("read"), None);
    let listed = store.states("segment.def.").expect("list");
    assert_eq!(listed, vec![("segment.def.vip".to_owned(), b"spend > 100".to_vec())]);
}
