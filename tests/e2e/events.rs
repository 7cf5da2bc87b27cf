//! `cxp events`: values come back exactly as written.

use crate::util::{cxp, ok, path};

const TRICKY: &str = r#"order,customer=c-1042,channel=store,city=上海 amount=5899.0,items=3i,big=18446744073709551615u,paid=true,sku="A-17" 1732406400000000000
review,customer=c-1042 text="物流很快，但是包装破了 \"quoted\" back\\slash, comma",rating=3i 1732406401000000000
page_view,anon=d-77,path=/a\ b\,c\=d dur=-12i,ratio=-1.5e-7 1732406402000000000
inventory,sku=A-17 stock=0i 1732406403000000000
identify,anon=d-77,customer=c-1042 name="张伟",emoji="🎉" 1732406404000000000
"#;

fn store_with(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("in.lp");
    std::fs::write(&file, text).expect("write");
    let data = dir.path().join("data");
    ok(&["import", "--data", path(&data), "--dict", "none", path(&file)]);
    (dir, data)
}

#[test]
fn json_keeps_every_type_and_every_character() {
    let (_dir, data) = store_with(TRICKY);
    let out = ok(&["events", "--data", path(&data), "--json"]);
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(rows.len(), 5);
    let order = &rows[0];
    assert_eq!(order["ts"], 1732406400000000000i64);
    assert_eq!(order["measurement"], "order");
    assert_eq!(order["customer"], "c-1042");
    assert_eq!(order["tags"]["city"], "上海");
    assert_eq!(order["tags"]["customer"], "c-1042");
    assert!(order["fields"]["amount"].is_f64(), "5899.0 stays a float");
    assert_eq!(order["fields"]["amount"].as_f64(), Some(5899.0));
    assert!(order["fields"]["items"].is_i64());
    assert_eq!(order["fields"]["big"].as_u64(), Some(u64::MAX));
    assert_eq!(order["fields"]["paid"], true);
    assert!(out.lines().next().expect("line").contains("\"amount\":5899.0"));
    assert_eq!(rows[1]["fields"]["text"], "物流很快，但是包装破了 \"quoted\" back\\slash, comma");
    assert_eq!(rows[2]["tags"]["path"], "/a b,c=d");
    assert_eq!(rows[2]["customer"], "d-77");
    assert_eq!(rows[2]["fields"]["ratio"].as_f64(), Some(-1.5e-7));
    assert_eq!(rows[3]["customer"], serde_json::Value::Null);
    assert_eq!(rows[4]["tags"]["anon"], "d-77");
    assert_eq!(rows[4]["fields"]["emoji"], "🎉");
}

#[test]
fn line_protocol_output_imports_back_to_the_same_events() {
    let (dir, data) = store_with(TRICKY);
    ok(&["compact", "--data", path(&data)]);
    let lp = ok(&["events", "--data", path(&data)]);
    let again = dir.path().join("again.lp");
    std::fs::write(&again, &lp).expect("write");
    let data2 = dir.path().join("data2");
    ok(&["import", "--data", path(&data2), "--dict", "none", path(&again)]);
    assert_eq!(ok(&["events", "--data", path(&data2), "--json"]), ok(&["events", "--data", path(&data), "--json"]));
}

#[test]
fn filters_by_customer_measurement_time_and_limit() {
    let (_dir, data) = store_with(TRICKY);
    let d = path(&data);
    assert_eq!(ok(&["events", "--data", d, "--customer", "c-1042"]).lines().count(), 3);
    assert_eq!(ok(&["events", "--data", d, "--customer", "d-77"]).lines().count(), 1);
    assert_eq!(ok(&["events", "--data", d, "--measurement", "review"]).lines().count(), 1);
    let window = ok(&["events", "--data", d, "--from", "2024-11-24T00:00:01Z", "--to", "1732406403000000000"]);
    assert_eq!(window.lines().count(), 2, "{window}");
    assert_eq!(ok(&["events", "--data", d, "--limit", "2"]).lines().count(), 2);
    let unknown = cxp(&["events", "--data", d, "--customer", "nobody"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("nobody"), "{}", unknown.stderr);
    let bad_time = cxp(&["events", "--data", d, "--from", "yesterday"]);
    assert_eq!(bad_time.code, 2);
    assert!(bad_time.stderr.contains("RFC 3339"), "{}", bad_time.stderr);
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::Read;
    let mut lines = String::new();
    for i in 0..50_000 {
        lines.push_str(&format!("m,customer=c-{i} f={i}i {i}\n"));
    }
    let (_dir, data) = store_with(&lines);
    for args in [vec!["events", "--data", path(&data)], vec!["stats", "--data", path(&data), "--columns"]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cxp"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = [0u8; 16];
        child.stdout.take().expect("piped").read_exact(&mut first).expect("some output");
        // The pipe is closed here, like `| head -c 16`.
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn identity_explain_shows_the_chain_of_links() {
    let (_dir, data) = store_with("page_view,anon=d-77 dur=1i 1\nidentify,anon=d-77,customer=c-1042 name=\"x\" 2\n");
    let out = ok(&["identity", "explain", "--data", path(&data), "c-1042"]);
    assert!(out.contains("customer anon=d-77 (2 identifiers)"), "{out}");
    assert!(out.contains("customer=c-1042 -- anon=d-77  by identify event (seq 2, ts 2)"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["identity", "explain", "--data", path(&data), "d-77", "--json"])).expect("json");
    assert_eq!(json["links"][0]["event"], "identify");
    assert_eq!(json["identifiers"].as_array().map(Vec::len), Some(2));
    let unknown = cxp(&["identity", "explain", "--data", path(&data), "nobody"]);
    assert_eq!(unknown.code, 1);
}
