//! `cxp gen`: the contract later issues rely on.

use crate::util::{cxp, ok, path};

#[test]
fn same_arguments_same_bytes_and_exact_line_count() {
    let args = ["gen", "--customers", "300", "--events", "5000", "--days", "10", "--seed", "9"];
    let a = ok(&args);
    let b = ok(&args);
    assert_eq!(a, b);
    assert_eq!(a.lines().count(), 5000);
    let other = ok(&["gen", "--customers", "300", "--events", "5000", "--days", "10", "--seed", "10"]);
    assert_ne!(a, other);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("g.lp");
    ok(&[&args[..], &["--out", path(&out)]].concat());
    assert_eq!(std::fs::read_to_string(&out).expect("written"), a);
}

#[test]
fn the_mix_has_every_event_kind_of_a_retail_business() {
    let out = ok(&["gen", "--customers", "2000", "--events", "60000", "--days", "30", "--seed", "1"]);
    for m in ["signup", "login", "page_view", "add_to_cart", "order", "review", "identify"] {
        assert!(out.lines().any(|l| l.starts_with(&format!("{m},"))), "no {m} events");
    }
    assert!(out.lines().any(|l| l.starts_with("order,") && l.contains("channel=store") && !l.contains("customer=")));
    assert!(out.lines().any(|l| l.starts_with("page_view,anon=")));
    assert!(out.lines().any(|l| l.starts_with("identify,anon=") && l.contains(",customer=")));
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let run = cxp(&["gen", "--events", "many"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--events"), "{}", run.stderr);
}
