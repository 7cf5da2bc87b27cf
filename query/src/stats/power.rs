//! Sample size and power for a two-sided comparison of two rates with equal groups, by the
//! normal approximation without continuity correction: Fleiss, Levin & Paik, *Statistical
//! Methods for Rates and Proportions* (3rd ed.), 4.2, the formula R's `power.prop.test` solves
//! (with `strict = FALSE`):
//! n = (z_{1-a/2} sqrt(2 pbar qbar) + z_{power} sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2.

use statrs::distribution::ContinuousCDF;

use super::{StatsError, check_alpha, domain, std_normal, z_crit};

/// A planned test and the customers it needs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// Control rate.
    pub baseline: f64,
    /// Smallest absolute difference worth detecting.
    pub mde: f64,
    /// Chance of detecting it when it is there.
    pub power: f64,
    /// Two-sided significance level.
    pub alpha: f64,
    /// Customers per variant, before rounding up.
    pub exact_per_variant: f64,
    /// Customers per variant.
    pub per_variant: u64,
}

/// Customers per variant to detect `baseline + mde` against `baseline`.
pub fn sample_size(baseline: f64, mde: f64, power: f64, alpha: f64) -> Result<Plan, StatsError> {
    check_alpha(alpha)?;
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err(domain("baseline", format!("a rate between 0 and 1, not {baseline}")));
    }
    let p2 = baseline + mde;
    if mde == 0.0 || !(p2 > 0.0 && p2 < 1.0) {
        return Err(domain(
            "mde",
            format!("baseline + mde must be a rate between 0 and 1 other than the baseline, not {p2}"),
        ));
    }
    if !(power > alpha && power < 1.0) {
        return Err(domain("power", format!("between alpha and 1, not {power}")));
    }
    let p1 = baseline;
    let pbar = (p1 + p2) / 2.0;
    let za = z_crit(alpha)?;
    let zb = std_normal().inverse_cdf(power);
    let num = za * (2.0 * pbar * (1.0 - pbar)).sqrt() + zb * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = (num / mde).powi(2);
    Ok(Plan { baseline, mde, power, alpha, exact_per_variant: n, per_variant: n.ceil() as u64 })
}

/// The power of the same test with `n` customers per variant.
pub fn power_of(baseline: f64, mde: f64, n: f64, alpha: f64) -> Result<f64, StatsError> {
    let za = z_crit(alpha)?;
    let (p1, p2) = (baseline, baseline + mde);
    let pbar = (p1 + p2) / 2.0;
    let x =
        (n.sqrt() * mde.abs() - za * (2.0 * pbar * (1.0 - pbar)).sqrt()) / (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    Ok(std_normal().cdf(x))
}
