//! Two proportions: the two-sided z-test with pooled variance, and confidence intervals of
//! the absolute difference (unpooled, Wald) and of the relative lift (delta method).
//!
//! Source: Agresti, *Categorical Data Analysis* (3rd ed.), 3.1.1–3.1.3: the pooled statistic
//! tests H0 p1 = p2, while the interval of p2 - p1 uses each sample's own variance. The
//! relative lift (p2 / p1 - 1) has the delta-method variance
//! (var2 + (p2/p1)^2 var1) / p1^2, as GrowthBook and Optimizely report it.

use super::{Interval, StatsError, domain, two_sided_normal_p, z_crit};

/// Successes out of trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Customers who converted.
    pub successes: u64,
    /// Customers exposed.
    pub trials: u64,
}

impl Counts {
    /// Parses `S/N`, as the command line takes it.
    pub fn parse(s: &str) -> Result<Counts, StatsError> {
        let (a, b) = s
            .split_once('/')
            .ok_or_else(|| domain("counts", format!("{s:?} is not SUCCESSES/TRIALS, e.g. 120/1000")))?;
        let successes = a.trim().parse().map_err(|_| domain("counts", format!("{a:?} in {s:?} is not a count")))?;
        let trials = b.trim().parse().map_err(|_| domain("counts", format!("{b:?} in {s:?} is not a count")))?;
        let c = Counts { successes, trials };
        c.check()?;
        Ok(c)
    }

    fn check(self) -> Result<(), StatsError> {
        if self.trials == 0 {
            return Err(domain("counts", "there are no trials"));
        }
        if self.successes > self.trials {
            return Err(domain("counts", format!("{} successes out of {} trials", self.successes, self.trials)));
        }
        Ok(())
    }

    /// The observed rate.
    pub fn rate(self) -> f64 {
        self.successes as f64 / self.trials as f64
    }
}

/// The result of comparing a variant's rate to the control's.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProportionsTest {
    /// Control rate.
    pub control_rate: f64,
    /// Variant rate.
    pub variant_rate: f64,
    /// Variant rate minus control rate.
    pub difference: f64,
    /// Confidence interval of the difference (unpooled).
    pub difference_ci: Interval,
    /// Variant rate over control rate, minus one (`None` when the control rate is 0).
    pub relative_lift: Option<f64>,
    /// Confidence interval of the relative lift (delta method).
    pub relative_ci: Option<Interval>,
    /// z statistic (pooled).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// The alpha the intervals are for (confidence `1 - alpha`).
    pub alpha: f64,
}

/// Compares `variant` to `control`.
pub fn two_proportions(control: Counts, variant: Counts, alpha: f64) -> Result<ProportionsTest, StatsError> {
    control.check()?;
    variant.check()?;
    let zc = z_crit(alpha)?;
    let (n1, n2) = (control.trials as f64, variant.trials as f64);
    let (p1, p2) = (control.rate(), variant.rate());
    let pooled = (control.successes + variant.successes) as f64 / (n1 + n2);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let difference = p2 - p1;
    let (z, p_value) = if se_pooled > 0.0 {
        let z = difference / se_pooled;
        (z, two_sided_normal_p(z))
    } else {
        // Both all-or-nothing and equal: no evidence of any difference.
        (0.0, 1.0)
    };
    let (v1, v2) = (p1 * (1.0 - p1) / n1, p2 * (1.0 - p2) / n2);
    let difference_ci = Interval::around(difference, zc * (v1 + v2).sqrt());
    let (relative_lift, relative_ci) = if p1 > 0.0 {
        let ratio = p2 / p1;
        let var_ratio = (v2 + ratio * ratio * v1) / (p1 * p1);
        let rel = ratio - 1.0;
        (Some(rel), Some(Interval::around(rel, zc * var_ratio.sqrt())))
    } else {
        (None, None)
    };
    Ok(ProportionsTest {
        control_rate: p1,
        variant_rate: p2,
        difference,
        difference_ci,
        relative_lift,
        relative_ci,
        z,
        p_value,
        alpha,
    })
}
