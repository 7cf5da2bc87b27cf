//! Gradient boosting against XGBoost's own output, a brute-force split search, and a problem
//! whose best possible AUC is known.

use cxp_query::model::{Dataset, Params, cross_validate, evaluate, train};
use rand::{Rng, SeedableRng};

/// The 60-row table of the golden test, built by the same formula as the Python script below.
fn golden_table() -> Dataset {
    let mut d = Dataset::new(vec!["x0".into(), "x1".into(), "x2".into()]);
    for i in 0..60u32 {
        let x0 = ((i * 7) % 13) as f32;
        let x1 = ((i * 5) % 11) as f32 / 2.0;
        let x2 = if i % 6 == 0 { f32::NAN } else { ((i * 3) % 8) as f32 - 3.5 };
        let votes = u32::from(x0 > 5.0) + u32::from(x1 > 2.0) + u32::from(x2 > 0.0) + u32::from(i % 5 == 0);
        d.push(&[x0, x1, x2], u8::from(votes >= 2));
    }
    d
}

/// Predictions of XGBoost 3.2.0 (xgboost-cpu from PyPI) on [`golden_table`]:
///
/// ```python
/// p = {'objective': 'binary:logistic', 'tree_method': 'hist', 'max_depth': 3, 'eta': 0.3,
///      'lambda': 1.0, 'min_child_weight': 1.0, 'max_bin': 256,
///      'base_score': float(y.mean()), 'nthread': 1}
/// b = xgb.train(p, xgb.DMatrix(X, label=y, missing=np.nan), num_boost_round=10)
/// print(', '.join('%.7f' % v for v in b.predict(d)))
/// ```
///
/// with `X`, `y` built row by row as in `golden_table` (float32, NaN missing).
// As printed: seven decimals, beyond what an f32 holds.
#[allow(clippy::excessive_precision)]
const XGBOOST_3_2: [f32; 60] = [
    0.1548012, 0.6319359, 0.9005194, 0.2481726, 0.8937787, 0.8463754, 0.2864759, 0.8293023, 0.1616564, 0.2460344,
    0.9334465, 0.1481003, 0.6319359, 0.9005194, 0.2896039, 0.9005194, 0.1338860, 0.2864759, 0.1830629, 0.1616564,
    0.8652933, 0.8925288, 0.1481003, 0.9334465, 0.9412879, 0.4939016, 0.9005194, 0.1603059, 0.9005194, 0.8135623,
    0.2864759, 0.8652933, 0.1312763, 0.2460344, 0.8925288, 0.8441438, 0.1203472, 0.9570103, 0.1603059, 0.9005194,
    0.2035524, 0.2490286, 0.2105746, 0.1312763, 0.8652933, 0.8683180, 0.9216875, 0.4850646, 0.9412879, 0.1203472,
    0.9570103, 0.2035524, 0.9005194, 0.8522810, 0.2062687, 0.8522810, 0.1312763, 0.9412879, 0.4850646, 0.8441438,
];

#[test]
fn same_predictions_as_xgboost() {
    let data = golden_table();
    let params = Params { rounds: 10, max_depth: 3, learning_rate: 0.3, threads: 1, ..Params::default() };
    let model = train(&data, None, &params).expect("trains");
    let ours = model.predict_all(&data);
    for (i, (a, b)) in ours.iter().zip(XGBOOST_3_2).enumerate() {
        assert!((a - b).abs() < 2e-6, "row {i}: ours {a}, XGBoost {b}");
        assert_eq!(*a, model.predict(data.row(i)), "compiled and walked scores differ on row {i}");
    }
}

/// The best first split by trying every threshold of every feature on the raw values.
fn brute_force_stump(d: &Dataset, base: f64, lambda: f64) -> (usize, f32, f64) {
    let p = 1.0 / (1.0 + (-base).exp());
    let g: Vec<f64> = d.y.iter().map(|&y| p - f64::from(y)).collect();
    let h = p * (1.0 - p);
    let score = |gs: f64, hs: f64| gs * gs / (hs + lambda);
    let total: f64 = g.iter().sum();
    let n = d.rows() as f64;
    let mut best = (0, 0.0, f64::NEG_INFINITY);
    for f in 0..d.width() {
        let mut values: Vec<f32> = (0..d.rows()).map(|r| d.row(r)[f]).collect();
        values.sort_by(f32::total_cmp);
        values.dedup();
        for &t in &values[..values.len() - 1] {
            let (mut gl, mut nl) = (0.0, 0.0);
            for (r, gr) in g.iter().enumerate() {
                if d.row(r)[f] <= t {
                    gl += gr;
                    nl += 1.0;
                }
            }
            let gain = score(gl, nl * h) + score(total - gl, (n - nl) * h) - score(total, n * h);
            if gain > best.2 + 1e-12 {
                best = (f, t, gain);
            }
        }
    }
    best
}

#[test]
fn first_split_is_the_exhaustive_best() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for case in 0..30 {
        let n = rng.random_range(20..200);
        let mut d = Dataset::new(vec!["a".into(), "b".into(), "c".into()]);
        for _ in 0..n {
            let x = [rng.random_range(0..50) as f32, rng.random::<f32>(), rng.random_range(0..4) as f32];
            let y = u8::from(rng.random::<f32>() < 0.2 + 0.6 * x[1] * (x[2] / 3.0));
            d.push(&x, y);
        }
        let pos = d.positives();
        if pos == 0 || pos == n {
            continue;
        }
        let params = Params {
            rounds: 1,
            max_depth: 1,
            learning_rate: 1.0,
            min_child_weight: 0.0,
            threads: 1,
            ..Params::default()
        };
        let model = train(&d, None, &params).expect("trains");
        let root = model.trees[0].nodes[0];
        let base = f64::from(model.base_margin);
        let (f, t, gain) = brute_force_stump(&d, base, params.lambda);
        assert_eq!((root.feature as usize, root.threshold), (f, t), "case {case}");
        assert!((f64::from(root.gain) - gain).abs() < 1e-4 * gain.max(1.0), "case {case}: {} vs {gain}", root.gain);
    }
}

/// y ~ Bernoulli(sigmoid(f(x))) with a known f: the true probabilities give the best AUC any
/// model can reach on the test rows, and a good model comes close to it.
#[test]
fn learns_a_known_function_close_to_the_best_possible_auc() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let f = |x: &[f32]| {
        let (a, b, c) = (f64::from(x[0]), f64::from(x[1]), f64::from(x[2]));
        2.0 * (a - 0.5) + if b > 0.7 { 1.5 } else { -0.5 } + if c.is_nan() { 1.0 } else { -c }
    };
    let mut make = |n: usize| {
        let mut d = Dataset::new(vec!["a".into(), "b".into(), "c".into(), "noise".into()]);
        let mut truth = Vec::new();
        for _ in 0..n {
            let c = if rng.random::<f32>() < 0.1 { f32::NAN } else { rng.random::<f32>() * 2.0 };
            let x = [rng.random::<f32>(), rng.random::<f32>(), c, rng.random::<f32>()];
            let p = 1.0 / (1.0 + (-f(&x)).exp());
            d.push(&x, u8::from(rng.random::<f64>() < p));
            truth.push(p as f32);
        }
        (d, truth)
    };
    let (train_set, _) = make(20_000);
    let (valid, _) = make(5_000);
    let (test, truth) = make(20_000);
    let params =
        Params { rounds: 300, learning_rate: 0.1, max_depth: 4, early_stopping: Some(20), ..Params::default() };
    let model = train(&train_set, Some(&valid), &params).expect("trains");
    let best = cxp_query::model::metrics::auc(&truth, &test.y).expect("two classes");
    let probs = model.predict_all(&test);
    for (i, p) in probs.iter().enumerate().take(2000) {
        assert_eq!(*p, model.predict(test.row(i)), "the compiled model and the trees disagree on row {i}");
    }
    let ours = evaluate(&probs, &test.y);
    let auc = ours.auc.expect("two classes");
    assert!(auc > best - 0.01 && auc <= best + 0.005, "AUC {auc}, best possible {best}");
    assert!(model.trees.len() < 300, "early stopping never stopped");
    // The noise feature is worth little.
    let imp = model.importance();
    assert_eq!(imp.last().map(|i| i.feature.as_str()), Some("noise"), "{imp:?}");
    // Calibrated: predicted and observed rates agree in every well-filled bin.
    for bin in ours.calibration.iter().filter(|b| b.rows > 500) {
        assert!((bin.predicted - bin.observed).abs() < 0.05, "{bin:?}");
    }
    let cv = cross_validate(&train_set, &Params { rounds: 60, learning_rate: 0.2, max_depth: 4, ..params }, 3)
        .expect("cross-validates");
    assert_eq!(cv.folds.len(), 3);
    assert!(cv.auc_mean > best - 0.02 && cv.auc_sd < 0.02, "{cv:?}");
}

#[test]
fn same_model_from_the_same_seed_with_sampling() {
    let data = golden_table();
    let params = Params { rounds: 20, subsample: 0.7, colsample: 0.67, seed: 9, ..Params::default() };
    let a = train(&data, None, &params).expect("trains");
    let b = train(&data, None, &params).expect("trains");
    assert_eq!(a.trees, b.trees);
    let c = train(&data, None, &Params { seed: 10, ..params }).expect("trains");
    assert_ne!(a.trees, c.trees);
}

#[test]
fn refuses_a_table_with_one_class() {
    let mut d = golden_table();
    d.y.iter_mut().for_each(|y| *y = 0);
    let err = train(&d, None, &Params::default()).expect_err("one class");
    assert!(err.to_string().contains("both classes"), "{err}");
}

mod features {
    use std::collections::{BTreeMap, BTreeSet};

    use cxp_query::model::features::{FeatureSpec, Label, Rows, build, layout};
    use cxp_store::Batch;

    use crate::common::{self, BASE, DAY, Ev, HOUR};

    fn spec() -> FeatureSpec {
        FeatureSpec {
            events: vec!["login".into(), "page_view".into(), "order".into()],
            windows_days: vec![2, 5],
            active_days: 6,
            known_only: false,
            ..FeatureSpec::default()
        }
    }

    /// The features of one person by straight loops over their events.
    fn oracle(evs: &[&Ev], cutoff: i64, channels: &[String], devices: &[String]) -> Vec<f32> {
        let before: Vec<&&Ev> = evs.iter().filter(|e| e.ts < cutoff).collect();
        let days = |t: i64| ((cutoff - t) as f64 / DAY as f64) as f32;
        let last = before.iter().map(|e| e.ts).max().expect("active");
        let first = before.iter().map(|e| e.ts).min().expect("active");
        let orders: Vec<&&&Ev> = before.iter().filter(|e| e.m == "order").collect();
        let spend: f64 = orders.iter().filter_map(|e| e.num("amount")).sum();
        let mut row = vec![days(last), days(first), orders.len() as f32, spend as f32];
        row.push(if orders.is_empty() { f32::NAN } else { (spend / orders.len() as f64) as f32 });
        row.push(orders.iter().map(|e| e.ts).max().map_or(f32::NAN, days));
        let in_window = |e: &Ev, d: i64| e.ts >= cutoff - d * DAY;
        for d in [2, 5] {
            row.push(before.iter().filter(|e| in_window(e, d)).count() as f32);
        }
        let month = cutoff - 30 * DAY;
        let active: BTreeSet<i64> = before.iter().filter(|e| e.ts >= month).map(|e| (e.ts - month) / DAY).collect();
        row.push(active.len() as f32);
        for m in ["login", "page_view", "order"] {
            for d in [2, 5] {
                row.push(before.iter().filter(|e| e.m == m && in_window(e, d)).count() as f32);
            }
        }
        let recent: Vec<&&&Ev> = before.iter().filter(|e| in_window(e, 6)).collect();
        for (tag, values) in [("channel", channels), ("device", devices)] {
            for c in values {
                let n = recent.iter().filter(|e| e.tags.iter().any(|(k, v)| k == tag && v == c)).count();
                row.push(n as f32 / recent.len().max(1) as f32);
            }
        }
        // Reviews: every review text below is "物流很快，但是包装破了 bad": 破 and bad are
        // negative words, 快 a positive one.
        let reviews: Vec<&&&Ev> = before.iter().filter(|e| e.m == "review").collect();
        let ratings: Vec<f64> = reviews.iter().filter_map(|e| e.num("rating")).collect();
        row.push(reviews.len() as f32);
        row.push(if ratings.is_empty() {
            f32::NAN
        } else {
            (ratings.iter().sum::<f64>() / ratings.len() as f64) as f32
        });
        row.extend([2.0 * reviews.len() as f32, reviews.len() as f32]);
        row
    }

    fn same(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-4 * x.abs().max(1.0))
    }

    #[test]
    fn features_and_labels_agree_with_the_events_and_never_leak() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = common::random_store(dir.path(), 21, 4, 2_000, 300);
        let cutoff = BASE + 7 * DAY + 5 * HOUR;
        // Reviews with ratings and sentiment words, and devices, for some customers.
        let mut extra = Batch::new("reviews");
        for c in 0..120u32 {
            let id = format!("c-{c}");
            let ts = BASE + i64::from(c % 9) * DAY + i64::from(c) * HOUR / 7;
            let device = ["ios", "android", "web"][c as usize % 3];
            extra
                .push_event(
                    "review",
                    ts,
                    [("customer", id.as_str()), ("device", device)],
                    [
                        ("text", cxp_store::FieldValue::Str("物流很快，但是包装破了 bad".into())),
                        ("rating", cxp_store::FieldValue::I64(i64::from(1 + c % 5))),
                    ],
                )
                .expect("valid");
            extra
                .push_event(
                    "page_view",
                    ts + HOUR,
                    [("customer", id.as_str()), ("device", device)],
                    [("sku", cxp_store::FieldValue::Str("S1".into()))],
                )
                .expect("valid");
        }
        store.write(extra).expect("write");
        let spec = spec();
        let lay = layout(&store, &spec, cutoff).expect("layout");
        assert_eq!((lay.channels.len(), lay.devices.len()), (3, 2));
        let label = Label::Churn { days: 2 };
        let table = build(&store, &spec, &lay, cutoff, Some(&label), Rows::All).expect("build");
        // People as they stood at the cutoff: keys joined by links made before it (a plain
        // union-find over the links, smallest key first).
        let keys = store.stats().expect("stats").customers as usize + 1;
        let mut parent: Vec<u32> = (0..keys as u32).collect();
        fn find(p: &mut [u32], x: u32) -> u32 {
            if p[x as usize] == x {
                x
            } else {
                let r = find(p, p[x as usize]);
                p[x as usize] = r;
                r
            }
        }
        for (a, b) in store.links_before(cutoff).expect("links") {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            parent[hi as usize] = lo;
        }
        let evs: Vec<(u32, Ev)> = store
            .events(&cxp_store::EventFilter::default())
            .expect("events")
            .into_iter()
            .filter(|e| e.ck != 0)
            .map(|e| (e.ck, Ev { root: 0, ts: e.ts, seq: e.seq, m: e.measurement, tags: e.tags, fields: e.fields }))
            .collect();
        let mut by_root: BTreeMap<u32, Vec<&Ev>> = BTreeMap::new();
        for (ck, e) in &evs {
            by_root.entry(find(&mut parent, *ck)).or_default().push(e);
        }
        let active: BTreeSet<u32> = by_root
            .iter()
            .filter(|(_, v)| v.iter().any(|e| e.ts < cutoff && e.ts >= cutoff - 6 * DAY))
            .map(|(r, _)| *r)
            .collect();
        assert_eq!(table.roots.iter().copied().collect::<BTreeSet<u32>>(), active, "rows: active in the 6 days before");
        assert_eq!(table.roots.len(), active.len());
        for (i, root) in table.roots.iter().enumerate() {
            let expect = oracle(&by_root[root], cutoff, &lay.channels, &lay.devices);
            assert!(same(table.data.row(i), &expect), "root {root}:\n{:?}\n{expect:?}", table.data.row(i));
            let churned = !by_root[root].iter().any(|e| e.ts >= cutoff && e.ts < cutoff + 2 * DAY);
            assert_eq!(table.data.y[i], u8::from(churned), "label of root {root}");
        }
        // Known customers only: those with an event under a customer id before the cutoff
        // (a visitor who signs in later was anonymous then).
        let known_spec = FeatureSpec { known_only: true, ..spec.clone() };
        let known = build(&store, &known_spec, &lay, cutoff, Some(&label), Rows::All).expect("build");
        let with_id: BTreeSet<u32> = evs
            .iter()
            .filter(|(ck, e)| e.ts < cutoff && store.customer_id(*ck).is_some_and(|(t, _)| t == "customer"))
            .map(|(ck, _)| find(&mut parent, *ck))
            .filter(|r| active.contains(r))
            .collect();
        assert_eq!(known.roots.iter().copied().collect::<BTreeSet<u32>>(), with_id);
        assert!(known.roots.len() < table.roots.len(), "some visitors were not signed in");
        // Events after the cutoff change labels, never features.
        let mut late = Batch::new("late");
        for c in 0..300 {
            let id = format!("c-{c}");
            late.push_event(
                "order",
                cutoff + HOUR,
                [("customer", id.as_str())],
                [("amount", cxp_store::FieldValue::F64(1e6))],
            )
            .expect("valid");
        }
        store.write(late).expect("write");
        let again = build(&store, &spec, &lay, cutoff, Some(&label), Rows::All).expect("build");
        assert_eq!(again.roots, table.roots);
        assert!(same(&again.data.x, &table.data.x));
        assert!(again.data.positives() < table.data.positives(), "the late orders saved customers from churning");
        // After every event (scoring), people are who they are now, and one person alone gets
        // the same row as in the table of everyone.
        let now = BASE + 12 * DAY;
        let all = build(&store, &spec, &lay, now, None, Rows::All).expect("build");
        let root = all.roots[3];
        let mut keys = vec![root];
        keys.extend(store.members(root).into_iter().filter(|&k| k != root));
        let one = build(&store, &spec, &lay, now, None, Rows::Person(&keys)).expect("build one");
        assert!(same(one.data.row(0), all.data.row(3)));
    }
}

mod registry {
    use cxp_query::model::features::{FeatureSpec, Label};
    use cxp_query::model::registry::{Scorer, latest, versions};
    use cxp_query::model::{ModelSpec, Params, TrainError, score_all, train_model};
    use cxp_query::segment::{Definitions, query};

    use crate::common::{self, BASE, DAY};

    fn spec() -> ModelSpec {
        let mut s = ModelSpec::new("churn", Label::Churn { days: 2 });
        s.features =
            FeatureSpec { windows_days: vec![2, 5], active_days: 6, known_only: false, ..FeatureSpec::default() };
        s.params = Params { rounds: 20, ..s.params };
        s.min_history_days = 3;
        s.min_class_rows = 20;
        s.cv_folds = 2;
        s
    }

    #[test]
    fn train_save_score_and_segment_on_scores() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = common::random_store(dir.path(), 5, 4, 2_000, 300);
        let at = BASE + 10 * DAY;
        // Too little history for what the definition asks: refused with the numbers.
        let strict = ModelSpec { min_history_days: 30, ..spec() };
        match train_model(&store, &strict, at) {
            Err(TrainError::Insufficient { sufficiency, .. }) => {
                assert!(sufficiency.problems[0].contains("30 needed"), "{:?}", sufficiency.problems);
                assert!(sufficiency.rows > 0);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let m1 = train_model(&store, &spec(), at).expect("trains");
        assert_eq!(m1.version, 1);
        assert_eq!(m1.rows_train + m1.rows_valid + m1.rows_test, m1.sufficiency.rows);
        assert!(m1.cutoff <= BASE + 8 * DAY, "the cutoff leaves a whole label horizon");
        assert_eq!(m1.cv.as_ref().map(|c| c.folds.len()), Some(2));
        let m2 = train_model(&store, &spec(), at).expect("trains again");
        assert_eq!(m2.version, 2);
        assert_eq!(versions(&store, "churn").expect("versions").len(), 2);
        assert_eq!(latest(&store, "churn").expect("latest").map(|m| m.version), Some(2));

        let run = score_all(&store, "churn", at, 2).expect("scores");
        assert!(run.customers > 0);
        let scores = store.scores("churn").expect("read").expect("written");
        assert_eq!(scores.meta.customers, run.customers);
        // Every scored customer is in `score.churn >= 0`, nobody in `score.churn > 1`.
        let defs = Definitions::default();
        let all = query(&store, "score.churn >= 0", at, &defs).expect("query");
        assert_eq!(all.count(), run.customers);
        assert_eq!(query(&store, "score.churn > 1", at, &defs).expect("query").count(), 0);
        // One customer scored alone agrees with the batch.
        let scorer = Scorer::load(&store, "churn", None).expect("load");
        let root = all.members.iter().next().expect("a member");
        let (_, id) = store.customer_id(root).expect("an identifier");
        let one = scorer.score_one(&store, &id, at).expect("score").expect("known");
        assert!((one.score - f64::from(scores.get(root).expect("scored"))).abs() < 1e-6);
        // Scores survive a reopen.
        drop(scorer);
        store.close().expect("close");
        let store = common::open(dir.path());
        assert_eq!(store.scores("churn").expect("read").expect("kept").get(root), scores.get(root));
        // Erasing the person erases their score, and scores written for them later are not kept.
        store.erase(&id, "test").expect("erase").expect("known");
        assert_eq!(store.scores("churn").expect("read").expect("kept").get(root), None);
        assert!(!store.scores_of(root).expect("read").contains_key("churn"));
        store.put_scores("churn", 9, at, &[(root, 0.5)]).expect("write");
        assert_eq!(store.scores("churn").expect("read").expect("kept").get(root), None);
    }
}

#[test]
fn deep_trees_and_unregularised_models_score_like_their_trees() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let mut d = Dataset::new(vec!["a".into(), "b".into()]);
    for _ in 0..3000 {
        let a = if rng.random::<f32>() < 0.1 { f32::NAN } else { rng.random::<f32>() };
        let b = rng.random::<f32>();
        let y = u8::from(rng.random::<f32>() < if a.is_nan() { 0.7 } else { (a * b).sqrt() });
        d.push(&[a, b], y);
    }
    // Depth 12: the generic layout walks every tree in boosting order.
    let deep = train(&d, None, &Params { rounds: 20, max_depth: 12, min_child_weight: 0.5, ..Params::default() })
        .expect("trains");
    assert!(deep.trees.iter().any(|t| t.depth() > 10), "some tree is deeper than the compiled layout takes");
    // No regularisation at all: every score stays a number.
    let bare = train(
        &d,
        None,
        &Params { rounds: 20, lambda: 0.0, min_child_weight: 0.0, subsample: 0.5, ..Params::default() },
    )
    .expect("trains");
    for model in [&deep, &bare] {
        let all = model.predict_all(&d);
        for (i, p) in all.iter().enumerate() {
            assert!(p.is_finite(), "row {i}");
            assert_eq!(*p, model.predict(d.row(i)), "row {i}");
        }
    }
}

#[test]
fn a_definition_without_held_out_customers_is_refused() {
    let err = cxp_query::model::parse_models("[churn]\ntest_share = 0.0\n").expect_err("no test rows");
    assert!(err.to_string().contains("test_share"), "{err}");
}
