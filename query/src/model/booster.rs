//! A trained boosted model: its trees, what it was trained on, and how to score with it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::forest::Forest;
use super::tree::Tree;

/// What one boosting round left in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundLog {
    /// Round, from 0.
    pub round: u32,
    /// Log loss on the validation table after the round.
    pub valid_log_loss: Option<f64>,
}

/// A feature's share of the loss reduction of every split on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Feature.
    pub feature: String,
    /// Sum of split gains.
    pub gain: f64,
    /// Share of the total gain, 0 to 1.
    pub share: f64,
    /// Splits on it.
    pub splits: u64,
}

/// Trees of a binary classifier, summed into a logit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booster {
    /// Features, in the order rows give them.
    pub features: Vec<String>,
    /// The log-odds every row starts from (of the training positives' share).
    pub base_margin: f32,
    /// Trees, in boosting order.
    pub trees: Vec<Tree>,
    /// Per round.
    pub history: Vec<RoundLog>,
    /// The round whose trees are kept (early stopping), from 0.
    pub best_round: u32,
    /// Training time, ms.
    pub train_ms: u64,
}

#[inline]
fn sigmoid(m: f32) -> f32 {
    1.0 / (1.0 + (-m).exp())
}

impl Booster {
    pub(crate) fn new(
        features: Vec<String>,
        base_margin: f32,
        trees: Vec<Tree>,
        history: Vec<RoundLog>,
        best_round: u32,
        took: Duration,
    ) -> Booster {
        Booster { features, base_margin, trees, history, best_round, train_ms: took.as_millis() as u64 }
    }

    /// The logit of one row (its values in the order of `features`).
    pub fn margin(&self, x: &[f32]) -> f32 {
        self.trees.iter().fold(self.base_margin, |m, t| m + t.predict(x))
    }

    /// The probability of the positive class for one row.
    pub fn predict(&self, x: &[f32]) -> f32 {
        sigmoid(self.margin(x))
    }

    /// Probabilities of every row of a table, with the compiled forest (fast for many rows).
    pub fn predict_all(&self, data: &Dataset) -> Vec<f32> {
        let forest = Forest::compile(self);
        let mut out = vec![0.0; data.rows()];
        forest.predict(&data.x, data.width(), &mut out);
        out
    }

    /// Feature importance by total gain, largest first.
    pub fn importance(&self) -> Vec<Importance> {
        let mut gain = vec![(0.0f64, 0u64); self.features.len()];
        for t in &self.trees {
            for n in t.nodes.iter().filter(|n| !n.is_leaf()) {
                let g = &mut gain[n.feature as usize];
                g.0 += f64::from(n.gain);
                g.1 += 1;
            }
        }
        let total: f64 = gain.iter().map(|g| g.0).sum();
        let mut out: Vec<Importance> = self
            .features
            .iter()
            .zip(gain)
            .map(|(f, (g, s))| Importance {
                feature: f.clone(),
                gain: g,
                share: if total > 0.0 { g / total } else { 0.0 },
                splits: s,
            })
            .collect();
        out.sort_by(|a, b| b.gain.total_cmp(&a.gain).then_with(|| a.feature.cmp(&b.feature)));
        out
    }
}
