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

#[test]
fn import_with_the_dictionary_normalises_counts_and_quarantines_by_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("in.lp");
    std::fs::write(
        &file,
        "identify,customer=c-1 性别=\"男\",手机号=\"138-0000-0000\" 1\norder,customer=c-1 amount=-1.0 2\norder,customer=c-1 amount=12i 3\n",
    )
    .expect("write");
    let data = dir.path().join("data");
    let out = ok(&["import", "--data", path(&data), "--dict", "default", path(&file)]);
    assert!(out.contains("accepted  2") && out.contains("rejected  1"), "{out}");
    let json = ok(&["events", "--data", path(&data), "--measurement", "identify", "--json"]);
    assert!(json.contains(r#""gender":1"#) && json.contains(r#""phone":"+8613800000000""#), "{json}");
    let q = ok(&["quarantine", "--data", path(&data), "--json"]);
    assert!(q.contains("rule amount.min: -1 is below 0"), "{q}");
    let stats = ok(&["stats", "--data", path(&data), "--quality"]);
    let gender = stats.lines().find(|l| l.starts_with("identify") && l.contains("gender")).expect("gender row");
    assert_eq!(gender.split_whitespace().skip(2).collect::<Vec<_>>(), vec!["1", "1", "0", "0"], "{stats}");
    let amount = stats.lines().find(|l| l.starts_with("order") && l.contains("amount")).expect("amount row");
    assert_eq!(amount.split_whitespace().skip(2).collect::<Vec<_>>(), vec!["1", "1", "0", "1"], "{stats}");
    let bad = cxp(&["import", "--data", path(&data), "--dict", path(&file), path(&file)]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("invalid dictionary"), "{}", bad.stderr);
}
