//! k-fold cross-validation, stratified: each fold keeps the table's share of positives, every
//! row is scored once by a model that never saw it, and the spread across folds says how much
//! a metric can be trusted.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::ModelError;
use super::dataset::Dataset;
use super::metrics::{auc, log_loss};
use super::train::{Params, train_until};

/// One fold's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    /// Rows held out.
    pub rows: u64,
    /// AUC on them.
    pub auc: Option<f64>,
    /// Log loss on them.
    pub log_loss: f64,
    /// Trees kept.
    pub trees: u32,
}

/// Cross-validation results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    /// Per fold.
    pub folds: Vec<Fold>,
    /// Mean AUC over the folds.
    pub auc_mean: f64,
    /// Its sample standard deviation.
    pub auc_sd: f64,
    /// Mean log loss.
    pub log_loss_mean: f64,
}

/// Fold of each row: positives and negatives shuffled apart and dealt round-robin.
pub fn stratified_folds(labels: &[u8], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0usize; labels.len()];
    for class in [0u8, 1] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        for (j, i) in idx.into_iter().enumerate() {
            fold[i] = j % k;
        }
    }
    fold
}

/// Trains `k` models, each on all folds but one, and scores the one left out. With early
/// stopping, a tenth of the training folds is kept aside to stop on (never the scored fold).
pub fn cross_validate(data: &Dataset, params: &Params, k: usize) -> Result<CrossValidation, ModelError> {
    cross_validate_until(data, params, k, &std::sync::atomic::AtomicBool::new(false))
}

/// [`cross_validate`] that stops once `cancel` is set.
pub fn cross_validate_until(
    data: &Dataset,
    params: &Params,
    k: usize,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<CrossValidation, ModelError> {
    if !(2..=20).contains(&k) {
        return Err(ModelError::Param(format!("folds: {k} is not between 2 and 20")));
    }
    data.check()?;
    let fold = stratified_folds(&data.y, k, params.seed);
    let mut folds = Vec::with_capacity(k);
    for f in 0..k {
        let test: Vec<usize> = (0..data.rows()).filter(|&i| fold[i] == f).collect();
        let rest: Vec<usize> = (0..data.rows()).filter(|&i| fold[i] != f).collect();
        let (fit, stop): (Vec<usize>, Vec<usize>) = if params.early_stopping.is_some() {
            let inner = stratified_folds(&data.take(&rest).y, 10, params.seed ^ 0x5eed);
            let fit = rest.iter().zip(&inner).filter(|(_, g)| **g != 0).map(|(r, _)| *r).collect();
            let stop = rest.iter().zip(&inner).filter(|(_, g)| **g == 0).map(|(r, _)| *r).collect();
            (fit, stop)
        } else {
            (rest, Vec::new())
        };
        let valid = (!stop.is_empty()).then(|| data.take(&stop));
        let model = train_until(&data.take(&fit), valid.as_ref(), params, cancel)?;
        let held = data.take(&test);
        let probs = model.predict_all(&held);
        folds.push(Fold {
            rows: test.len() as u64,
            auc: auc(&probs, &held.y),
            log_loss: log_loss(&probs, &held.y),
            trees: model.trees.len() as u32,
        });
    }
    let aucs: Vec<f64> = folds.iter().filter_map(|f| f.auc).collect();
    let mean = aucs.iter().sum::<f64>() / aucs.len().max(1) as f64;
    let var = aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (aucs.len().max(2) - 1) as f64;
    let log_loss_mean = folds.iter().map(|f| f.log_loss).sum::<f64>() / k as f64;
    Ok(CrossValidation { folds, auc_mean: mean, auc_sd: var.sqrt(), log_loss_mean })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_keep_the_share_of_positives() {
        let labels: Vec<u8> = (0..1000).map(|i| u8::from(i % 10 == 0)).collect();
        let fold = stratified_folds(&labels, 5, 1);
        for f in 0..5 {
            let rows: Vec<usize> = (0..1000).filter(|&i| fold[i] == f).collect();
            assert_eq!(rows.len(), 200);
            assert_eq!(rows.iter().filter(|&&i| labels[i] == 1).count(), 20);
        }
    }
}
