//! Sample ratio mismatch: whether the customers exposed per variant fit the configured weights,
//! by Pearson's chi-square goodness-of-fit test. A mismatch (p < 0.001, the threshold of
//! Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments", KDD
//! 2019) means assignment or exposure logging is broken and the results cannot be trusted.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::{StatsError, domain};

/// p-value below which the ratio is flagged.
pub const SRM_THRESHOLD: f64 = 0.001;

/// The result of the check.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SrmCheck {
    /// Chi-square statistic.
    pub chi_square: f64,
    /// Degrees of freedom (variants - 1).
    pub df: u32,
    /// p-value.
    pub p_value: f64,
    /// Whether `p_value < SRM_THRESHOLD`.
    pub mismatch: bool,
}

/// Tests `observed` counts against `weights` (any positive scale).
pub fn srm(observed: &[u64], weights: &[f64]) -> Result<SrmCheck, StatsError> {
    if observed.len() != weights.len() || observed.len() < 2 {
        return Err(domain("variants", format!("{} counts for {} weights", observed.len(), weights.len())));
    }
    if weights.iter().any(|w| !w.is_finite() || *w <= 0.0) {
        return Err(domain("weights", "every weight must be positive"));
    }
    let total: u64 = observed.iter().sum();
    let wsum: f64 = weights.iter().sum();
    if total == 0 {
        return Ok(SrmCheck { chi_square: 0.0, df: observed.len() as u32 - 1, p_value: 1.0, mismatch: false });
    }
    let chi_square: f64 = observed
        .iter()
        .zip(weights)
        .map(|(&o, &w)| {
            let e = total as f64 * w / wsum;
            (o as f64 - e).powi(2) / e
        })
        .sum();
    let df = observed.len() as u32 - 1;
    let dist = ChiSquared::new(df as f64).map_err(|e| domain("degrees of freedom", e.to_string()))?;
    let p_value = dist.sf(chi_square);
    Ok(SrmCheck { chi_square, df, p_value, mismatch: p_value < SRM_THRESHOLD })
}
