//! Two means: Welch's t-test (unequal variances) with the Welch–Satterthwaite degrees of
//! freedom, the confidence interval of the difference, and the relative lift's interval by the
//! delta method.
//!
//! Source: Welch (1947), "The generalization of Student's problem when several different
//! population variances are involved", Biometrika 34; the same statistic as R's `t.test`
//! (default `var.equal = FALSE`) and scipy's `ttest_ind(equal_var=False)`.

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{Interval, StatsError, check_alpha, domain};

/// Mean, standard deviation (n - 1) and size of a sample.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Size.
    pub n: u64,
}

impl Summary {
    /// Parses `MEAN,SD,N`, as the command line takes it.
    pub fn parse(s: &str) -> Result<Summary, StatsError> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let [m, sd, n] = parts[..] else {
            return Err(domain("summary", format!("{s:?} is not MEAN,SD,N, e.g. 10.2,3.1,500")));
        };
        let num = |x: &str| x.parse::<f64>().map_err(|_| domain("summary", format!("{x:?} in {s:?} is not a number")));
        let n = n.parse::<u64>().map_err(|_| domain("summary", format!("{n:?} in {s:?} is not a count")))?;
        let out = Summary { mean: num(m)?, sd: num(sd)?, n };
        out.check()?;
        Ok(out)
    }

    /// The summary of `values` (sd with n - 1).
    pub fn of(values: &[f64]) -> Summary {
        let n = values.len();
        if n == 0 {
            return Summary { mean: 0.0, sd: 0.0, n: 0 };
        }
        // Welford: one pass, no catastrophic cancellation for large sums.
        let (mut mean, mut m2) = (0.0f64, 0.0f64);
        for (i, &x) in values.iter().enumerate() {
            let d = x - mean;
            mean += d / (i + 1) as f64;
            m2 += d * (x - mean);
        }
        let sd = if n > 1 { (m2 / (n - 1) as f64).sqrt() } else { 0.0 };
        Summary { mean, sd, n: n as u64 }
    }

    fn check(self) -> Result<(), StatsError> {
        if self.n < 2 {
            return Err(domain("summary", format!("a sample needs at least 2 values for a deviation, not {}", self.n)));
        }
        if !self.mean.is_finite() || !self.sd.is_finite() || self.sd < 0.0 {
            return Err(domain("summary", format!("mean {} and sd {} must be finite, sd >= 0", self.mean, self.sd)));
        }
        Ok(())
    }

    /// Variance of the mean.
    pub fn var_of_mean(self) -> f64 {
        self.sd * self.sd / self.n as f64
    }
}

/// The result of comparing a variant's mean to the control's.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeansTest {
    /// Control mean.
    pub control_mean: f64,
    /// Variant mean.
    pub variant_mean: f64,
    /// Variant minus control.
    pub difference: f64,
    /// Confidence interval of the difference.
    pub difference_ci: Interval,
    /// Variant over control, minus one (`None` when the control mean is 0).
    pub relative_lift: Option<f64>,
    /// Confidence interval of the relative lift (delta method, normal quantile).
    pub relative_ci: Option<Interval>,
    /// t statistic.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// The alpha the intervals are for.
    pub alpha: f64,
}

/// Welch's test of `variant` against `control`.
pub fn welch(control: Summary, variant: Summary, alpha: f64) -> Result<MeansTest, StatsError> {
    control.check()?;
    variant.check()?;
    check_alpha(alpha)?;
    let (v1, v2) = (control.var_of_mean(), variant.var_of_mean());
    let se = (v1 + v2).sqrt();
    let difference = variant.mean - control.mean;
    let (t, df, p_value, half) = if se > 0.0 {
        let df = (v1 + v2).powi(2) / (v1 * v1 / (control.n - 1) as f64 + v2 * v2 / (variant.n - 1) as f64);
        let dist = StudentsT::new(0.0, 1.0, df).map_err(|e| domain("degrees of freedom", e.to_string()))?;
        let t = difference / se;
        let p = (2.0 * dist.sf(t.abs())).min(1.0);
        (t, df, p, dist.inverse_cdf(1.0 - alpha / 2.0) * se)
    } else {
        // Both samples constant: the difference is known exactly.
        let p = if difference == 0.0 { 1.0 } else { 0.0 };
        (if difference == 0.0 { 0.0 } else { difference.signum() * f64::INFINITY }, f64::NAN, p, 0.0)
    };
    let (relative_lift, relative_ci) = if control.mean != 0.0 {
        let ratio = variant.mean / control.mean;
        let var_ratio = (v2 + ratio * ratio * v1) / (control.mean * control.mean);
        let zc = super::z_crit(alpha)?;
        (Some(ratio - 1.0), Some(Interval::around(ratio - 1.0, zc * var_ratio.sqrt())))
    } else {
        (None, None)
    };
    Ok(MeansTest {
        control_mean: control.mean,
        variant_mean: variant.mean,
        difference,
        difference_ci: Interval::around(difference, half),
        relative_lift,
        relative_ci,
        t,
        df,
        p_value,
        alpha,
    })
}
