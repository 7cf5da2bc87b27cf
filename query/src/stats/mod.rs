//! The statistics of experiments: frequentist tests with confidence intervals, Bayesian chance
//! to beat control with expected loss, multiple-comparison correction, the sample ratio
//! mismatch check and sample sizes. The distributions and special functions come from statrs;
//! only the formulas of the tests are written here, each with its textbook source, and the
//! golden tests hold them to values computed independently with scipy and statsmodels.

pub mod bayes;
pub mod means;
pub mod multiple;
pub mod power;
pub mod proportions;
pub mod srm;

use statrs::distribution::{ContinuousCDF, Normal};

/// Why a statistic cannot be computed from the numbers given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// A count, rate or size outside its domain.
    #[error("{what}: {why}")]
    Domain {
        /// The argument.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

pub(crate) fn domain(what: &'static str, why: impl Into<String>) -> StatsError {
    StatsError::Domain { what, why: why.into() }
}

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// `center ± half`.
    pub fn around(center: f64, half: f64) -> Interval {
        Interval { low: center - half, high: center + half }
    }
}

pub(crate) fn std_normal() -> Normal {
    // Mean 0 and deviation 1 are always valid parameters.
    Normal::standard()
}

/// The two-sided critical value of the standard normal for confidence `1 - alpha`.
pub(crate) fn z_crit(alpha: f64) -> Result<f64, StatsError> {
    check_alpha(alpha)?;
    Ok(std_normal().inverse_cdf(1.0 - alpha / 2.0))
}

pub(crate) fn check_alpha(alpha: f64) -> Result<(), StatsError> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(domain("alpha", format!("must be between 0 and 1 (exclusive), not {alpha}")))
    }
}

/// Two-sided p-value of a standard normal statistic, taken from the upper tail so that small
/// p-values keep their precision.
pub(crate) fn two_sided_normal_p(z: f64) -> f64 {
    (2.0 * std_normal().sf(z.abs())).min(1.0)
}
