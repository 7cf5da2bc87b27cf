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
    let ours = evaluate(&model.predict_all(&test), &test.y);
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
