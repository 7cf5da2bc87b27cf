//! Model-based test: random batches go to the store and to a plain in-memory oracle; after
//! merges and reopen both must hold exactly the same events.

use std::collections::BTreeMap;

use cxp_store::{Batch, EventFilter, FieldValue, Store, StoreOptions, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::util::open;

#[derive(Debug, Clone, PartialEq)]
struct Expected {
    ts: i64,
    measurement: String,
    customer: Option<String>,
    tags: Vec<(String, String)>,
    fields: Vec<(String, Value)>,
}

const MEASUREMENTS: [&str; 4] = ["order", "page_view", "login", "inventory"];
const TEXTS: [&str; 5] = ["", "物流很快，但是包装破了", "say \"hi\"", "back\\slash", "emoji 🎉, comma"];

// Field types per measurement and field name: fixed, except `bad` which flips to provoke
// type conflicts.
fn random_field(rng: &mut ChaCha8Rng, name: &str) -> Value {
    match name {
        "amount" => Value::F64((rng.random_range(0..1_000_000) as f64) / 100.0),
        "items" => Value::I64(rng.random_range(-5..1_000)),
        "big" => Value::U64(rng.random_range(0..u64::MAX)),
        "ok" => Value::Bool(rng.random_bool(0.5)),
        "text" => Value::Str(TEXTS[rng.random_range(0..TEXTS.len())].to_owned()),
        _ => {
            if rng.random_bool(0.9) {
                Value::I64(rng.random_range(0..10))
            } else {
                Value::Str("conflict".into())
            }
        }
    }
}

fn random_batch(rng: &mut ChaCha8Rng, base_ts: i64) -> (Batch, Vec<Expected>) {
    let mut batch = Batch::new("model");
    let mut expected = Vec::new();
    for _ in 0..rng.random_range(1..400) {
        let measurement = MEASUREMENTS[rng.random_range(0..MEASUREMENTS.len())].to_owned();
        let ts = base_ts + rng.random_range(-3 * cxp_store::DAY..3 * cxp_store::DAY);
        let mut tags = Vec::new();
        let customer = match rng.random_range(0..10) {
            0 => None,
            1 => {
                let id = format!("d-{}", rng.random_range(0..50));
                tags.push(("anon".to_owned(), id.clone()));
                Some(id)
            }
            _ => {
                let id = format!("c-{}", rng.random_range(0..200));
                tags.push(("customer".to_owned(), id.clone()));
                Some(id)
            }
        };
        if rng.random_bool(0.7) {
            tags.push(("channel".to_owned(), ["web", "app", "store", "上海 store"][rng.random_range(0..4)].to_owned()));
        }
        let mut fields = Vec::new();
        for name in ["amount", "items", "big", "ok", "text", "bad"] {
            if rng.random_bool(0.5) || (fields.is_empty() && name == "bad") {
                fields.push((name.to_owned(), random_field(rng, name)));
            }
        }
        let as_fv = |v: &Value| match v {
            Value::I64(x) => FieldValue::I64(*x),
            Value::U64(x) => FieldValue::U64(*x),
            Value::F64(x) => FieldValue::F64(*x),
            Value::Bool(x) => FieldValue::Bool(*x),
            Value::Str(s) => FieldValue::Str(s.clone().into()),
        };
        batch
            .push_event(
                &measurement,
                ts,
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                fields.iter().map(|(k, v)| (k.as_str(), as_fv(v))),
            )
            .expect("valid event");
        tags.sort();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        expected.push(Expected { ts, measurement, customer, tags, fields });
    }
    (batch, expected)
}

/// The oracle's view of type conflicts: the first type a field gets in a measurement wins.
fn accept(types: &mut BTreeMap<(String, String), &'static str>, e: &Expected) -> bool {
    let kind = |v: &Value| match v {
        Value::I64(_) => "i",
        Value::U64(_) => "u",
        Value::F64(_) => "f",
        Value::Bool(_) => "b",
        Value::Str(_) => "s",
    };
    if e.fields.iter().any(|(k, v)| types.get(&(e.measurement.clone(), k.clone())).is_some_and(|t| *t != kind(v))) {
        return false;
    }
    for (k, v) in &e.fields {
        types.entry((e.measurement.clone(), k.clone())).or_insert(kind(v));
    }
    true
}

fn stored(store: &Store) -> Vec<Expected> {
    store
        .events(&EventFilter::default())
        .expect("read events")
        .into_iter()
        .map(|e| Expected {
            ts: e.ts,
            measurement: e.measurement,
            customer: e.customer,
            tags: e.tags,
            fields: e.fields,
        })
        .collect()
}

fn sorted(mut v: Vec<Expected>) -> Vec<Expected> {
    v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    v
}

#[test]
fn store_matches_oracle_through_merges_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut oracle = Vec::new();
    let mut types = BTreeMap::new();
    let mut store = open(dir.path());
    let base = cxp_store::now_ns() - 2 * cxp_store::DAY;
    for round in 0..6 {
        for _ in 0..8 {
            let (batch, expected) = random_batch(&mut rng, base);
            let receipt = store.write(batch).expect("write");
            let accepted: Vec<_> = expected.into_iter().filter(|e| accept(&mut types, e)).collect();
            assert_eq!(receipt.accepted as usize, accepted.len(), "round {round}");
            oracle.extend(accepted);
        }
        assert_eq!(sorted(stored(&store)), sorted(oracle.clone()), "round {round}, before merge");
        match round % 3 {
            0 => {
                store.merge_all().expect("merge");
            }
            1 => {
                store.close().expect("close");
                store = open(dir.path());
            }
            _ => {
                store.close().expect("close");
                store = Store::open(dir.path(), StoreOptions::default()).expect("open with merges");
            }
        }
        assert_eq!(sorted(stored(&store)), sorted(oracle.clone()), "round {round}, after merge/reopen");
    }
    store.merge_all().expect("final merge");
    let stats = store.stats().expect("stats");
    assert_eq!(stats.parts[0], 0, "no fresh parts left after merge_all");
    assert_eq!(stats.events as usize, oracle.len());
    assert_eq!(sorted(stored(&store)), sorted(oracle));
}

#[test]
fn scan_prunes_by_time_and_customer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut text = String::new();
    for i in 0..10_000i64 {
        text.push_str(&format!("order,customer=c-{} amount={}.5 {}\n", i % 100, i, i * 1_000_000_000));
    }
    crate::util::lp(&store, &text);
    store.merge_all().expect("merge");
    let sum = |req: cxp_store::ScanRequest| -> (usize, f64) {
        let mut n = 0;
        let mut s = 0.0;
        for b in store.scan(req).expect("scan") {
            let b = b.expect("batch");
            if let Some(cxp_store::NullableColumn { data: cxp_store::ColumnData::F64(v), .. }) = b.column("amount") {
                n += v.len();
                s += v.iter().sum::<f64>();
            }
        }
        (n, s)
    };
    assert_eq!(
        sum(cxp_store::ScanRequest::new("order").columns(["amount"])),
        (10_000, (0..10_000).map(|i| i as f64 + 0.5).sum())
    );
    let window =
        cxp_store::ScanRequest::new("order").between(100 * 1_000_000_000, 200 * 1_000_000_000).columns(["amount"]);
    assert_eq!(sum(window), (100, (100..200).map(|i| i as f64 + 0.5).sum()));
    let ck = store.customer_key("c-7").expect("lookup").expect("known");
    let one = cxp_store::ScanRequest::new("order").customers(std::iter::once(ck).collect()).columns(["amount"]);
    assert_eq!(sum(one), (100, (0..100).map(|k| (k * 100 + 7) as f64 + 0.5).sum()));
    // Sorted by customer, so one customer's rows touch few chunks.
    let scan = store.scan(cxp_store::ScanRequest::new("order").customers(std::iter::once(ck).collect())).expect("scan");
    assert_eq!(scan.chunks_left(), 1);
    assert_eq!(store.scan(cxp_store::ScanRequest::new("nothing")).expect("scan").count(), 0);
}

#[test]
fn identity_keys_are_stable_and_events_without_identity_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    crate::util::lp(
        &store,
        "a,customer=c-1 f=1i 1\na,anon=d-1 f=1i 2\na,anon=d-1,customer=c-1 f=1i 3\ninventory,sku=A stock=3i 4\nb customer=\"c-2\" 5\n",
    );
    let c1 = store.customer_key("c-1").expect("ok").expect("c-1");
    let d1 = store.customer_key("d-1").expect("ok").expect("d-1");
    let c2 = store.customer_key("c-2").expect("ok").expect("c-2 from a field");
    assert!(c1 != d1 && c1 != c2);
    let events = store.events(&EventFilter::default()).expect("events");
    let cks: Vec<_> = events.iter().map(|e| e.ck).collect();
    assert_eq!(cks, vec![c1, d1, c1, cxp_store::NO_CUSTOMER, c2]);
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.customer_key("c-1").expect("ok"), Some(c1));
    crate::util::lp(&store, "a,customer=c-9 f=1i 6\n");
    assert_eq!(store.customer_key("c-9").expect("ok"), Some(c2 + 1), "keys continue after reopen");
}
