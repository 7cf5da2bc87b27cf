//! Segments against a brute-force oracle: the parsed expression interpreted customer by
//! customer with straight loops over that customer's events (no plan, no columns, no scans),
//! at several query times, over a random stream whose persons gather keys as devices sign in.

use std::collections::{BTreeMap, HashMap};

use cxp_query::analytics::rfm::{SEGMENTS, ntile, segment_of};
use cxp_query::segment::{Agg, ArithOp, CmpOp, Definitions, Expr, compile_for_one, evaluate_one, parse, query};
use cxp_store::{Store, Value};

use crate::common::{BASE, DAY, Ev, HOUR, events, random_store};

// A value of the oracle.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Missing,
    Num(f64),
    Text(String),
    Time(i64),
    Bool(bool),
}

impl V {
    fn of(v: Option<Value>) -> V {
        match v {
            None => V::Missing,
            Some(Value::Str(s)) => V::Text(s),
            Some(Value::Bool(b)) => V::Num(f64::from(u8::from(b))),
            Some(v) => V::Num(v.as_f64().expect("a number")),
        }
    }

    fn num(&self) -> f64 {
        match self {
            V::Num(x) => *x,
            V::Bool(b) => f64::from(u8::from(*b)),
            _ => f64::NAN,
        }
    }
}

struct Oracle<'a> {
    store: &'a Store,
    // Events by person, before any query time filter.
    by_root: HashMap<u32, Vec<&'a Ev>>,
    defs: &'a Definitions,
}

fn encode(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("s{s}"),
        Value::I64(x) => format!("i{x}"),
        Value::U64(x) => format!("u{x}"),
        Value::F64(x) => format!("f{x}"),
        Value::Bool(b) => format!("b{b}"),
    }
}

impl Oracle<'_> {
    fn people(&self, at: i64) -> Vec<u32> {
        let mut out: Vec<u32> =
            self.by_root.iter().filter(|(_, evs)| evs.iter().any(|e| e.ts < at)).map(|(r, _)| *r).collect();
        out.sort_unstable();
        out
    }

    fn in_window<'e>(&'e self, root: u32, event: Option<&'e str>, window: Option<i64>, at: i64) -> Vec<&'e Ev> {
        self.by_root[&root]
            .iter()
            .copied()
            .filter(|e| e.ts < at && window.is_none_or(|w| e.ts >= at - w))
            .filter(|e| event.is_none_or(|m| e.m == m))
            .collect()
    }

    fn agg(&self, root: u32, func: Agg, event: &str, field: Option<&str>, window: Option<i64>, at: i64) -> V {
        let evs = self.in_window(root, Some(event), window, at);
        let nums: Vec<f64> = evs.iter().filter_map(|e| e.num(field.unwrap_or(""))).collect();
        match func {
            Agg::Count => V::Num(evs.len() as f64),
            Agg::Sum => V::Num(nums.iter().sum()),
            Agg::Avg if nums.is_empty() => V::Missing,
            Agg::Avg => V::Num(nums.iter().sum::<f64>() / nums.len() as f64),
            Agg::Min => nums.into_iter().reduce(f64::min).map_or(V::Missing, V::Num),
            Agg::Max => nums.into_iter().reduce(f64::max).map_or(V::Missing, V::Num),
            Agg::First | Agg::Last => {
                let pick = if func == Agg::First {
                    evs.iter().min_by_key(|e| (e.ts, e.seq))
                } else {
                    evs.iter().max_by_key(|e| (e.ts, e.seq))
                };
                match (pick, field) {
                    (None, _) => V::Missing,
                    (Some(e), None) => V::Time(e.ts),
                    (Some(e), Some(f)) => V::of(e.get(f)),
                }
            }
            Agg::MostFrequent => {
                let mut freq: BTreeMap<String, (usize, Value)> = BTreeMap::new();
                for e in &evs {
                    if let Some(v) = e.get(field.unwrap_or("")) {
                        freq.entry(encode(&v)).or_insert((0, v)).0 += 1;
                    }
                }
                // Most frequent, ties: the smallest encoded value.
                let best = freq.iter().max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(a.0)));
                best.map_or(V::Missing, |(_, (_, v))| V::of(Some(v.clone())))
            }
            Agg::Distinct => {
                let mut vals: Vec<String> =
                    evs.iter().filter_map(|e| e.get(field.unwrap_or(""))).map(|v| encode(&v)).collect();
                vals.sort();
                vals.dedup();
                V::Num(vals.len() as f64)
            }
        }
    }

    // RFM by definition: per person last order, count and sum; NTILE(5) by (value, root).
    fn rfm(&self, at: i64) -> HashMap<u32, (u8, u8, u8)> {
        let mut rows: Vec<(u32, i64, f64, f64)> = Vec::new();
        for root in self.people(at) {
            let orders = self.in_window(root, Some("order"), None, at);
            if orders.is_empty() {
                continue;
            }
            let last = orders.iter().map(|e| e.ts).max().expect("an order");
            let money: f64 = orders.iter().filter_map(|e| e.num("amount")).sum();
            rows.push((root, last, orders.len() as f64, money));
        }
        let n = rows.len();
        let mut scores: HashMap<u32, (u8, u8, u8)> = rows.iter().map(|r| (r.0, (0, 0, 0))).collect();
        for k in 0..3 {
            let mut sorted = rows.clone();
            sorted.sort_by(|a, b| {
                let by = match k {
                    0 => a.1.cmp(&b.1),
                    1 => a.2.partial_cmp(&b.2).expect("numbers"),
                    _ => a.3.partial_cmp(&b.3).expect("numbers"),
                };
                by.then(a.0.cmp(&b.0))
            });
            for (rank, r) in sorted.iter().enumerate() {
                let s = scores.get_mut(&r.0).expect("scored");
                let score = ntile(rank, n, 5);
                match k {
                    0 => s.0 = score,
                    1 => s.1 = score,
                    _ => s.2 = score,
                }
            }
        }
        scores
    }

    fn value(&self, e: &Expr, root: u32, at: i64, rfm: &HashMap<u32, (u8, u8, u8)>) -> V {
        match e {
            Expr::Num(n) => V::Num(*n),
            Expr::Str(s) => V::Text(s.clone()),
            Expr::Bool(b) => V::Bool(*b),
            Expr::Agg { func, event, field, window, .. } => self.agg(root, *func, event, field.as_deref(), *window, at),
            Expr::Path { parts, .. } => match parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["first_seen"] => {
                    self.in_window(root, None, None, at).iter().map(|e| e.ts).min().map_or(V::Missing, V::Time)
                }
                ["last_seen"] => {
                    self.in_window(root, None, None, at).iter().map(|e| e.ts).max().map_or(V::Missing, V::Time)
                }
                ["trait", name] => {
                    let key = self.store.customer_id(root).expect("an identifier").1;
                    let view = self.store.customer(&key, Some(at)).expect("read").expect("a profile");
                    V::of(view.traits.iter().find(|t| t.name == *name).map(|t| t.value.clone()))
                }
                ["rfm", part] => match rfm.get(&root) {
                    None => V::Missing,
                    Some((r, f, m)) => match *part {
                        "r" => V::Num(f64::from(*r)),
                        "f" => V::Num(f64::from(*f)),
                        "m" => V::Num(f64::from(*m)),
                        _ => V::Text(SEGMENTS[segment_of(*r, *f, *m) as usize].to_owned()),
                    },
                },
                // Computed traits: by definition from the dictionary of `common.rs`.
                ["s_2d"] => self.agg(root, Agg::Sum, "order", Some("amount"), Some(2 * DAY), at),
                ["c_1d"] => self.agg(root, Agg::Count, "order", None, Some(DAY), at),
                ["last_login"] => self.agg(root, Agg::Last, "login", None, None, at),
                ["mf_sku"] => self.agg(root, Agg::MostFrequent, "order", Some("sku"), Some(4 * DAY), at),
                other => panic!("the oracle does not know {other:?}"),
            },
            Expr::Arith { op, left, right, .. } => {
                let (a, b) = (self.value(left, root, at, rfm).num(), self.value(right, root, at, rfm).num());
                V::Num(match op {
                    ArithOp::Add => a + b,
                    ArithOp::Sub => a - b,
                    ArithOp::Mul => a * b,
                    ArithOp::Div if b == 0.0 => f64::NAN,
                    ArithOp::Div => a / b,
                })
            }
            Expr::Neg(x) => V::Num(-self.value(x, root, at, rfm).num()),
            other => V::Bool(self.holds(other, root, at, rfm)),
        }
    }

    fn holds(&self, e: &Expr, root: u32, at: i64, rfm: &HashMap<u32, (u8, u8, u8)>) -> bool {
        match e {
            Expr::Bool(b) => *b,
            Expr::And(items) => items.iter().all(|i| self.holds(i, root, at, rfm)),
            Expr::Or(items) => items.iter().any(|i| self.holds(i, root, at, rfm)),
            Expr::Not(inner) => !self.holds(inner, root, at, rfm),
            Expr::Did { event, window, .. } => !self.in_window(root, event.as_deref(), *window, at).is_empty(),
            Expr::Exists { parts, col } => {
                self.value(&Expr::Path { parts: parts.clone(), col: *col }, root, at, rfm) != V::Missing
            }
            Expr::Segment { name, .. } => {
                let def = parse(&self.defs[name]).expect("a valid definition");
                self.holds(&def, root, at, rfm)
            }
            Expr::Within { time, window, .. } => match self.value(time, root, at, rfm) {
                V::Time(t) => t >= at - window && t < at,
                _ => false,
            },
            Expr::In { value, list, .. } => {
                let v = self.value(value, root, at, rfm);
                list.iter().any(|item| match (&v, item) {
                    (V::Text(a), Expr::Str(b)) => a == b,
                    (V::Num(a), Expr::Num(b)) => a == b,
                    _ => false,
                })
            }
            Expr::Cmp { op, left, right, .. } => {
                let (l, r) = (self.value(left, root, at, rfm), self.value(right, root, at, rfm));
                match (&l, &r) {
                    (V::Text(a), V::Text(b)) => cmp(*op, a.as_str().cmp(b.as_str())),
                    // Text against missing or a number: only `!=` holds.
                    (V::Text(_), _) | (_, V::Text(_)) => *op == CmpOp::Ne,
                    _ => {
                        let (a, b) = (l.num(), r.num());
                        match a.partial_cmp(&b) {
                            Some(o) => cmp(*op, o),
                            None => *op == CmpOp::Ne,
                        }
                    }
                }
            }
            other => panic!("not a condition: {other:?}"),
        }
    }
}

fn cmp(op: CmpOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Eq => o == Equal,
        CmpOp::Ne => o != Equal,
        CmpOp::Lt => o == Less,
        CmpOp::Le => o != Greater,
        CmpOp::Gt => o == Greater,
        CmpOp::Ge => o != Less,
    }
}

const EXPRESSIONS: &[&str] = &[
    "sum(order.amount, 2d) > 300 and did(any, 3d)",
    "count(order, 1d) >= 1 or not did(login, 36h)",
    "avg(order.amount, 3d) > 200",
    "min(order.amount, 36h) < 100 and max(order.amount, 5d) >= 400",
    "distinct(order.sku, 3d) >= 2",
    "distinct(page_view.sku) >= 3",
    "count(order) > 4 and count(page_view, 2d) = 0",
    "last_seen within 2d",
    "not first_seen within 5d",
    "did(any, 12h)",
    r#"trait.city = "上海""#,
    r#"trait.city != "北京""#,
    r#"trait.city in ["上海", "杭州"] and trait.gender = 1"#,
    "exists(trait.city) and not exists(trait.email)",
    r#"trait.city > "北""#,
    "s_2d > 300",
    "c_1d >= 1 and last_login within 1d",
    r#"mf_sku = "S3""#,
    "last(order) within 1d and not last(login) within 2d",
    r#"first(order.sku) = "S1" or most_frequent(page_view.sku, 5d) = "S2""#,
    "last(order.amount, 3d) > 200",
    "sum(order.amount, 5d) - 2 * sum(order.amount, 2d) > 0",
    "sum(order.amount, 5d) / count(order, 5d) > 250",
    "-avg(order.amount) < -250",
    "segment(big) and did(login, 2d)",
    "not segment(big)",
    "rfm.r >= 4 and rfm.f >= 3",
    r#"rfm.segment = "champions" or rfm.segment in ["lost", "hibernating"]"#,
    "rfm.m <= 2",
];

#[test]
fn segments_match_a_brute_force_oracle_at_many_query_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = random_store(dir.path(), 5, 4, 200, 12);
    let evs = events(&store);
    let mut by_root: HashMap<u32, Vec<&Ev>> = HashMap::new();
    for e in &evs {
        by_root.entry(e.root).or_default().push(e);
    }
    let defs: Definitions = [("big".to_owned(), "sum(order.amount) > 1500".to_owned())].into();
    let oracle = Oracle { store: &store, by_root, defs: &defs };
    // Query times: inside the stream (history), on day edges, and after every event (now).
    let times =
        [BASE + DAY, BASE + 4 * DAY + 7 * HOUR, BASE + 6 * DAY, BASE + 9 * DAY + 1, BASE + 10 * DAY, BASE + 13 * DAY];
    let mut checked = 0;
    for &at in &times {
        let rfm = oracle.rfm(at);
        for src in EXPRESSIONS {
            let expr = parse(src).expect("parses");
            let want: Vec<u32> = oracle.people(at).into_iter().filter(|r| oracle.holds(&expr, *r, at, &rfm)).collect();
            let answer = query(&store, src, at, &defs).unwrap_or_else(|e| panic!("{src}: {e}"));
            let got: Vec<u32> = answer.members.iter().collect();
            assert_eq!(got, want, "{src} at {}", (at - BASE) as f64 / DAY as f64);
            assert_eq!(answer.universe as usize, oracle.people(at).len(), "customers at {at}");
            checked += want.len();
        }
    }
    assert!(checked > 300, "the expressions select people ({checked})");
}

#[test]
fn a_merge_of_identities_moves_events_to_the_person() {
    // A device orders anonymously, then signs in: its orders count for the customer.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::common::open(dir.path());
    let mut batch = cxp_store::Batch::new("t");
    let amount = |x: f64| [("amount", cxp_store::FieldValue::F64(x))];
    batch.push_event("order", BASE, [("anon", "d-1")], amount(3000.0)).expect("event");
    batch.push_event("order", BASE + HOUR, [("customer", "c-1")], amount(2500.0)).expect("event");
    store.write(batch).expect("write");
    let defs = Definitions::new();
    let platinum = "sum(order.amount, 30d) > 5000 and did(any, 30d)";
    assert_eq!(query(&store, platinum, BASE + DAY, &defs).expect("query").count(), 0, "two people of 3000 and 2500");
    let mut link = cxp_store::Batch::new("t");
    link.push_event(
        "identify",
        BASE + 2 * HOUR,
        [("anon", "d-1"), ("customer", "c-1")],
        [("city", cxp_store::FieldValue::Str("上海".into()))],
    )
    .expect("event");
    store.write(link).expect("write");
    let answer = query(&store, platinum, BASE + DAY, &defs).expect("query");
    assert_eq!(answer.count(), 1, "one person of 5500");
    assert_eq!(
        store.customer_id(answer.sample(1)[0]).map(|(_, v)| v),
        Some("d-1".to_owned()),
        "the root is the first key"
    );
}

#[test]
fn golden_platinum_customers_by_hand() {
    // Query time 2026-01-31T00:00Z; the window of 30 days starts 2026-01-01T00:00Z.
    //   c-1: 3000 on Jan 5 + 2500 on Jan 20 = 5500 in the window, active        -> platinum
    //   c-2: 6000 on Dec 31 23:00 (before the window) + 100 on Jan 10 = 100     -> no
    //   c-3: 5000 exactly on Jan 1 00:00 (in: the window is [at-30d, at)) + 1   -> platinum
    //   c-4: 9000 on Jan 31 00:00 (at `at`: out, the window is half-open)       -> no
    //   c-5: 7000 on Jan 2 by the device d-5, which c-5 signed in on Jan 3      -> platinum
    let at = BASE + 30 * DAY;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::common::open(dir.path());
    let mut b = cxp_store::Batch::new("golden");
    let order = |b: &mut cxp_store::Batch, id: (&str, &str), ts: i64, amount: f64| {
        b.push_event("order", ts, [id], [("amount", cxp_store::FieldValue::F64(amount))]).expect("event");
    };
    order(&mut b, ("customer", "c-1"), BASE + 4 * DAY, 3000.0);
    order(&mut b, ("customer", "c-1"), BASE + 19 * DAY, 2500.0);
    order(&mut b, ("customer", "c-2"), BASE - HOUR, 6000.0);
    order(&mut b, ("customer", "c-2"), BASE + 9 * DAY, 100.0);
    order(&mut b, ("customer", "c-3"), BASE, 5000.0);
    order(&mut b, ("customer", "c-3"), BASE + DAY, 1.0);
    order(&mut b, ("customer", "c-4"), at, 9000.0);
    order(&mut b, ("anon", "d-5"), BASE + DAY, 7000.0);
    b.push_event(
        "identify",
        BASE + 2 * DAY,
        [("anon", "d-5"), ("customer", "c-5")],
        [("gender", cxp_store::FieldValue::I64(1))],
    )
    .expect("event");
    store.write(b).expect("write");
    let answer =
        query(&store, "sum(order.amount, 30d) > 5000 and did(any, 30d)", at, &Definitions::new()).expect("query");
    let mut ids: Vec<String> = answer
        .members
        .iter()
        .flat_map(|root| {
            store.identity(&store.customer_id(root).expect("id").1).expect("identity").expect("a person").identifiers
        })
        .filter(|(_, ty, _)| ty == "customer")
        .map(|(_, _, v)| v)
        .collect();
    ids.sort();
    assert_eq!(ids, ["c-1", "c-3", "c-5"]);
    // c-4's only event is at `at`: not a customer yet.
    assert_eq!(answer.universe, 4);
}

#[test]
fn mistakes_are_refused_with_the_column_and_a_way_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = random_store(dir.path(), 1, 1, 50, 12);
    let defs: Definitions =
        [("a".to_owned(), "segment(b)".to_owned()), ("b".to_owned(), "segment(a) or did(login)".to_owned())].into();
    let cases = [
        ("sum(order.amount, 30d)", 1, "is a number, not a condition"),
        ("did(login) and last_seen > 30d", 26, "times are compared with 'within'"),
        ("trait.city = 3 and spend_7d > 1", 20, "unknown name \"spend_7d\""),
        (r#"count(order) = "3""#, 14, "text is compared with traits"),
        ("trait.city", 1, "is a value, not a condition"),
        ("sum(order.amount) within 30d", 19, "'within' takes a time"),
        ("segment(gold)", 1, "no segment named \"gold\""),
        ("rfm.x > 1", 1, "rfm has r, f, m and segment"),
    ];
    for (src, col, words) in cases {
        match query(&store, src, BASE + 20 * DAY, &defs) {
            Err(cxp_query::segment::QueryError::Invalid { error, .. }) => {
                assert_eq!(error.column, col, "{src}: {error}");
                assert!(error.message.contains(words), "{src}: {error}");
            }
            other => panic!("{src}: expected an error, got {other:?}"),
        }
    }
    let cycle = query(&store, "segment(a)", BASE, &defs).expect_err("a cycle");
    assert_eq!(cycle.to_string(), "segments refer to each other in a circle: a -> b -> a");
    // Typos of events are warnings, not errors: a segment may come before its first event.
    let answer = query(&store, "did(oder, 1d)", BASE + DAY, &defs).expect("query");
    assert_eq!(answer.plan.warnings, ["no \"oder\" event has been seen yet"]);
    assert_eq!(answer.count(), 0);
}

/// One customer at a time (what triggers ask) agrees with the whole population, for every
/// expression that does not rank customers against each other.
#[test]
fn one_customer_at_a_time_agrees_with_everyone_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = random_store(dir.path(), 7, 4, 200, 40);
    let defs: Definitions = [("big".to_owned(), "sum(order.amount) > 1500".to_owned())].into();
    let people: Vec<u32> = {
        let mut r: Vec<u32> = events(&store).iter().map(|e| e.root).collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    let mut checked = 0;
    // From the first hours (some customers have no event yet) to after the last event.
    for &at in &[BASE + 3 * HOUR, BASE + 4 * DAY + 7 * HOUR, BASE + 9 * DAY + 1, BASE + 13 * DAY] {
        let big = query(&store, "segment(big)", at, &defs).expect("big").members;
        for src in EXPRESSIONS.iter().filter(|s| !s.contains("rfm.")) {
            let all = query(&store, src, at, &defs).unwrap_or_else(|e| panic!("{src}: {e}"));
            let plan = compile_for_one(&store, src, &["big".to_owned()]).expect("compiles");
            for &root in &people {
                let mut keys = vec![root];
                keys.extend(store.members(root).into_iter().filter(|&k| k != root));
                let member = |name: &str| (name == "big").then(|| big.contains(root));
                let one = evaluate_one(&store, &plan, &keys, at, &member).expect("evaluates");
                assert_eq!(one, all.members.contains(root), "{src} for {root} at {at}");
                checked += usize::from(one);
            }
        }
    }
    assert!(checked > 100, "{checked}");
    let err = compile_for_one(&store, "rfm.r >= 4", &[]).expect_err("ranks");
    assert!(err.to_string().contains("segment(NAME)"), "{err}");
}
