//! `cxp dict`.

use crate::util::{cxp, ok, path};

#[test]
fn the_default_dictionary_checks_and_a_broken_one_is_explained_by_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, ok(&["dict", "default"])).expect("write");
    let out = ok(&["dict", "check", path(&good)]);
    assert!(out.contains(": ok ("), "{out}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = 1\n\n[fields.rating]\ntype = \"int\"\nmin = 5\nmax = 1\n").expect("write");
    let run = cxp(&["dict", "check", path(&bad)]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bad.toml:3:1: field \"rating\": min 5 is above max 1"), "{}", run.stderr);
}
