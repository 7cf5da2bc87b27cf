//! Crash safety: a real writer process is killed with SIGKILL at random points while it
//! ingests and acknowledges batches; after reopening, every acknowledged batch is present
//! exactly once, no batch is half there, and the store is readable and writable.
//!
//! The child is this test binary itself, re-run on the ignored `crash_child` test.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cxp_store::{Batch, EventFilter, FieldValue, MergePolicy, Store, StoreOptions, Value};
use rand::{Rng, SeedableRng};

const EVENTS_PER_BATCH: i64 = 300;

// Profiles are checkpointed often, so kills land before, during and after checkpoints.
const DICT: &str = "version = 1\n[fields.n]\ntype = \"int\"\nsum = true\n[computed]\nn_total = \"sum(order.n)\"\nn_1d = \"sum(order.n, 1d)\"\n";

fn options() -> StoreOptions {
    let dict = cxp_store::dict::Dictionary::parse(DICT).expect("valid dictionary");
    StoreOptions {
        dictionary: cxp_store::dict::DictionaryChoice::Use(std::sync::Arc::new(dict)),
        checkpoint_every: Duration::from_millis(50),
        ..StoreOptions::default()
    }
}

#[test]
#[ignore = "the child side of the crash tests; runs only when CXP_CRASH_DIR is set"]
fn crash_child() {
    let (Ok(dir), Ok(first)) = (std::env::var("CXP_CRASH_DIR"), std::env::var("CXP_CRASH_FIRST")) else { return };
    let first: i64 = first.parse().expect("batch number");
    let options = StoreOptions { merge: MergePolicy { fresh_trigger: 3, ..MergePolicy::default() }, ..options() };
    let store = Store::open(&dir, options).expect("open");
    let base = cxp_store::now_ns() - 3 * cxp_store::DAY;
    let mut pending = std::collections::VecDeque::new();
    for b in first.. {
        let mut batch = Batch::new("crash");
        for n in 0..EVENTS_PER_BATCH {
            let ts = base + (b * EVENTS_PER_BATCH + n) * 7_000_000_000;
            let customer = format!("c-{}", (b * 31 + n) % 97);
            batch
                .push_event(
                    "order",
                    ts,
                    [("customer", customer.as_str())],
                    [("batch", FieldValue::I64(b)), ("n", FieldValue::I64(n))],
                )
                .expect("valid");
        }
        // A device signing in links to a customer (some links a guardrail refuses).
        let (anon, customer) = (format!("d-{}", b % 13), format!("c-{}", b % 97));
        batch
            .push_event(
                "identify",
                base + b,
                [("anon", anon.as_str()), ("customer", customer.as_str())],
                [("b", FieldValue::I64(b))],
            )
            .expect("valid");
        // Several batches in flight, so that group commits really group.
        pending.push_back((b, store.write_async(batch).expect("queue")));
        if pending.len() >= 4 {
            let (done, p) = pending.pop_front().expect("non-empty");
            p.wait().expect("durable");
            println!("ack {done}");
        }
    }
}

fn run_once(dir: &std::path::Path, first: i64, rng: &mut impl Rng) -> Vec<i64> {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["--exact", "crash::crash_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env("CXP_CRASH_DIR", dir)
        .env("CXP_CRASH_FIRST", first.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("ack ").and_then(|n| n.parse::<i64>().ok()))
            .collect::<Vec<_>>()
    });
    std::thread::sleep(Duration::from_millis(rng.random_range(150..900)));
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
    let _ = child.wait();
    reader.join().expect("reader")
}

fn check(dir: &std::path::Path, acked: &[i64]) -> i64 {
    let store = Store::open(dir, StoreOptions { auto_merge: false, ..options() }).expect("reopen after kill");
    let mut per_batch: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let orders = EventFilter { measurement: Some("order".into()), ..EventFilter::default() };
    let mut per_root: BTreeMap<u32, (u64, i64)> = BTreeMap::new();
    for e in store.events(&orders).expect("readable") {
        if let Some((_, Value::I64(n))) = e.fields.iter().find(|(k, _)| k == "n") {
            let r = per_root.entry(store.root(e.ck)).or_default();
            r.0 += 1;
            r.1 += n;
        }
        let get = |k: &str| match e.fields.iter().find(|(n, _)| n == k) {
            Some((_, Value::I64(v))) => *v,
            other => panic!("field {k}: {other:?}"),
        };
        per_batch.entry(get("batch")).or_default().push(get("n"));
    }
    for b in acked {
        assert!(per_batch.contains_key(b), "acknowledged batch {b} is missing");
    }
    for (b, mut ns) in per_batch.clone() {
        ns.sort_unstable();
        assert_eq!(ns, (0..EVENTS_PER_BATCH).collect::<Vec<_>>(), "batch {b} is partial or duplicated");
    }
    // Profiles are exactly what the surviving events say, whatever checkpoint the kill left.
    for c in 0..97 {
        let at = Some(i64::MAX - 1); // after every event, some of which lie in the future
        let Some(view) = store.customer(&format!("c-{c}"), at).expect("customer") else { continue };
        let orders: u64 = view.counts.iter().filter(|(m, _, _)| m == "order").map(|(_, _, n)| n).sum();
        let want = per_root.get(&view.root).copied().unwrap_or_default();
        assert_eq!(orders, want.0, "c-{c}: orders in the profile");
        let total = view.computed.iter().find(|v| v.name == "n_total").and_then(|v| v.value.clone());
        assert_eq!(total, Some(Value::F64(want.1 as f64)), "c-{c}: n_total");
    }
    // Still writable, and merges still work on what survived.
    crate::util::lp(&store, "after_crash f=1i 1\n");
    store.merge_all().expect("merge after crash");
    per_batch.keys().next_back().copied().unwrap_or(0)
}

fn crash_loop(rounds: usize, seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut all_acked = Vec::new();
    let mut next = 0;
    for _ in 0..rounds {
        let acked = run_once(dir.path(), next, &mut rng);
        all_acked.extend(acked);
        let last = check(dir.path(), &all_acked);
        next = last.max(next) + 1_000;
    }
    assert!(!all_acked.is_empty(), "the child acknowledged nothing: the test proved nothing");
}

#[test]
fn acknowledged_batches_survive_sigkill() {
    crash_loop(3, 1);
}

#[test]
#[ignore = "long: run on purpose with --ignored"]
fn acknowledged_batches_survive_sigkill_many_times() {
    crash_loop(40, 2);
}
