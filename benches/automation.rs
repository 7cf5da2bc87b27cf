//! Automation at load: how long from an event's commit to its message being durable in the
//! outbox while ingest runs at 100,000 events/s, and how long the daemon takes to bring a
//! million waiting customers back after a restart. (What they cost in RAM is measured by
//! `automation_ram`, under a counting allocator that would slow this one down.)
//!
//! Targets (automation issue): event to action enqueued p99 under 5 ms at 100k events/s;
//! one million pending timers back within 5 s of open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use cxp_daemon::automation::{Automation, AutomationOptions, Clock};
use cxp_daemon::live::{LiveOptions, LiveSegments};
use cxp_daemon::recommend::Recommender;
use cxp_query::automation::parse;
use cxp_store::dict::{Dictionary, DictionaryChoice};
use cxp_store::{Batch, ParseOptions, Store, StoreOptions};
use tokio_util::sync::CancellationToken;

mod support;

fn options() -> StoreOptions {
    StoreOptions {
        search: false,
        dictionary: DictionaryChoice::Use(Arc::new(Dictionary::builtin())),
        ..StoreOptions::default()
    }
}

/// Closes a store once every thread that shared it let go (automation threads stop within a
/// second of being told).
fn close(mut store: Arc<Store>) {
    for _ in 0..100 {
        match Arc::try_unwrap(store) {
            Ok(s) => return s.close().expect("close"),
            Err(shared) => {
                store = shared;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    panic!("the store is still in use");
}

struct Running {
    store: Arc<Store>,
    auto: Arc<Automation>,
    cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

fn start(dir: tempfile::TempDir) -> Running {
    let store = Arc::new(Store::open(dir.path(), options()).expect("open"));
    let metrics = Arc::new(cxp_daemon::metrics::Metrics::default());
    let live = Arc::new(LiveSegments::open(store.clone(), metrics, Vec::new(), LiveOptions::default()).expect("live"));
    let cancel = CancellationToken::new();
    let rec = Recommender::start(store.clone(), Default::default(), cancel.clone()).expect("recommender");
    let defs = parse(support::AUTOMATION_RULES).expect("rules");
    let options = AutomationOptions { max_event_age: i64::MAX / 4, data: dir.path().to_owned() };
    let auto = Automation::start(store.clone(), defs, Clock::system(), live, rec, options).expect("automation");
    Running { store, auto, cancel, _dir: dir }
}

/// Generated retail events (2% signups) paced at `rate` events/s for `seconds`.
fn feed(store: &Store, rate: u64, seconds: u64) -> u64 {
    let events = rate * seconds;
    let lp = cxp_gen::generate(cxp_gen::GenConfig {
        customers: events / 20,
        events,
        days: 7,
        seed: 21,
        ..cxp_gen::GenConfig::default()
    });
    let lines: Vec<&[u8]> = lp.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let per_tick = (rate / 100) as usize;
    let started = Instant::now();
    let mut pending = std::collections::VecDeque::new();
    for (tick, chunk) in lines.chunks(per_tick).enumerate() {
        let due = started + Duration::from_millis(10 * tick as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let mut batch = Batch::new("bench");
        batch.push_line_protocol(&chunk.join(&b'\n'), ParseOptions::default(), 0, 1);
        pending.push_back(store.write_async(batch).expect("queue"));
        while pending.len() > 4 {
            pending.pop_front().expect("pending").wait().expect("durable");
        }
    }
    for p in pending {
        p.wait().expect("durable");
    }
    lines.len() as u64
}

fn latency(c: &mut Criterion) {
    let run = start(tempfile::tempdir().expect("tempdir"));
    let mut g = c.benchmark_group("automation");
    g.sample_size(10).measurement_time(Duration::from_secs(40));
    g.bench_function("ingest_100k_events_per_second_with_triggers", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                feed(&run.store, 100_000, 3);
            }
            started.elapsed()
        })
    });
    g.finish();
    // Then a 10 s run on the warm daemon, counted from the start: the latency of every group
    // of events that queued a message.
    std::thread::sleep(Duration::from_secs(2));
    run.auto.enqueue_latency(true);
    let events = feed(&run.store, 100_000, 10);
    std::thread::sleep(Duration::from_secs(1));
    let l = run.auto.enqueue_latency(true);
    eprintln!(
        "automation: commit to durable outbox over {events} events at 100k events/s: {} with a message, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.count,
        l.p50 as f64 / 1e6,
        l.p99 as f64 / 1e6,
        l.max as f64 / 1e6
    );
    run.auto.stop();
    run.cancel.cancel();
}

fn pending(c: &mut Criterion) {
    let n = support::env("CXP_BENCH_PENDING", 1_000_000) as u32;
    // Restart: the daemon's automation saved n waiting customers; how long until they are
    // back after the store opens.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    let run = start(dir);
    let now = cxp_store::now_ns();
    for start in (0..n).step_by(20_000) {
        let mut lp = String::new();
        for i in start..(start + 20_000).min(n) {
            lp.push_str(&format!("signup,customer=c-{i} source=\"ad\" {now}\n"));
        }
        let mut batch = Batch::new("bench");
        batch.push_line_protocol(lp.as_bytes(), ParseOptions::default(), 0, 1);
        run.store.write(batch).expect("write");
    }
    let waited = Instant::now();
    while run.auto.pending() < n as usize && waited.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(run.auto.pending(), n as usize, "every signup waits for its login");
    std::thread::sleep(Duration::from_secs(1));
    run.auto.stop();
    run.cancel.cancel();
    let Running { store, auto, _dir, .. } = run;
    drop(auto);
    close(store);
    let mut g = c.benchmark_group("automation_pending");
    g.sample_size(10);
    g.bench_function(format!("restart_with_{n}_waiting"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let store = Arc::new(Store::open(&path, options()).expect("open"));
                let metrics = Arc::new(cxp_daemon::metrics::Metrics::default());
                let live = Arc::new(
                    LiveSegments::open(store.clone(), metrics, Vec::new(), LiveOptions::default()).expect("live"),
                );
                let cancel = CancellationToken::new();
                let rec = Recommender::start(store.clone(), Default::default(), cancel.clone()).expect("recommender");
                let options = AutomationOptions { max_event_age: i64::MAX / 4, data: path.clone() };
                let started = Instant::now();
                let auto = Automation::start(
                    store.clone(),
                    parse(support::AUTOMATION_RULES).expect("rules"),
                    Clock::system(),
                    live,
                    rec,
                    options,
                )
                .expect("automation");
                total += started.elapsed();
                assert_eq!(auto.pending(), n as usize);
                auto.stop();
                cancel.cancel();
                drop(auto);
                close(store);
            }
            total
        })
    });
    g.finish();
    drop(_dir);
}

criterion_group!(benches, pending, latency);
criterion_main!(benches);
