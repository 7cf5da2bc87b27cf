//! Experiment results against a brute-force count over the same events, and assignment
//! agreeing with the exposures it produced.

use cxp_query::experiment::{self, bucket};
use cxp_query::stats::bayes;
use cxp_query::stats::means::{Summary, welch};
use cxp_query::stats::proportions::{Counts, two_proportions};
use cxp_store::{Batch, FieldValue};
use hashbrown::HashMap;
use rand::{Rng, SeedableRng};

use crate::common::{BASE, DAY, HOUR, open};

const FILE: &str = r#"
[checkout]
variants = ["control", { name = "green", weight = 1 }, { name = "red", weight = 2 }]
primary = { name = "purchase", kind = "conversion", event = "order", window = "2d" }
guardrails = [
  { name = "revenue", kind = "sum", event = "order", field = "amount", window = "2d" },
  { name = "basket", kind = "mean", event = "order", field = "amount", window = "2d" },
]
plan = { baseline = 0.3, mde = 0.05 }

[layout]
factors = { color = ["blue", "green"], copy = ["short", "long"] }
primary = { kind = "conversion", event = "order", window = "2d" }
"#;

/// What each customer did, kept by the test.
#[derive(Default)]
struct Truth {
    variant: HashMap<String, (i64, Option<String>, bool)>,
    orders: HashMap<String, Vec<(i64, f64)>>,
}

#[test]
fn results_match_a_brute_force_count() {
    let exps = experiment::parse_file(FILE).expect("valid file");
    let (checkout, layout) = (&exps[0], &exps[1]);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut truth = Truth::default();
    let mut batch = Batch::new("experiment-test");
    for i in 0..3000 {
        let c = format!("c-{i}");
        let seen = BASE + rng.random_range(0..5 * 24) * HOUR;
        let v = bucket(checkout, &c).expect("full coverage").to_owned();
        batch
            .push_event(
                "experiment_viewed",
                seen,
                [("customer", c.as_str()), ("experiment", "checkout"), ("variant", v.as_str())],
                [("n", FieldValue::I64(1))],
            )
            .expect("event");
        let lv = bucket(layout, &c).expect("full coverage").to_owned();
        batch
            .push_event(
                "experiment_viewed",
                seen,
                [("customer", c.as_str()), ("experiment", "layout"), ("variant", lv.as_str())],
                [("n", FieldValue::I64(1))],
            )
            .expect("event");
        // A second exposure later: same variant for most, another one for a few (left out).
        let mut multi = false;
        if i % 97 == 0 {
            batch
                .push_event(
                    "experiment_viewed",
                    seen + HOUR,
                    [("customer", c.as_str()), ("experiment", "checkout"), ("variant", "control")],
                    [("n", FieldValue::I64(1))],
                )
                .expect("event");
            multi = v != "control";
        }
        truth.variant.insert(c.clone(), (seen, Some(v.clone()), multi));
        // Greener converts more; orders before exposure and after the window must not count.
        let p = match v.as_str() {
            "green" => 0.45,
            "red" => 0.33,
            _ => 0.3,
        };
        for _ in 0..3 {
            if rng.random_bool(p) {
                let ts = seen + rng.random_range(-24..72) * HOUR;
                let amount = f64::from(rng.random_range(8..800u32)) / 8.0;
                batch
                    .push_event("order", ts, [("customer", c.as_str())], [("amount", FieldValue::F64(amount))])
                    .expect("event");
                truth.orders.entry(c.clone()).or_default().push((ts, amount));
            }
        }
    }
    // An exposure naming a variant that does not exist.
    batch
        .push_event(
            "experiment_viewed",
            BASE,
            [("customer", "c-0"), ("experiment", "checkout"), ("variant", "purple")],
            [("n", FieldValue::I64(1))],
        )
        .expect("event");
    store.write(batch).expect("write");
    let at = BASE + 10 * DAY;
    let r = experiment::results(&store, checkout, at).expect("results");

    // Brute force.
    let names = ["control", "green", "red"];
    let mut exposed = [0u64; 3];
    let mut conv = [0u64; 3];
    let mut sums: [Vec<f64>; 3] = Default::default();
    let mut means: [Vec<f64>; 3] = Default::default();
    let mut multi = 0;
    for (c, (seen, v, m)) in &truth.variant {
        if *m {
            multi += 1;
            continue;
        }
        let g = names.iter().position(|n| Some(*n) == v.as_deref()).expect("known");
        exposed[g] += 1;
        let inside: Vec<f64> = truth
            .orders
            .get(c)
            .into_iter()
            .flatten()
            .filter(|(ts, _)| *ts >= *seen && *ts < seen + 2 * DAY)
            .map(|o| o.1)
            .collect();
        conv[g] += u64::from(!inside.is_empty());
        sums[g].push(inside.iter().sum());
        if !inside.is_empty() {
            means[g].push(inside.iter().sum::<f64>() / inside.len() as f64);
        }
    }
    assert_eq!(r.variants.iter().map(|v| v.exposed).collect::<Vec<_>>(), exposed);
    assert_eq!(r.multiple_exposures, multi);
    assert_eq!(r.unknown_variant, 1);
    let purchase = &r.metrics[0];
    assert_eq!(purchase.values.iter().map(|v| v.conversions.expect("conversion")).collect::<Vec<_>>(), conv);
    let counts = |g: usize| Counts { successes: conv[g], trials: exposed[g] };
    for g in 1..3 {
        let want = two_proportions(counts(0), counts(g), 0.05).expect("test");
        let got = &purchase.comparisons[g - 1];
        assert_eq!(got.p_value, want.p_value);
        assert_eq!(got.difference_ci, want.difference_ci);
        let b = bayes::proportions(counts(0), counts(g)).expect("bayes");
        assert_eq!(got.chance_to_beat_control, b.chance_to_beat_control);
    }
    for (mi, vals) in [(1, &sums), (2, &means)] {
        let m = &r.metrics[mi];
        for (g, group) in vals.iter().enumerate() {
            let want = Summary::of(group);
            assert_eq!(m.values[g].customers, want.n, "{} {g}", m.name);
            assert!((m.values[g].mean - want.mean).abs() < 1e-9 * want.mean.abs().max(1.0), "{} {g}", m.name);
        }
        let want = welch(Summary::of(&vals[0]), Summary::of(&vals[1]), 0.05).expect("welch");
        assert!((m.comparisons[0].p_value - want.p_value).abs() < 1e-9, "{}", m.name);
    }
    // Holm over 3 metrics x 2 variants: adjusted never below raw, and green's lift is found.
    let all: Vec<_> = r.metrics.iter().flat_map(|m| &m.comparisons).collect();
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|c| c.p_adjusted >= c.p_value));
    assert!(purchase.comparisons[0].significant, "{:?}", purchase.comparisons[0]);
    assert!(!r.srm.mismatch, "{:?}", r.srm);
    assert!(r.warnings.iter().any(|w| w.contains("more than one variant")), "{:?}", r.warnings);
    assert!(r.warnings.iter().any(|w| w.contains("planned")), "{:?}", r.warnings);

    // Multivariate: every level of a factor pools the variants holding it.
    let lr = experiment::results(&store, layout, at).expect("results");
    assert_eq!(lr.factors.len(), 2);
    for (fi, f) in lr.factors.iter().enumerate() {
        for (li, level) in f.levels.iter().enumerate() {
            let pooled: u64 = lr
                .variants
                .iter()
                .filter(|v| v.name.split('+').nth(fi) == Some(level.as_str()))
                .map(|v| v.exposed)
                .sum();
            assert_eq!(f.metrics[0].values[li].customers, pooled, "{} {level}", f.factor);
        }
    }
}

#[test]
fn a_skewed_split_is_flagged() {
    let exps = experiment::parse_file(FILE).expect("valid file");
    let checkout = &exps[0];
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut batch = Batch::new("srm");
    // Everyone logged as control: the 1:1:2 weights are badly off.
    for i in 0..400 {
        let c = format!("c-{i}");
        let v = if i % 10 == 0 { "red" } else { "control" };
        batch
            .push_event(
                "experiment_viewed",
                BASE,
                [("customer", c.as_str()), ("experiment", "checkout"), ("variant", v)],
                [("n", FieldValue::I64(1))],
            )
            .expect("event");
    }
    store.write(batch).expect("write");
    let r = experiment::results(&store, checkout, BASE + DAY).expect("results");
    assert!(r.srm.mismatch);
    assert!(r.warnings.iter().any(|w| w.contains("sample ratio mismatch")), "{:?}", r.warnings);
    assert!(r.warnings.iter().any(|w| w.contains("too few customers")), "{:?}", r.warnings);
}
