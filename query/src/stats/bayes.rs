//! Bayesian comparison: the chance that the variant beats the control and the expected loss
//! of choosing either, for rates (beta-binomial, uniform Beta(1, 1) prior) and for means
//! (normal approximation of each mean).
//!
//! Chance to beat control is exact for beta posteriors with integer parameters: Evan Miller,
//! "Formulas for Bayesian A/B Testing" (2015), P(X > Y) = sum over i < a_X of
//! B(a_Y + i, b_Y + b_X) / ((b_X + i) B(1 + i, b_X) B(a_Y, b_Y)). Consecutive terms differ by
//! the factor (a_Y + i)(b_X + i) / ((a_Y + b_Y + b_X + i)(1 + i)), so the sum costs a few
//! multiplications per term, in logarithms so that no term underflows. The expected loss
//! follows Chris Stucchio, "Bayesian A/B Testing at VWO" (2015):
//! E[max(Y - X, 0)] = E[Y] P(Y' > X) - E[X] P(Y > X'), with Y' ~ Beta(a_Y + 1, b_Y).

use statrs::distribution::{Continuous, ContinuousCDF};
use statrs::function::beta::ln_beta as statrs_ln_beta;
use statrs::function::gamma::ln_gamma;

use super::means::Summary;
use super::proportions::Counts;
use super::{StatsError, std_normal};

/// The Bayesian view of a variant against the control.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BayesResult {
    /// Probability that the variant's true value is higher than the control's.
    pub chance_to_beat_control: f64,
    /// Expected shortfall, in the metric's units, of shipping the variant if the control is
    /// better.
    pub expected_loss_variant: f64,
    /// Expected shortfall of keeping the control if the variant is better.
    pub expected_loss_control: f64,
}

/// A Beta(a, b) posterior with integer parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Beta {
    a: u64,
    b: u64,
}

impl Beta {
    fn posterior(c: Counts) -> Beta {
        Beta { a: 1 + c.successes, b: 1 + (c.trials - c.successes) }
    }

    fn mean(self) -> f64 {
        self.a as f64 / (self.a + self.b) as f64
    }
}

/// ln B(a, b) without the cancellation of ln Γ(a) + ln Γ(b) - ln Γ(a + b) for large arguments.
///
/// With a million customers the three log-gammas are about 1e7 and their sum loses nine
/// digits; the chance to beat control would then be off in the ninth place. These are the
/// large-argument forms of R's `lbeta` (nmath/lbeta.c), which keep only Stirling's
/// correction terms and logarithms of ratios.
fn ln_beta(a: f64, b: f64) -> f64 {
    const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
    let (p, q) = (a.min(b), a.max(b));
    if p >= 10.0 {
        let corr = stirling_correction(p) + stirling_correction(q) - stirling_correction(p + q);
        -0.5 * q.ln() + LN_SQRT_2PI + corr + (p - 0.5) * (p / (p + q)).ln() + q * (-p / (p + q)).ln_1p()
    } else if q >= 10.0 {
        let corr = stirling_correction(q) - stirling_correction(p + q);
        ln_gamma(p) + corr + p - p * (p + q).ln() + (q - 0.5) * (-p / (p + q)).ln_1p()
    } else {
        statrs_ln_beta(a, b)
    }
}

/// ln Γ(x) - ((x - 1/2) ln x - x + ln sqrt(2π)), x >= 10: the Stirling series, whose next term
/// is below 2e-14 at x = 10.
fn stirling_correction(x: f64) -> f64 {
    let r = 1.0 / (x * x);
    (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r * (1.0 / 1680.0 - r / 1188.0)))) / x
}

/// P(X > Y) for independent beta variables (Miller's sum over X's first parameter).
fn prob_greater(x: Beta, y: Beta) -> f64 {
    let (ay, by, bx) = (y.a as f64, y.b as f64, x.b as f64);
    let first = ln_beta(ay, by + bx) - ln_beta(ay, by);
    let step = |i: f64| ((ay + i) * (bx + i) / ((ay + by + bx + i) * (1.0 + i))).ln();
    // Pass 1: the largest log-term; pass 2: the sum scaled by it.
    let (mut lt, mut max) = (first, first);
    for i in 0..x.a.saturating_sub(1) {
        lt += step(i as f64);
        max = max.max(lt);
    }
    let (mut lt, mut sum) = (first, (first - max).exp());
    for i in 0..x.a.saturating_sub(1) {
        lt += step(i as f64);
        sum += (lt - max).exp();
    }
    (max + sum.ln()).exp().clamp(0.0, 1.0)
}

/// Beta-binomial comparison of two conversion counts.
pub fn proportions(control: Counts, variant: Counts) -> Result<BayesResult, StatsError> {
    for c in [control, variant] {
        if c.trials == 0 || c.successes > c.trials {
            return Err(super::domain("counts", format!("{} successes out of {} trials", c.successes, c.trials)));
        }
    }
    let (c, v) = (Beta::posterior(control), Beta::posterior(variant));
    let bump = |p: Beta| Beta { a: p.a + 1, b: p.b };
    let loss = |worse: Beta, better: Beta| {
        (better.mean() * prob_greater(bump(better), worse) - worse.mean() * prob_greater(better, bump(worse))).max(0.0)
    };
    Ok(BayesResult {
        chance_to_beat_control: prob_greater(v, c),
        expected_loss_variant: loss(v, c),
        expected_loss_control: loss(c, v),
    })
}

/// Normal approximation for means: each mean ~ N(mean, sd^2 / n), flat prior.
pub fn means(control: Summary, variant: Summary) -> Result<BayesResult, StatsError> {
    if control.n < 2 || variant.n < 2 {
        return Err(super::domain("summary", "a sample needs at least 2 values"));
    }
    let diff = variant.mean - control.mean;
    let se = (control.var_of_mean() + variant.var_of_mean()).sqrt();
    if se == 0.0 {
        let chance = if diff > 0.0 {
            1.0
        } else if diff < 0.0 {
            0.0
        } else {
            0.5
        };
        return Ok(BayesResult {
            chance_to_beat_control: chance,
            expected_loss_variant: (-diff).max(0.0),
            expected_loss_control: diff.max(0.0),
        });
    }
    let n = std_normal();
    let z = diff / se;
    // For D ~ N(m, s^2): E[max(D, 0)] = m Phi(m/s) + s phi(m/s).
    let positive_part = |m: f64| m * n.cdf(m / se) + se * n.pdf(m / se);
    Ok(BayesResult {
        chance_to_beat_control: n.cdf(z),
        expected_loss_variant: positive_part(-diff),
        expected_loss_control: positive_part(diff),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_beta_agrees_with_statrs_where_statrs_is_exact_enough() {
        for (a, b) in [(10.0, 10.0), (12.5, 300.0), (3.0, 40.0), (1000.0, 9000.0), (2.0, 3.0)] {
            let (ours, theirs) = (ln_beta(a, b), statrs_ln_beta(a, b));
            assert!(((ours - theirs) / theirs).abs() < 1e-12, "B({a}, {b}): {ours} vs {theirs}");
        }
    }
}
