//! `cxp import` of CSV with a mapping file and of transaction logs: what goes in is what
//! comes back out of `cxp events`; records that cannot be events are reported with their
//! line and reason; an import killed midway resumes where it stopped.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cxp, ok, path};

const MAPPING: &str = r#"
event = "order"
customer = "customer_id"
time = "ordered_at"
time_format = "auto"
tags = { channel = "channel" }
[fields]
amount = { column = "total", type = "float" }
items = { column = "qty", type = "int" }
sku = { type = "string" }
"#;

fn events(data: &std::path::Path, measurement: &str) -> Vec<serde_json::Value> {
    ok(&["events", "--data", path(data), "--measurement", measurement, "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

// (customer, ts, amount in cents, items, sku, channel) of an event read back.
type Row = (String, i64, i64, i64, String, String);

fn row(e: &serde_json::Value) -> Row {
    (
        e["customer"].as_str().expect("customer").to_owned(),
        e["ts"].as_i64().expect("ts"),
        (e["fields"]["amount"].as_f64().expect("amount") * 100.0).round() as i64,
        e["fields"]["items"].as_i64().expect("items"),
        e["fields"]["sku"].as_str().expect("sku").to_owned(),
        e["tags"]["channel"].as_str().expect("channel").to_owned(),
    )
}

#[test]
fn generated_orders_round_trip_through_csv() {
    let dir = tempfile::tempdir().expect("dir");
    // The orders of a generated stream, loaded as line protocol: the reference.
    let lp = dir.path().join("gen.lp");
    ok(&["gen", "--customers", "300", "--events", "20000", "--days", "30", "--out", path(&lp)]);
    let reference = dir.path().join("ref");
    ok(&["import", "--data", path(&reference), "--dict", "none", path(&lp)]);
    let orders: Vec<serde_json::Value> = events(&reference, "order")
        .into_iter()
        .filter(|e| e["customer"].as_str().is_some_and(|c| c.starts_with("c-")))
        .collect();
    assert!(orders.len() > 500, "{} orders", orders.len());
    // The same orders as a shop would export them: CSV, RFC 3339 times with an offset.
    let mut csv = String::from("customer_id,ordered_at,total,qty,sku,channel\n");
    for e in &orders {
        let r = row(e);
        let t = jiff::Timestamp::from_nanosecond(i128::from(r.1))
            .expect("ts")
            .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").expect("tz"));
        csv.push_str(&format!(
            "{},{},{},{},\"{}\",{}\n",
            r.0,
            t.strftime("%Y-%m-%dT%H:%M:%S%.f%:z"),
            r.2 as f64 / 100.0,
            r.3,
            r.4,
            r.5
        ));
    }
    // Two records that cannot be events, on known lines.
    let bad_line = orders.len() as u64 + 2;
    csv.push_str("c-1,yesterday,1.0,1,X,web\n");
    csv.push_str("c-1,2026-01-01T00:00:00Z,lots,1,X,web\n");
    let file = dir.path().join("orders.csv");
    std::fs::write(&file, csv).expect("csv");
    let mapping = dir.path().join("orders.toml");
    std::fs::write(&mapping, MAPPING).expect("mapping");
    let rejects = dir.path().join("rejects.tsv");
    let data = dir.path().join("data");
    let out = ok(&[
        "import",
        "--data",
        path(&data),
        "--dict",
        "none",
        "--mapping",
        path(&mapping),
        "--rejects",
        path(&rejects),
        path(&file),
    ]);
    assert!(out.contains(&format!("accepted  {}", orders.len())), "{out}");
    assert!(out.contains("rejected  2"), "{out}");
    let back: BTreeSet<Row> = events(&data, "order").iter().map(row).collect();
    let want: BTreeSet<Row> = orders.iter().map(row).collect();
    assert_eq!(back, want, "every order back, nothing else");
    let report = std::fs::read_to_string(&rejects).expect("rejects");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert!(
        lines[0].contains(&format!("orders.csv:{bad_line}\t")) && lines[0].contains("\"yesterday\" is not a time"),
        "{report}"
    );
    assert!(
        lines[1].contains(&format!(":{}\t", bad_line + 1)) && lines[1].contains("\"lots\" is not a number"),
        "{report}"
    );
    // A mapping naming a column the file lacks is refused before anything is read.
    std::fs::write(&mapping, MAPPING.replace("total", "totl")).expect("mapping");
    let r = cxp(&["import", "--data", path(&data), "--mapping", path(&mapping), path(&file)]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("totl") && r.stderr.contains("header"), "{}", r.stderr);
}

#[test]
fn a_transaction_log_loads_in_one_command() {
    let dir = tempfile::tempdir().expect("dir");
    // The CDNOW shape (customer, YYYYMMDD, quantity, amount), a header, a comma-separated
    // line, an ISO date, and one broken line.
    let log = "customer date quantity amount\n\
               00001 19970101 1 11.77\n\
               00002 19970112  1   12.00\n\
               00002,19970112,5,77.00\n\
               00003 1997-03-02 2 20.76\n\
               00004 19970101 one 1.00\n";
    let file = dir.path().join("CDNOW_master.txt");
    std::fs::write(&file, log).expect("log");
    let data = dir.path().join("data");
    let out = ok(&["import", "--data", path(&data), "--format", "txlog", path(&file)]);
    assert!(out.contains("accepted  4") && out.contains("rejected  1"), "{out}");
    assert!(out.contains("\"one\" is not an integer"), "{out}");
    let orders = events(&data, "order");
    let got: BTreeSet<(String, i64, i64, i64)> = orders
        .iter()
        .map(|e| {
            (
                e["customer"].as_str().expect("c").to_owned(),
                e["ts"].as_i64().expect("ts"),
                e["fields"]["quantity"].as_i64().expect("q"),
                (e["fields"]["amount"].as_f64().expect("a") * 100.0).round() as i64,
            )
        })
        .collect();
    // 1997-01-01 = 852076800 s, 1997-01-12 = 853027200 s, 1997-03-02 = 857260800 s (date -u -d ... +%s).
    let want: BTreeSet<(String, i64, i64, i64)> = [
        ("00001", 852_076_800, 1, 1177),
        ("00002", 853_027_200, 1, 1200),
        ("00002", 853_027_200, 5, 7700),
        ("00003", 857_260_800, 2, 2076),
    ]
    .into_iter()
    .map(|(c, s, q, a)| (c.to_owned(), s * 1_000_000_000, q, a))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn an_import_killed_midway_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().expect("dir");
    let rows = 250_000u64;
    let mut csv = String::from("customer_id,ordered_at,total,qty,sku,channel\n");
    for i in 0..rows {
        csv.push_str(&format!("c-{},{},{}.5,{},S-{},web\n", i % 5000, 1_767_225_600 + i as i64, i % 900, i % 7 + 1, i));
    }
    let file = dir.path().join("big.csv");
    std::fs::write(&file, csv).expect("csv");
    let mapping = dir.path().join("m.toml");
    std::fs::write(&mapping, MAPPING).expect("mapping");
    let data = dir.path().join("data");
    let args = ["import", "--data", path(&data), "--dict", "none", "--mapping", path(&mapping), path(&file)];
    let mut child = Command::new(env!("CARGO_BIN_EXE_cxp"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Killed (as by the OOM killer or a power cut) once some batches are durable.
    let checkpoints = data.join("import");
    let started = Instant::now();
    while std::fs::read_dir(&checkpoints).map_or(true, |mut d| d.next().is_none()) {
        assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint appeared");
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let before = events(&data, "order").len() as u64;
    let out = cxp(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    if before < rows {
        assert!(out.stderr.contains("resuming at line"), "{}", out.stderr);
    }
    let after: Vec<serde_json::Value> = events(&data, "order");
    eprintln!("killed with {before} events stored; {} after the resume", after.len());
    let distinct: BTreeSet<String> =
        after.iter().map(|e| e["fields"]["sku"].as_str().expect("sku").to_owned()).collect();
    assert_eq!(distinct.len() as u64, rows, "every row is there after the resume");
    // The batch that was committing when the process died may be durable without its
    // checkpoint: the most that can be stored twice (2 MB of line protocol, about 27,000 of
    // these rows).
    assert!((after.len() as u64) <= rows + 30_000, "{} events for {rows} rows", after.len());
    assert!(
        std::fs::read_dir(&checkpoints).map_or(true, |mut d| d.next().is_none()),
        "the checkpoint is gone when done"
    );
}
