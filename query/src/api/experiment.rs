//! Experiments: definitions, assignments and results (`/api/v1/experiments`).

use serde::{Deserialize, Serialize};

use crate::experiment::config::MetricKind;
use crate::stats::Interval;
use crate::stats::power::Plan;
use crate::stats::srm::SrmCheck;

/// A variant and what it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantDoc {
    /// Name.
    pub name: String,
    /// Configured share of traffic, 0 to 1.
    pub share: f64,
    /// Customers exposed (first exposure in this variant, never in another).
    pub exposed: u64,
}

/// A metric's value in one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// Variant (or factor level).
    pub group: String,
    /// Customers the value is over.
    pub customers: u64,
    /// Customers who converted (conversion metrics).
    pub conversions: Option<u64>,
    /// Rate or mean per customer.
    pub mean: f64,
    /// Standard deviation per customer (sum and mean metrics).
    pub sd: Option<f64>,
}

/// A group against the control group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Variant (or factor level).
    pub group: String,
    /// Group minus control.
    pub difference: f64,
    /// Its confidence interval.
    pub difference_ci: Interval,
    /// Relative lift.
    pub relative_lift: Option<f64>,
    /// Its confidence interval.
    pub relative_ci: Option<Interval>,
    /// Two-sided p-value (z-test for rates, Welch for means).
    pub p_value: f64,
    /// Holm-adjusted over every comparison of the analysis (variants x metrics).
    pub p_adjusted: f64,
    /// Whether `p_adjusted < alpha`.
    pub significant: bool,
    /// Bayesian chance to beat the control.
    pub chance_to_beat_control: f64,
    /// Expected loss of shipping this group.
    pub expected_loss: f64,
    /// Expected loss of keeping the control.
    pub expected_loss_control: f64,
}

/// One metric's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: MetricKind,
    /// A guardrail (else the primary metric).
    pub guardrail: bool,
    /// Per group, control first.
    pub values: Vec<MetricValue>,
    /// Each other group against the control (empty when a group is too small to test).
    pub comparisons: Vec<Comparison>,
}

/// The results of a multivariate test for one factor: its levels pooled over the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorDoc {
    /// Factor.
    pub factor: String,
    /// Levels, control level first.
    pub levels: Vec<String>,
    /// Metrics by level.
    pub metrics: Vec<MetricResult>,
}

/// `GET /api/v1/experiments/{name}/results`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentResults {
    /// Experiment.
    pub name: String,
    /// Results as of this time, ns.
    pub at: i64,
    /// Significance level.
    pub alpha: f64,
    /// Variants, control first.
    pub variants: Vec<VariantDoc>,
    /// Customers exposed in more than one variant (left out of everything below).
    pub multiple_exposures: u64,
    /// Exposures naming a variant the experiment does not have (left out).
    pub unknown_variant: u64,
    /// Sample ratio mismatch check against the configured shares.
    pub srm: SrmCheck,
    /// The planned sample size, when configured.
    pub plan: Option<Plan>,
    /// Primary metric first, then the guardrails.
    pub metrics: Vec<MetricResult>,
    /// Per factor, for multivariate tests.
    pub factors: Vec<FactorDoc>,
    /// What to be careful about when reading these numbers.
    pub warnings: Vec<String>,
    /// Time taken, µs.
    pub took_us: u64,
}

/// `GET /api/v1/experiments` and `/experiments/{name}`: a definition and its exposure count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentDoc {
    /// The definition.
    pub experiment: crate::experiment::Experiment,
}

/// `POST /api/v1/experiments/{name}/assign`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentDoc {
    /// Experiment.
    pub experiment: String,
    /// The identifier assigned.
    pub customer: String,
    /// The hash in [0, 1).
    pub hash: f64,
    /// The variant, or `None` when not in the experiment (not eligible, or outside coverage).
    pub variant: Option<String>,
    /// Why there is no variant.
    pub reason: Option<String>,
    /// Whether an exposure event was logged.
    pub logged: bool,
}
