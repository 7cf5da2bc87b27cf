//! Profiles and computed traits against a brute-force oracle over random event streams, at
//! several query times, across identity merges, checkpoints, reopens and merges of parts.

use std::collections::HashMap;
use std::sync::Arc;

use cxp_store::dict::{Dictionary, DictionaryChoice};
use cxp_store::{Batch, EventFilter, FieldValue, Store, StoreOptions, Value};
use rand::{Rng, SeedableRng};

const DAY: i64 = 86_400_000_000_000;
const HOUR: i64 = 3_600_000_000_000;

const DICT: &str = r#"
version = 1
[fields.amount]
type = "float"
sum = true
[fields.city]
type = "string"
profile = true
[fields.email]
type = "email"
identifier = "email"
profile = true
[computed]
s_2d = "sum(order.amount, 2d)"
c_1d = "count(order, 1d)"
a_3d = "avg(order.amount, 3d)"
mn_36h = "min(order.amount, 36h)"
mx_5d = "max(order.amount, 5d)"
d_sku = "distinct(order.sku, 3d)"
mf_sku = "most_frequent(order.sku, 4d)"
first_sku = "first(order.sku)"
last_sku_2d = "last(order.sku, 2d)"
last_login = "last(login)"
orders = "count(order)"
"#;

fn open(dir: &std::path::Path) -> Store {
    let dict = Dictionary::parse(DICT).expect("valid dictionary");
    let options = StoreOptions {
        auto_merge: false,
        dictionary: DictionaryChoice::Use(Arc::new(dict)),
        checkpoint_every: std::time::Duration::ZERO,
        ..StoreOptions::default()
    };
    Store::open(dir, options).expect("open")
}

fn random_batch(rng: &mut impl Rng, n: usize, base: i64) -> Batch {
    let mut batch = Batch::new("oracle");
    for _ in 0..n {
        let ts = base + rng.random_range(0..10 * DAY);
        let c = format!("c-{}", rng.random_range(0..6));
        match rng.random_range(0..10) {
            0 => {
                // Sign-in on a device: links the device to the customer.
                let d = format!("d-{}", rng.random_range(0..8));
                batch.push_event(
                    "identify",
                    ts,
                    [("anon", d.as_str()), ("customer", c.as_str())],
                    [("city", FieldValue::Str("上海".into()))],
                )
            }
            1 | 2 => batch.push_event("login", ts, [("customer", c.as_str())], [("ok", FieldValue::Bool(true))]),
            3 => {
                // Anonymous browsing that orders as a device.
                let d = format!("d-{}", rng.random_range(0..8));
                let amount = f64::from(rng.random_range(1..500u32)) / 4.0;
                batch.push_event(
                    "order",
                    ts,
                    [("anon", d.as_str())],
                    [("amount", FieldValue::F64(amount)), ("sku", FieldValue::Str("Z".into()))],
                )
            }
            _ => {
                let amount = f64::from(rng.random_range(1..5000u32)) / 8.0;
                let sku = format!("S{}", rng.random_range(0..4));
                batch.push_event(
                    "order",
                    ts,
                    [("customer", c.as_str())],
                    [("amount", FieldValue::F64(amount)), ("sku", FieldValue::Str(sku.into()))],
                )
            }
        }
        .expect("valid event");
    }
    batch
}

struct Ev {
    root: u32,
    ts: i64,
    seq: u64,
    m: String,
    amount: Option<f64>,
    sku: Option<String>,
}

fn field<'a>(e: &'a cxp_store::StoredEvent, k: &str) -> Option<&'a Value> {
    e.fields.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

// The oracle: every computed trait from the raw events, by definition.
fn oracle(events: &[Ev], root: u32, at: i64) -> HashMap<&'static str, Option<Value>> {
    let within =
        |e: &&Ev, m: &str, w: Option<i64>| e.root == root && e.m == m && e.ts < at && w.is_none_or(|w| e.ts >= at - w);
    let pick = |m: &str, w: Option<i64>| events.iter().filter(move |e| within(e, m, w)).collect::<Vec<_>>();
    let amounts = |w: i64| pick("order", Some(w)).iter().map(|e| e.amount.expect("amount")).collect::<Vec<f64>>();
    let mut out = HashMap::new();
    out.insert("s_2d", Some(Value::F64(amounts(2 * DAY).iter().sum())));
    out.insert("c_1d", Some(Value::I64(pick("order", Some(DAY)).len() as i64)));
    let a = amounts(3 * DAY);
    out.insert("a_3d", (!a.is_empty()).then(|| Value::F64(a.iter().sum::<f64>() / a.len() as f64)));
    out.insert("mn_36h", amounts(36 * HOUR).into_iter().reduce(f64::min).map(Value::F64));
    out.insert("mx_5d", amounts(5 * DAY).into_iter().reduce(f64::max).map(Value::F64));
    let mut skus: Vec<String> = pick("order", Some(3 * DAY)).iter().filter_map(|e| e.sku.clone()).collect();
    skus.sort();
    skus.dedup();
    out.insert("d_sku", Some(Value::I64(skus.len() as i64)));
    let mut freq: HashMap<String, usize> = HashMap::new();
    for e in pick("order", Some(4 * DAY)) {
        *freq.entry(e.sku.clone().expect("sku")).or_default() += 1;
    }
    let best = freq.into_iter().max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0))).map(|(s, _)| Value::Str(s));
    out.insert("mf_sku", best);
    let all = pick("order", None);
    out.insert("first_sku", all.iter().min_by_key(|e| (e.ts, e.seq)).and_then(|e| e.sku.clone()).map(Value::Str));
    let recent = pick("order", Some(2 * DAY));
    out.insert("last_sku_2d", recent.iter().max_by_key(|e| (e.ts, e.seq)).and_then(|e| e.sku.clone()).map(Value::Str));
    out.insert("last_login", pick("login", None).iter().map(|e| (e.ts, e.seq)).max().map(|(ts, _)| Value::I64(ts)));
    out.insert("orders", Some(Value::I64(all.len() as i64)));
    out
}

fn close_enough(got: &Option<Value>, want: &Option<Value>) -> bool {
    match (got, want) {
        (Some(Value::F64(a)), Some(Value::F64(b))) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        _ => got == want,
    }
}

fn check_all(store: &Store, base: i64, rng: &mut impl Rng) {
    let stored = store.events(&EventFilter::default()).expect("events");
    let events: Vec<Ev> = stored
        .iter()
        .filter(|e| e.ck != 0)
        .map(|e| Ev {
            root: store.root(e.ck),
            ts: e.ts,
            seq: e.seq,
            m: e.measurement.clone(),
            amount: field(e, "amount").and_then(Value::as_f64),
            sku: match field(e, "sku") {
                Some(Value::Str(s)) => Some(s.clone()),
                _ => None,
            },
        })
        .collect();
    // Query times: day boundaries, random instants, before and after everything.
    let mut times = vec![base, base + 3 * DAY, base + 7 * DAY + 1, base + 11 * DAY, base + 40 * DAY];
    times.extend((0..6).map(|_| base + rng.random_range(0..11 * DAY)));
    for c in 0..6 {
        let id = format!("c-{c}");
        for &at in &times {
            let Some(view) = store.customer(&id, Some(at)).expect("customer") else { continue };
            let want = oracle(&events, view.root, at);
            for cv in &view.computed {
                let w = &want[cv.name.as_str()];
                assert!(close_enough(&cv.value, w), "{id} at {at}: {} = {:?}, oracle says {:?}", cv.name, cv.value, w);
            }
            let orders: u64 = view.counts.iter().filter(|(m, _, _)| m == "order").map(|(_, _, n)| n).sum();
            let total = events.iter().filter(|e| e.root == view.root && e.m == "order").count() as u64;
            assert_eq!(orders, total, "{id}: order count");
        }
    }
}

#[test]
fn computed_traits_match_a_brute_force_oracle_across_merges_checkpoints_and_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let base = 1_767_225_600_000_000_000; // 2026-01-01
    {
        let store = open(dir.path());
        for _ in 0..4 {
            store.write(random_batch(&mut rng, 150, base)).expect("write");
        }
        check_all(&store, base, &mut rng);
    }
    // Reopen: the checkpoint written at close, nothing to replay.
    let store = open(dir.path());
    check_all(&store, base, &mut rng);
    for _ in 0..3 {
        store.write(random_batch(&mut rng, 150, base)).expect("write");
    }
    store.merge_all().expect("merge");
    check_all(&store, base, &mut rng);
    drop(store);
    let store = open(dir.path());
    check_all(&store, base, &mut rng);
}

#[test]
fn a_changed_configuration_rebuilds_profiles_from_the_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let base = 1_767_225_600_000_000_000;
    {
        let dict = Arc::new(Dictionary::parse(DICT).expect("valid"));
        // A checkpoint interval that never comes: the close writes the only checkpoint (the
        // crash test covers a checkpoint left behind by a kill).
        let options = StoreOptions {
            auto_merge: false,
            dictionary: DictionaryChoice::Use(Arc::clone(&dict)),
            checkpoint_every: std::time::Duration::from_secs(3600),
            ..StoreOptions::default()
        };
        let store = Store::open(dir.path(), options).expect("open");
        store.write(random_batch(&mut rng, 300, base)).expect("write");
    }
    let store = open(dir.path());
    check_all(&store, base, &mut rng);
    drop(store);
    // A different configuration: the checkpoint is ignored, profiles rebuilt.
    let other = DICT.replace("s_2d = \"sum(order.amount, 2d)\"", "s_2d = \"sum(order.amount, 3d)\"");
    let options = StoreOptions {
        auto_merge: false,
        dictionary: DictionaryChoice::Use(Arc::new(Dictionary::parse(&other).expect("valid"))),
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).expect("open");
    let view = store.customer("c-1", Some(base + 5 * DAY)).expect("ok").expect("known");
    let s = view.computed.iter().find(|c| c.name == "s_2d").expect("trait");
    assert_eq!(s.expr, "sum(order.amount, 3d)");
    assert_eq!(view.traits.iter().find(|t| t.name == "city").map(|t| &t.value), Some(&Value::Str("上海".into())));
}

#[test]
fn completeness_and_the_omnichannel_share_count_people() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::util::open_governed(dir.path());
    // Profile fields of the shipped dictionary: email, phone, name, gender, birthday, city.
    crate::util::lp(
        &store,
        "identify,customer=c-1 name=\"A\",email=\"a@x.cn\",phone=\"13800000001\",gender=\"女\",birthday=\"1990-01-01\",city=\"上海\" 1
identify,customer=c-2 name=\"B\",phone=\"13800000002\",city=\"北京\" 2
order,customer=c-1,channel=web amount=1.0 3
order,channel=store,phone=13800000001 amount=2.0 4
order,customer=c-2,channel=app amount=3.0 5
order,channel=store,customer=c-3 amount=4.0 6
page_view,anon=d-1 dur=1i 7
",
    );
    let c = store.completeness();
    assert_eq!(c.customers, 3, "the anonymous visitor d-1 is not a customer to complete");
    // c-1 has all six, c-2 three of six, c-3 none.
    assert!((c.mean - (1.0 + 0.5 + 0.0) / 3.0).abs() < 1e-12, "{c:?}");
    assert_eq!((c.histogram[10], c.histogram[5], c.histogram[0]), (1, 1, 1));
    // Online buyers: c-1 (web, and the store order by phone is theirs) and c-2 (app).
    assert_eq!(store.omnichannel(), (2, 1));
}

// A split that lands in the same group commit as a link into the same person: the profiles
// of every key the group joined must be rebuilt, neither losing nor doubling events.
#[test]
fn a_split_grouped_with_a_new_link_keeps_profiles_equal_to_the_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let lp = |text: &str| {
        let mut b = Batch::new("t");
        b.push_line_protocol(text.as_bytes(), Default::default(), 0, 1);
        b
    };
    store.write(lp("identify,anon=d-a,customer=c-s city=\"上海\" 1\norder,customer=c-s amount=1.0 2\norder,anon=d-a amount=2.0 3\norder,anon=d-x amount=4.0 4\n")).expect("write");
    let link = store.identity("d-a").expect("ok").expect("known").links[0].id;
    for round in 0..5 {
        // Keep the writer busy so that the next write and the split queue up together.
        let mut busy = String::new();
        for i in 0..20_000 {
            busy.push_str(&format!("page_view,anon=d-busy{round} n={i}i {}\n", 10 + i));
        }
        let first = store.write_async(lp(&busy)).expect("queue");
        let joined = store
            .write_async(lp("identify,anon=d-x,customer=c-s n=1i 5\norder,anon=d-x amount=8.0 6\n"))
            .expect("queue");
        let split = if round == 0 {
            store.split_link(link, "test")
        } else {
            Ok(store.identity("c-s").expect("ok").expect("known").links[0].clone())
        };
        first.wait().expect("durable");
        joined.wait().expect("durable");
        if round == 0 {
            split.expect("split");
        }
        let events =
            store.events(&EventFilter { measurement: Some("order".into()), ..EventFilter::default() }).expect("events");
        for id in ["c-s", "d-a", "d-x"] {
            let view = store.customer(id, Some(i64::MAX - 1)).expect("ok").expect("known");
            let want: f64 = events
                .iter()
                .filter(|e| store.root(e.ck) == view.root)
                .filter_map(|e| field(e, "amount").and_then(Value::as_f64))
                .sum();
            let got = view.sums.iter().find(|(k, _)| k == "order.amount").map_or(0.0, |(_, x)| *x);
            assert_eq!(got, want, "round {round}, {id}: order.amount sum in the profile");
        }
    }
    assert_ne!(
        store.root(store.customer_key("d-a").expect("ok").expect("d-a")),
        store.root(store.customer_key("c-s").expect("ok").expect("c-s"))
    );
}
