//! `cxp import`, `cxp quarantine`, `cxp compact`, `cxp stats`.

use crate::util::{cxp, cxp_stdin, ok, path};

const INPUT: &str = "order,customer=c-1,city=上海 amount=5899.5,items=3i,sku=\"A-17\" 1732406400000000000\r
# a comment, then a blank line

 login,customer=c-1 ok=T 1732406401000000000
order,customer=c-2 amount=oops 1732406402000000000
order,customer=c-2 amount=12i 1732406403000000000
review,customer=c-2 text=\"说 \\\"好\\\"\" 1732406404000000000
x f=9223372036854775808i
";

#[test]
fn import_reports_accepted_and_rejected_by_reason_and_keeps_every_rejected_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("in.lp");
    std::fs::write(&file, INPUT).expect("write");
    let data = dir.path().join("data");
    let out = ok(&["import", "--data", path(&data), "--dict", "none", path(&file)]);
    assert!(out.contains("accepted  3"), "{out}");
    assert!(out.contains("rejected  3"), "{out}");
    assert!(out.contains("invalid field value oops"), "{out}");
    assert!(out.contains("field type conflict"), "{out}");
    assert!(out.contains("integer 9223372036854775808i out of range"), "{out}");
    assert!(out.contains("events/s"), "{out}");

    let q = ok(&["quarantine", "--data", path(&data), "--json"]);
    let entries: Vec<serde_json::Value> = q.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(entries.len(), 3);
    let lines: Vec<u64> = entries.iter().map(|e| e["line"].as_u64().expect("line")).collect();
    assert_eq!(lines, vec![5, 8, 6], "parse errors first, then the type conflict the writer found");
    assert_eq!(entries[0]["raw"], "order,customer=c-2 amount=oops 1732406402000000000");
    assert_eq!(entries[0]["reason"], "col 27: invalid field value oops");

    // Fix the conflict: stored, gone from the quarantine.
    let id = entries[2]["id"].as_u64().expect("id").to_string();
    let fixed =
        ok(&["quarantine", "--data", path(&data), "--fix", &id, "order,customer=c-2 amount=12.0 1732406403000000000"]);
    assert!(fixed.contains("stored"), "{fixed}");
    let still = cxp(&["quarantine", "--data", path(&data), "--fix", "1", "still bad"]);
    assert_eq!(still.code, 1);
    assert!(still.stdout.contains("still refused"), "{}", still.stdout);
    assert_eq!(ok(&["quarantine", "--data", path(&data), "--json"]).lines().count(), 2);
    let orders = ok(&["events", "--data", path(&data), "--measurement", "order"]);
    assert_eq!(orders.lines().count(), 2);
}

#[test]
fn import_reads_stdin_and_honours_precision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let run = cxp_stdin(&["import", "--data", path(&data), "--precision", "s", "-"], Some(b"m f=1i 1732406400\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = ok(&["events", "--data", path(&data), "--json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("json");
    assert_eq!(v["ts"], 1732406400000000000i64);
    let bad = cxp(&["import", "--data", path(&data), "--precision", "fortnight", "-"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("fortnight"), "{}", bad.stderr);
}

#[test]
fn a_missing_file_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = cxp(&["import", "--data", path(&dir.path().join("d")), "/no/such/file.lp"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/no/such/file.lp"), "{}", run.stderr);
}

#[test]
fn compact_merges_everything_and_keeps_every_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("g.lp");
    ok(&["gen", "--customers", "500", "--events", "30000", "--days", "20", "--seed", "5", "--out", path(&file)]);
    let data = dir.path().join("data");
    ok(&["import", "--data", path(&data), "--dict", "none", path(&file)]);
    let before = ok(&["events", "--data", path(&data)]);
    let out = ok(&["compact", "--data", path(&data)]);
    assert!(out.contains("merges"), "{out}");
    let stats = ok(&["stats", "--data", path(&data), "--columns"]);
    assert!(stats.contains("events        30000"), "{stats}");
    assert!(stats.contains("0 fresh"), "{stats}");
    assert!(stats.contains("pco"), "{stats}");
    let after = ok(&["events", "--data", path(&data)]);
    assert_eq!(before, after, "merging changes how events are stored, not what they are");
}

#[test]
fn a_string_with_a_raw_newline_across_a_block_boundary_is_imported_whole() {
    const BLOCK: usize = 2 << 20; // cxp import reads 2 MiB at a time
    let filler = "f v=1i 1\n";
    let n = (BLOCK - 12) / filler.len();
    let mut text = filler.repeat(n);
    let newline_at = text.len() + "b s=\"two".len();
    text.push_str("b s=\"two\nlines\" 2\nc v=3i 3\n");
    assert!(newline_at < BLOCK && text.len() > BLOCK, "the string must straddle the boundary");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("in.lp");
    std::fs::write(&file, &text).expect("write");
    let data = dir.path().join("data");
    let out = ok(&["import", "--data", path(&data), "--dict", "none", path(&file)]);
    assert!(out.contains(&format!("accepted  {}", n + 2)), "{out}");
    assert!(out.contains("rejected  0"), "{out}");
    let b = ok(&["events", "--data", path(&data), "--measurement", "b", "--json"]);
    assert!(b.contains(r#""s":"two\nlines""#), "{b}");
}
