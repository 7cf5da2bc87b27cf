//! Segments and analytics over a retail mix of a million customers and ten million events
//! (180 days, `cxp gen` with seed 11): a platinum segment as a marketer writes it and from
//! computed traits, an ad-hoc aggregate no computed trait covers, RFM, a 4-step funnel, daily
//! KPIs over 180 days and co-purchase; then what keeping 20 named segments live costs ingest.
//!
//! Targets (segments issue): a segment from computed traits under 10 ms; an ad-hoc scan no
//! slower than DuckDB; funnel, RFM and DAU at most half of DuckDB's time; 20 live segments
//! under 20% of ingest throughput.
//!
//! The store is built once and kept under `target/bench-data` (delete it to rebuild).
//! `CXP_BENCH_PEERS=1` also exports the same events, after identity stitching, to CSV and
//! runs the same queries in DuckDB with 2 threads (`benches/peers/duckdb_analytics.sh`),
//! printing its times next to ours. `CXP_BENCH_CUSTOMERS` / `CXP_BENCH_EVENTS` shrink it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use cxp_gen::GenConfig;
use cxp_query::analytics::copurchase::CopurchaseSpec;
use cxp_query::analytics::funnel::FunnelSpec;
use cxp_query::analytics::kpi::KpiSpec;
use cxp_query::analytics::rfm::RfmOptions;
use cxp_query::segment::Definitions;
use cxp_store::dict::{Dictionary, DictionaryChoice};
use cxp_store::{Batch, ColumnData, ParseOptions, ScanRequest, Store, StoreOptions};

mod support;
use support::{env, ingest};

// The allocator `cxp` itself runs with (src/main.rs): queries allocate columns of a million
// values, and glibc hands those back to the kernel and faults them in again on every query.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DAY: i64 = 86_400_000_000_000;
const DAYS: i64 = 180;
const START: i64 = 1_767_225_600 * 1_000_000_000;
// The day after the last generated event.
const AT: i64 = START + DAYS * DAY;

fn options() -> StoreOptions {
    StoreOptions {
        auto_merge: false,
        search: false,
        dictionary: DictionaryChoice::Use(Arc::new(Dictionary::builtin())),
        ..StoreOptions::default()
    }
}

// The store, built on first use and reopened after.
fn dataset() -> (PathBuf, u64, u64) {
    let (customers, events) = (env("CXP_BENCH_CUSTOMERS", 1_000_000), env("CXP_BENCH_EVENTS", 10_000_000));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-data/analytics-{customers}-{events}"));
    if dir.join("complete").exists() {
        return (dir, customers, events);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let started = Instant::now();
    let lp = cxp_gen::generate(GenConfig { customers, events, days: DAYS as u32, seed: 11, ..GenConfig::default() });
    let store = Store::open(&dir, options()).expect("open");
    ingest(&store, &lp);
    store.merge_all().expect("merge");
    store.close().expect("close");
    std::fs::write(dir.join("complete"), b"").expect("marker");
    eprintln!("built {events} events of {customers} customers in {:.1} s", started.elapsed().as_secs_f64());
    (dir, customers, events)
}

// The best-selling product (the co-purchase subject).
fn popular_sku(store: &Store) -> String {
    let mut counts: hashbrown::HashMap<String, u64> = hashbrown::HashMap::new();
    for batch in store.scan(ScanRequest::new("order").columns(["sku"])).expect("scan") {
        let batch = batch.expect("batch");
        if let Some(c) = batch.column("sku")
            && let ColumnData::Str(s) = &c.data
        {
            for row in 0..batch.rows {
                *counts.entry(s.get(row).to_owned()).or_default() += 1;
            }
        }
    }
    counts.into_iter().max_by_key(|(k, n)| (*n, std::cmp::Reverse(k.clone()))).map(|(k, _)| k).expect("orders")
}

// The events after identity stitching, one row each: what DuckDB is given.
fn export_csv(store: &Store, path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    writeln!(out, "kind,root,ts,amount,sku,channel").expect("write");
    for m in store.measurements().expect("measurements") {
        let req = ScanRequest::new(m.clone()).columns(["amount", "sku", "channel"]).with_keys();
        for batch in store.scan(req).expect("scan") {
            let batch = batch.expect("batch");
            let text = |name: &str, row: usize| match batch.column(name).and_then(|c| c.get(row)) {
                Some(cxp_store::Value::Str(s)) => s,
                Some(v) => v.as_f64().map(|x| x.to_string()).unwrap_or_default(),
                None => String::new(),
            };
            for row in 0..batch.rows {
                let root = store.root(batch.ck[row]);
                let (amount, sku, channel) = (text("amount", row), text("sku", row), text("channel", row));
                writeln!(out, "{m},{root},{},{amount},{sku},{channel}", batch.ts[row]).expect("write");
            }
        }
    }
    out.flush().expect("flush");
}

fn peers(dir: &Path, sku: &str) {
    if std::env::var("CXP_BENCH_PEERS").is_err() {
        return;
    }
    let csv = dir.join("events.csv");
    if !csv.exists() {
        let store = Store::open(dir, options()).expect("open");
        export_csv(&store, &csv);
        store.close().expect("close");
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/duckdb_analytics.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(&csv)
        .arg(AT.to_string())
        .arg(sku)
        .status()
        .expect("run the DuckDB peer");
    assert!(status.success(), "the DuckDB peer failed");
}

fn analytics(c: &mut Criterion) {
    let (dir, customers, events) = dataset();
    let sku = {
        let store = Store::open(&dir, options()).expect("open");
        let s = popular_sku(&store);
        store.close().expect("close");
        s
    };
    peers(&dir, &sku);
    let store = Store::open(&dir, options()).expect("open");
    let defs = Definitions::new();
    let mut g = c.benchmark_group(format!("analytics_{customers}_customers_{events}_events"));
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    let segments = [
        ("segment_computed_traits", "spend_30d > 5000 and last_seen within 30d"),
        ("segment_as_written", "sum(order.amount, 30d) > 5000 and did(any, 30d)"),
        ("adhoc_scan_45d", "sum(order.amount, 45d) > 1000"),
    ];
    for (name, expr) in segments {
        let a = cxp_query::segment::query(&store, expr, AT, &defs).expect("query");
        eprintln!("{name}: {expr:?} -> {} of {} customers", a.count(), a.universe);
        g.bench_function(name, |b| b.iter(|| cxp_query::segment::query(&store, expr, AT, &defs).expect("query")));
    }
    let rfm = RfmOptions::at(AT);
    eprintln!("rfm: {} customers", cxp_query::analytics::rfm_report(&store, &rfm).expect("rfm").customers);
    g.bench_function("rfm", |b| b.iter(|| cxp_query::analytics::rfm_report(&store, &rfm).expect("rfm")));
    let funnel = FunnelSpec {
        steps: ["signup", "page_view", "add_to_cart", "order"].map(String::from).to_vec(),
        step_window: Some(7 * DAY),
        window: None,
        from: i64::MIN,
        at: AT,
        breakdown: None,
    };
    let f = cxp_query::analytics::funnel_report(&store, &funnel).expect("funnel");
    eprintln!("funnel: {:?}", f.steps.iter().map(|s| s.customers).collect::<Vec<_>>());
    g.bench_function("funnel_4_steps_7d", |b| {
        b.iter(|| cxp_query::analytics::funnel_report(&store, &funnel).expect("funnel"))
    });
    let kpi = KpiSpec::new(AT - DAYS * DAY, AT);
    let k = cxp_query::analytics::kpi_report(&store, &kpi).expect("kpi");
    eprintln!("dau: {} days, last {:?}", k.days.len(), k.days.last().map(|d| d.dau));
    g.bench_function("daily_kpis_180d", |b| b.iter(|| cxp_query::analytics::kpi_report(&store, &kpi).expect("kpi")));
    let co = CopurchaseSpec::new(sku.clone(), AT, 10);
    let r = cxp_query::analytics::copurchase_report(&store, &co).expect("copurchase");
    eprintln!("copurchase {sku}: {} buyers, top {:?}", r.buyers, r.items.first().map(|i| (&i.sku, i.buyers)));
    g.bench_function("copurchase", |b| b.iter(|| cxp_query::analytics::copurchase_report(&store, &co).expect("co")));
    g.finish();
    store.close().expect("close");
}

// Twenty segments of every kind a marketer keeps: computed traits, scans, recency, RFM,
// traits, and segments of segments.
const LIVE: [&str; 20] = [
    "spend_30d > 500",
    "spend_90d > 2000",
    "orders_30d >= 2",
    "orders_90d = 0 and last_seen within 30d",
    "avg_order_90d > 300",
    "logins_30d >= 5",
    "last_seen within 7d",
    "not (last_seen within 60d)",
    "did(order, 7d)",
    "did(add_to_cart, 3d) and not did(order, 3d)",
    "count(page_view, 7d) >= 10",
    "sum(order.amount, 14d) > 1000",
    "distinct(page_view.sku, 7d) >= 5",
    "rfm.segment = \"champions\"",
    "rfm.segment = \"at risk\"",
    "rfm.r <= 2 and rfm.m >= 4",
    "exists(trait.email) and spend_30d > 0",
    "trait.city in [\"上海\", \"北京\"]",
    "max_order_90d > 1000 or refunds_90d > 0",
    "first_seen within 30d and orders_30d = 0",
];

// Ingest of `rounds` batches of 5,000 events into a store of 200,000 customers, with the
// named segments kept live by the daemon's own loop (rounds within 20% of one core).
fn ingest_with(lp: &[u8], store: &Arc<Store>, metrics: &Arc<cxp_daemon::metrics::Metrics>) -> Duration {
    let started = Instant::now();
    let mut pending = std::collections::VecDeque::new();
    let mut lines = lp.split_inclusive(|b| *b == b'\n').peekable();
    while lines.peek().is_some() {
        let mut body = Vec::with_capacity(5000 * 110);
        for l in lines.by_ref().take(5000) {
            body.extend_from_slice(l);
        }
        let mut batch = Batch::new("bench");
        batch.push_line_protocol(&body, ParseOptions::default(), 0, 1);
        pending.push_back(store.write_async(batch).expect("queue"));
        if pending.len() > 4 {
            pending.pop_front().expect("pending").wait().expect("durable");
            metrics.events.fetch_add(5000, Ordering::Relaxed);
        }
    }
    for p in pending {
        p.wait().expect("durable");
    }
    started.elapsed()
}

fn live_segments(c: &mut Criterion) {
    let customers = env("CXP_BENCH_LIVE_CUSTOMERS", 200_000);
    // 60 days up to 10 days ago, then the 10 days up to now arrive while the segments are live:
    // their windows (7 to 90 days) hold real events.
    let today = cxp_store::now_ns() / DAY * DAY;
    let base = cxp_gen::generate(GenConfig {
        customers,
        events: customers * 10,
        days: 60,
        start_ns: today - 70 * DAY,
        ..GenConfig::default()
    });
    let more =
        cxp_gen::generate(GenConfig { customers, events: 1_000_000, days: 10, seed: 2, start_ns: today - 10 * DAY });
    let chunk = 200_000;
    let mut g = c.benchmark_group(format!("live_segments_{customers}_customers"));
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    for live in [false, true] {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(Store::open(dir.path(), StoreOptions { auto_merge: true, ..options() }).expect("open"));
        ingest(&store, &base);
        let metrics = Arc::new(cxp_daemon::metrics::Metrics::default());
        let cancel = tokio_util::sync::CancellationToken::new();
        let runner = live.then(|| {
            let files: Vec<cxp_query::segment::defs::SegmentSpec> = LIVE
                .iter()
                .enumerate()
                .map(|(i, e)| cxp_query::segment::defs::SegmentSpec {
                    def: cxp_query::api::SegmentDef {
                        name: format!("s{i}"),
                        expr: (*e).to_owned(),
                        description: String::new(),
                    },
                    source: cxp_query::segment::defs::DefSource::File,
                })
                .collect();
            let segments = Arc::new(
                cxp_daemon::live::LiveSegments::open(store.clone(), metrics.clone(), files, Default::default())
                    .expect("live"),
            );
            let (s, cancel) = (segments.clone(), cancel.clone());
            let thread = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(s.run(cancel));
            });
            (segments, thread)
        });
        let name = if live { "ingest_200k_with_20_live_segments" } else { "ingest_200k_no_segments" };
        let mut offset = 0usize;
        let lines: Vec<&[u8]> = more.split_inclusive(|b| *b == b'\n').collect();
        g.throughput(criterion::Throughput::Elements(chunk as u64));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if offset + chunk > lines.len() {
                        offset = 0;
                    }
                    let part: Vec<u8> = lines[offset..offset + chunk].concat();
                    offset += chunk;
                    total += ingest_with(&part, &store, &metrics);
                }
                total
            })
        });
        if let Some((segments, thread)) = runner {
            cancel.cancel();
            thread.join().expect("live thread");
            let docs = segments.docs();
            let sizes: Vec<u64> = docs.iter().map(|d| d.members).collect();
            eprintln!("live segment sizes: {sizes:?}");
            assert!(docs.iter().all(|d| d.error.is_none()), "{docs:?}");
        }
        drop(store);
    }
    g.finish();
}

criterion_group!(benches, analytics, live_segments);
criterion_main!(benches);
