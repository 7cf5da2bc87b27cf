//! How good a binary classifier's probabilities are: AUC, log loss, accuracy, precision and
//! recall at a threshold, and a calibration table.

use serde::{Deserialize, Serialize};

/// Area under the ROC curve: the chance that a random positive scores above a random negative,
/// ties counting one half (the Mann-Whitney U statistic over both class sizes). `None` when a
/// class is empty.
pub fn auc(scores: &[f32], labels: &[u8]) -> Option<f64> {
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| scores[a as usize].total_cmp(&scores[b as usize]));
    let (mut rank_sum, mut pos) = (0.0f64, 0u64);
    let mut i = 0;
    while i < order.len() {
        // A run of tied scores shares the mean of their ranks (1-based).
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1] as usize] == scores[order[i] as usize] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k as usize] == 1 {
                rank_sum += mean_rank;
                pos += 1;
            }
        }
        i = j + 1;
    }
    let neg = scores.len() as u64 - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let (p, n) = (pos as f64, neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Mean negative log-likelihood of the labels, probabilities clipped to [1e-15, 1 - 1e-15]
/// (as scikit-learn and XGBoost do).
pub fn log_loss(probs: &[f32], labels: &[u8]) -> f64 {
    if probs.is_empty() {
        return f64::NAN;
    }
    let s: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = f64::from(p).clamp(1e-15, 1.0 - 1e-15);
            if y == 1 { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    s / probs.len() as f64
}

/// Counts at a threshold: a row is predicted positive when its probability is `>= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AtThreshold {
    /// The threshold.
    pub threshold: f64,
    /// Share of rows predicted right.
    pub accuracy: f64,
    /// Share of predicted positives that are positive (`None` without predicted positives).
    pub precision: Option<f64>,
    /// Share of positives predicted positive (`None` without positives).
    pub recall: Option<f64>,
    /// Predicted positives.
    pub predicted_positive: u64,
}

/// Accuracy, precision and recall at `threshold`.
pub fn at_threshold(probs: &[f32], labels: &[u8], threshold: f64) -> AtThreshold {
    let (mut tp, mut fp, mut tn, mut fneg) = (0u64, 0u64, 0u64, 0u64);
    for (&p, &y) in probs.iter().zip(labels) {
        match (f64::from(p) >= threshold, y == 1) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fneg += 1,
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { None } else { Some(a as f64 / b as f64) };
    AtThreshold {
        threshold,
        accuracy: ratio(tp + tn, tp + fp + tn + fneg).unwrap_or(f64::NAN),
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fneg),
        predicted_positive: tp + fp,
    }
}

/// One bin of a calibration table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Probabilities in `[low, high)` (the last bin includes 1).
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Rows in the bin.
    pub rows: u64,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Observed share of positives.
    pub observed: f64,
}

/// Predicted against observed rates in `bins` equal-width probability bins (empty bins are
/// left out): a calibrated model has them close.
pub fn calibration(probs: &[f32], labels: &[u8], bins: usize) -> Vec<CalibrationBin> {
    let bins = bins.max(1);
    let mut acc = vec![(0u64, 0.0f64, 0u64); bins];
    for (&p, &y) in probs.iter().zip(labels) {
        let b = ((f64::from(p) * bins as f64) as usize).min(bins - 1);
        acc[b].0 += 1;
        acc[b].1 += f64::from(p);
        acc[b].2 += u64::from(y);
    }
    acc.iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0)
        .map(|(i, &(n, sum, pos))| CalibrationBin {
            low: i as f64 / bins as f64,
            high: (i + 1) as f64 / bins as f64,
            rows: n,
            predicted: sum / n as f64,
            observed: pos as f64 / n as f64,
        })
        .collect()
}

/// Every metric of a model on one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Rows.
    pub rows: u64,
    /// Positive rows.
    pub positives: u64,
    /// AUC (`None` with one class only).
    pub auc: Option<f64>,
    /// Log loss.
    pub log_loss: f64,
    /// At a threshold of 0.5.
    pub at_half: AtThreshold,
    /// Ten bins.
    pub calibration: Vec<CalibrationBin>,
}

/// Evaluates probabilities against labels.
pub fn evaluate(probs: &[f32], labels: &[u8]) -> Evaluation {
    Evaluation {
        rows: probs.len() as u64,
        positives: labels.iter().filter(|&&y| y == 1).count() as u64,
        auc: auc(probs, labels),
        log_loss: log_loss(probs, labels),
        at_half: at_threshold(probs, labels, 0.5),
        calibration: calibration(probs, labels, 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// AUC by its definition: every positive-negative pair.
    fn auc_pairs(s: &[f32], y: &[u8]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..s.len() {
            for j in 0..s.len() {
                if y[i] == 1 && y[j] == 0 {
                    den += 1.0;
                    num += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        num / den
    }

    #[test]
    fn auc_agrees_with_all_pairs_including_ties() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..20 {
            let n = rng.random_range(2..300);
            // Few distinct scores, so that ties are common.
            let s: Vec<f32> = (0..n).map(|_| rng.random_range(0..12) as f32 / 11.0).collect();
            let y: Vec<u8> = s.iter().map(|&v| u8::from(rng.random::<f32>() < v)).collect();
            match auc(&s, &y) {
                Some(a) => assert!((a - auc_pairs(&s, &y)).abs() < 1e-12),
                None => assert!(y.iter().all(|&v| v == y[0])),
            }
        }
    }

    #[test]
    fn golden_values() {
        // scikit-learn 1.5: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75,
        // log_loss(same) = 0.47228795380912615.
        let (p, y) = ([0.1f32, 0.4, 0.35, 0.8], [0u8, 0, 1, 1]);
        assert!((auc(&p, &y).expect("two classes") - 0.75).abs() < 1e-12);
        assert!((log_loss(&p, &y) - 0.472_287_953_809_126_15).abs() < 1e-7);
        let t = at_threshold(&p, &y, 0.5);
        assert_eq!((t.accuracy, t.precision, t.recall), (0.75, Some(1.0), Some(0.5)));
        let c = calibration(&p, &y, 2);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].rows, c[0].observed), (3, 1.0 / 3.0));
        assert_eq!((c[1].rows, c[1].observed), (1, 1.0));
    }
}
