//! A random retail stream written to a fresh store, and the same events read back as plain
//! rows keyed by person, for the brute-force oracles.

use std::sync::Arc;

use cxp_store::dict::{Dictionary, DictionaryChoice};
use cxp_store::{Batch, EventFilter, FieldValue, Store, StoreOptions, Value};
use rand::{Rng, SeedableRng};

pub const DAY: i64 = 86_400_000_000_000;
pub const HOUR: i64 = 3_600_000_000_000;
/// 2026-01-01T00:00:00Z.
pub const BASE: i64 = 1_767_225_600_000_000_000;

pub const DICT: &str = r#"
version = 1
[fields.amount]
type = "float"
sum = true
[fields.city]
type = "string"
profile = true
[fields.gender]
type = "int"
profile = true
[fields.email]
type = "email"
identifier = "email"
profile = true
[computed]
s_2d = "sum(order.amount, 2d)"
c_1d = "count(order, 1d)"
last_login = "last(login)"
mf_sku = "most_frequent(order.sku, 4d)"
"#;

/// A store with the test dictionary (merges of parts on, so scans read merged parts too).
pub fn open(dir: &std::path::Path) -> Store {
    let dict = Dictionary::parse(DICT).expect("valid dictionary");
    let options = StoreOptions {
        dictionary: DictionaryChoice::Use(Arc::new(dict)),
        checkpoint_every: std::time::Duration::ZERO,
        ..StoreOptions::default()
    };
    Store::open(dir, options).expect("open")
}

/// `n` random events over ten days from `BASE`: `customers` customers and a third more devices (a sign-in links a
/// device to a customer, so persons gather keys as the stream goes on), identify with traits,
/// logins, page views and orders.
pub fn random_batch(rng: &mut impl Rng, n: usize, customers: u32) -> Batch {
    let cities = ["上海", "北京", "杭州"];
    let mut batch = Batch::new("oracle");
    for _ in 0..n {
        // Whole hours: events of one customer at the same time happen, and so do events
        // exactly on window edges.
        let ts = BASE + rng.random_range(0..10 * 24) * HOUR;
        let c = format!("c-{}", rng.random_range(0..customers));
        let d = format!("d-{}", rng.random_range(0..customers + customers / 3));
        let sku = format!("S{}", rng.random_range(0..5));
        // Amounts in eighths: sums are exact in binary, whatever order they are added in.
        let amount = f64::from(rng.random_range(1..4000u32)) / 8.0;
        let channel = ["web", "app", "store"][rng.random_range(0..3)];
        match rng.random_range(0..12) {
            0 => batch.push_event(
                "identify",
                ts,
                [("anon", d.as_str()), ("customer", c.as_str())],
                [
                    ("city", FieldValue::Str(cities[rng.random_range(0..3)].into())),
                    ("gender", FieldValue::I64(rng.random_range(0..3))),
                ],
            ),
            1 | 2 => batch.push_event("login", ts, [("customer", c.as_str())], [("ok", FieldValue::Bool(true))]),
            3 | 4 => batch.push_event(
                "page_view",
                ts,
                [("anon", d.as_str()), ("channel", channel)],
                [("sku", FieldValue::Str(sku.into()))],
            ),
            5 => batch.push_event(
                "order",
                ts,
                [("anon", d.as_str())],
                [("amount", FieldValue::F64(amount)), ("sku", FieldValue::Str(sku.into()))],
            ),
            _ => batch.push_event(
                "order",
                ts,
                [("customer", c.as_str()), ("channel", channel)],
                [("amount", FieldValue::F64(amount)), ("sku", FieldValue::Str(sku.into()))],
            ),
        }
        .expect("valid event");
    }
    batch
}

/// A store holding `batches` random batches of `n` events of `customers` customers, seeded.
pub fn random_store(dir: &std::path::Path, seed: u64, batches: usize, n: usize, customers: u32) -> Store {
    let store = open(dir);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..batches {
        store.write(random_batch(&mut rng, n, customers)).expect("write");
    }
    store
}

/// An event as the oracles see it.
#[derive(Debug, Clone)]
pub struct Ev {
    pub root: u32,
    pub ts: i64,
    pub seq: u64,
    pub m: String,
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, Value)>,
}

impl Ev {
    pub fn get(&self, k: &str) -> Option<Value> {
        self.fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .or_else(|| self.tags.iter().find(|(n, _)| n == k).map(|(_, v)| Value::Str(v.clone())))
    }

    pub fn num(&self, k: &str) -> Option<f64> {
        self.get(k).and_then(|v| v.as_f64())
    }
}

/// Every stored event with a customer, with its person's root key.
pub fn events(store: &Store) -> Vec<Ev> {
    store
        .events(&EventFilter::default())
        .expect("events")
        .into_iter()
        .filter(|e| e.ck != 0)
        .map(|e| Ev { root: store.root(e.ck), ts: e.ts, seq: e.seq, m: e.measurement, tags: e.tags, fields: e.fields })
        .collect()
}
