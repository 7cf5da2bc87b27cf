//! Gradient boosting of trees for binary classification (logistic loss), as XGBoost's `hist`
//! method does it: second-order gradients, L2-regularised leaf weights, depth-wise trees from
//! quantile-bin histograms, row and column sampling, early stopping on a validation table.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ModelError;
use super::binning::{Binned, MAX_BINS};
use super::booster::{Booster, RoundLog};
use super::dataset::Dataset;
use super::grow::Grower;
use super::hist::Layout;
use super::metrics::log_loss;

/// Training parameters; the defaults are XGBoost's, but for the thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Boosting rounds (trees), at most.
    pub rounds: u32,
    /// Shrinkage of every leaf (XGBoost's `eta`).
    pub learning_rate: f64,
    /// Largest depth of a tree.
    pub max_depth: u32,
    /// L2 regularisation of leaf weights.
    pub lambda: f64,
    /// Smallest loss reduction a split must bring.
    pub gamma: f64,
    /// Smallest hessian sum of a child.
    pub min_child_weight: f64,
    /// Share of rows each tree sees.
    pub subsample: f64,
    /// Share of features each tree may split on.
    pub colsample: f64,
    /// Bins per feature, the missing bin included (at most 256).
    pub max_bins: usize,
    /// Stop when the validation log loss has not improved for this many rounds (needs a
    /// validation table); the model keeps the trees up to the best round.
    pub early_stopping: Option<u32>,
    /// Worker threads.
    pub threads: usize,
    /// Seed of the row and column sampling.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            rounds: 200,
            learning_rate: 0.3,
            max_depth: 6,
            lambda: 1.0,
            gamma: 0.0,
            min_child_weight: 1.0,
            subsample: 1.0,
            colsample: 1.0,
            max_bins: MAX_BINS,
            early_stopping: None,
            threads: 2,
            seed: 0,
        }
    }
}

impl Params {
    /// Refuses values that make no model, naming the parameter.
    pub fn check(&self) -> Result<(), ModelError> {
        let bad = |name: &str, why: &str| Err(ModelError::Param(format!("{name}: {why}")));
        if self.rounds == 0 {
            return bad("rounds", "must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("learning_rate", "must be in (0, 1]");
        }
        if self.max_depth == 0 || self.max_depth > 16 {
            return bad("max_depth", "must be between 1 and 16");
        }
        if !(self.lambda >= 0.0 && self.gamma >= 0.0 && self.min_child_weight >= 0.0) {
            return bad("lambda, gamma, min_child_weight", "must not be negative");
        }
        if !(self.subsample > 0.0 && self.subsample <= 1.0 && self.colsample > 0.0 && self.colsample <= 1.0) {
            return bad("subsample, colsample", "must be in (0, 1]");
        }
        if !(2..=MAX_BINS).contains(&self.max_bins) {
            return bad("max_bins", "must be between 2 and 256");
        }
        if self.threads == 0 {
            return bad("threads", "must be at least 1");
        }
        Ok(())
    }
}

#[inline]
fn sigmoid(m: f32) -> f32 {
    1.0 / (1.0 + (-m).exp())
}

/// Trains a classifier on `data`; with `valid`, its log loss is logged every round and drives
/// early stopping.
pub fn train(data: &Dataset, valid: Option<&Dataset>, params: &Params) -> Result<Booster, ModelError> {
    train_until(data, valid, params, &AtomicBool::new(false))
}

/// [`train`] that stops with [`ModelError::Cancelled`] once `cancel` is set (checked every
/// round).
pub fn train_until(
    data: &Dataset,
    valid: Option<&Dataset>,
    params: &Params,
    cancel: &AtomicBool,
) -> Result<Booster, ModelError> {
    params.check()?;
    data.check()?;
    if let Some(v) = valid {
        v.check()?;
        if v.features != data.features {
            return Err(ModelError::Data("the validation table has other features than the training table".into()));
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(params.threads)
        .thread_name(|i| format!("cxp-train-{i}"))
        .build()
        .map_err(|e| ModelError::Param(format!("threads: {e}")))?;
    pool.install(|| train_in_pool(data, valid, params, cancel))
}

fn train_in_pool(
    data: &Dataset,
    valid: Option<&Dataset>,
    params: &Params,
    cancel: &AtomicBool,
) -> Result<Booster, ModelError> {
    let started = Instant::now();
    let n = data.rows();
    let positives = data.positives();
    if n == 0 || positives == 0 || positives == n {
        return Err(ModelError::Data(format!("{n} rows with {positives} positives: both classes are needed")));
    }
    let binned = Binned::fit(data, params.max_bins);
    let layout = Layout::new(binned.bins.iter().map(|b| b.len()));
    let width = data.width();
    let mean = positives as f64 / n as f64;
    let base_margin = (mean / (1.0 - mean)).ln() as f32;
    let mut margin = vec![base_margin; n];
    let mut grad = vec![[0.0f32; 2]; n];
    let mut valid_margin = valid.map(|v| vec![base_margin; v.rows()]);
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut rows: Vec<u32> = Vec::with_capacity(n);
    let mut in_sample = vec![true; n];
    let mut trees = Vec::new();
    let mut history = Vec::new();
    let mut best = (0usize, f64::INFINITY);
    let chunk = n.div_ceil(rayon::current_num_threads() * 4).max(1 << 12);
    for round in 0..params.rounds as usize {
        if cancel.load(Ordering::Relaxed) {
            return Err(ModelError::Cancelled);
        }
        grad.par_chunks_mut(chunk).zip(margin.par_chunks(chunk)).zip(data.y.par_chunks(chunk)).for_each(
            |((g, m), y)| {
                for ((g, &m), &y) in g.iter_mut().zip(m).zip(y) {
                    let p = sigmoid(m);
                    *g = [p - f32::from(y), (p * (1.0 - p)).max(1e-16)];
                }
            },
        );
        rows.clear();
        if params.subsample < 1.0 {
            for (r, s) in in_sample.iter_mut().enumerate() {
                *s = rng.random::<f64>() < params.subsample;
                if *s {
                    rows.push(r as u32);
                }
            }
        } else {
            rows.extend(0..n as u32);
        }
        let mut features: Vec<usize> = (0..width).filter(|&f| !binned.bins[f].is_empty()).collect();
        if params.colsample < 1.0 && !features.is_empty() {
            let keep = ((features.len() as f64 * params.colsample).ceil() as usize).max(1);
            // A partial Fisher-Yates shuffle, then back in column order.
            for i in 0..keep {
                let j = rng.random_range(i..features.len());
                features.swap(i, j);
            }
            features.truncate(keep);
            features.sort_unstable();
        }
        let grower = Grower { binned: &binned, layout: &layout, grad: &grad, params, features };
        let (tree, leaves) = grower.grow(&mut rows);
        for leaf in &leaves {
            for &r in &rows[leaf.start..leaf.end] {
                margin[r as usize] += leaf.value;
            }
        }
        if params.subsample < 1.0 {
            margin.par_chunks_mut(chunk).zip(in_sample.par_chunks(chunk)).enumerate().for_each(|(c, (m, s))| {
                for (i, (m, &s)) in m.iter_mut().zip(s).enumerate() {
                    if !s {
                        *m += tree.predict(data.row(c * chunk + i));
                    }
                }
            });
        }
        let mut log = RoundLog { round: round as u32, valid_log_loss: None };
        if let (Some(v), Some(vm)) = (valid, valid_margin.as_mut()) {
            vm.par_iter_mut().enumerate().for_each(|(i, m)| *m += tree.predict(v.row(i)));
            let probs: Vec<f32> = vm.par_iter().map(|&m| sigmoid(m)).collect();
            let loss = log_loss(&probs, &v.y);
            log.valid_log_loss = Some(loss);
            if loss < best.1 {
                best = (round, loss);
            }
        }
        trees.push(tree);
        history.push(log);
        if let (Some(patience), Some(_)) = (params.early_stopping, valid)
            && round - best.0 >= patience as usize
        {
            break;
        }
    }
    let best_round = if params.early_stopping.is_some() && valid.is_some() { best.0 } else { trees.len() - 1 };
    trees.truncate(best_round + 1);
    Ok(Booster::new(data.features.clone(), base_margin, trees, history, best_round as u32, started.elapsed()))
}
