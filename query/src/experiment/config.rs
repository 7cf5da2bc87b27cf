//! Experiment definitions: a TOML file with one table per experiment.
//!
//! ```toml
//! [checkout_button]
//! description = "Green checkout button"
//! variants = [{ name = "control", weight = 50 }, { name = "green", weight = 50 }]
//! eligible = "did(page_view, 30d)"          # segment expression; default everyone
//! primary = { name = "purchase", kind = "conversion", event = "order", window = "7d" }
//! guardrails = [{ name = "revenue", kind = "sum", event = "order", field = "amount", window = "7d" }]
//! plan = { baseline = 0.10, mde = 0.02, power = 0.8 }
//! ```
//!
//! Multivariate tests name `factors` instead of `variants`; the variants are then every
//! combination of levels (`blue+short`), with equal weights, and results are also given per
//! factor. Everything is checked when the file is read, with the experiment and key named.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::stats::power::{Plan, sample_size};

/// Why a definition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExperimentError {
    /// Not TOML, or keys of the wrong type.
    #[error("experiments file: {0}")]
    Syntax(String),
    /// A value that does not make sense.
    #[error("experiment {experiment:?}: {key}: {why}")]
    Invalid {
        /// The experiment.
        experiment: String,
        /// The key.
        key: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// A variant and its share of traffic.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Variant {
    /// Name, as logged in exposures.
    pub name: String,
    /// Relative weight.
    pub weight: f64,
}

/// How a metric reads a customer's events after exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Whether the customer had the event in the window: a rate.
    Conversion,
    /// Sum of a field over the customer's events in the window (0 without any).
    Sum,
    /// Mean of a field over the customer's events in the window (customers without any are
    /// left out).
    Mean,
}

/// A metric of an experiment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metric {
    /// Name in results.
    pub name: String,
    /// What is measured.
    pub kind: MetricKind,
    /// Event read.
    pub event: String,
    /// Field summed or averaged (sum and mean).
    pub field: Option<String>,
    /// Events at or after exposure and this long after it, ns.
    pub window_ns: i64,
}

/// Where exposures are logged: events of `event` whose `experiment` column holds the
/// experiment's name and whose `variant` column the variant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exposure {
    /// Event name.
    pub event: String,
    /// Tag or field with the experiment name.
    pub experiment: String,
    /// Tag or field with the variant name.
    pub variant: String,
}

impl Default for Exposure {
    fn default() -> Self {
        Exposure { event: "experiment_viewed".into(), experiment: "experiment".into(), variant: "variant".into() }
    }
}

/// A factor of a multivariate test.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Factor {
    /// Name.
    pub name: String,
    /// Levels; the first is the control level.
    pub levels: Vec<String>,
}

/// One experiment, checked.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Experiment {
    /// Name (the table's key).
    pub name: String,
    /// What it tests.
    pub description: String,
    /// Hash salt (default: the name, as GrowthBook seeds by the experiment key).
    pub salt: String,
    /// Variants; the first is the control.
    pub variants: Vec<Variant>,
    /// Share of eligible customers in the experiment, 0 to 1.
    pub coverage: f64,
    /// Segment expression of who may be assigned (`None`: everyone).
    pub eligible: Option<String>,
    /// Exposure logging.
    pub exposure: Exposure,
    /// The metric the decision is made on.
    pub primary: Metric,
    /// Metrics that must not get worse.
    pub guardrails: Vec<Metric>,
    /// Significance level.
    pub alpha: f64,
    /// Planned sample size, when given.
    pub plan: Option<Plan>,
    /// Exposures from this time, ns.
    pub start: Option<i64>,
    /// Exposures before this time, ns.
    pub end: Option<i64>,
    /// Factors of a multivariate test (empty: a plain A/B/n test).
    pub factors: Vec<Factor>,
}

impl Experiment {
    /// The primary metric, then the guardrails.
    pub fn metrics(&self) -> impl Iterator<Item = (&Metric, bool)> {
        std::iter::once((&self.primary, false)).chain(self.guardrails.iter().map(|g| (g, true)))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExperiment {
    #[serde(default)]
    description: String,
    salt: Option<String>,
    #[serde(default)]
    variants: Vec<RawVariant>,
    #[serde(default)]
    factors: BTreeMap<String, Vec<String>>,
    coverage: Option<f64>,
    eligible: Option<String>,
    exposure: Option<RawExposure>,
    primary: RawMetric,
    #[serde(default)]
    guardrails: Vec<RawMetric>,
    alpha: Option<f64>,
    plan: Option<RawPlan>,
    start: Option<toml::value::Datetime>,
    end: Option<toml::value::Datetime>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawVariant {
    Name(String),
    Weighted { name: String, weight: f64 },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExposure {
    event: Option<String>,
    experiment: Option<String>,
    variant: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    name: Option<String>,
    kind: MetricKind,
    event: String,
    field: Option<String>,
    window: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    baseline: f64,
    mde: f64,
    #[serde(default = "default_power")]
    power: f64,
}

fn default_power() -> f64 {
    0.8
}

/// Parses and checks an experiments file.
pub fn parse_file(text: &str) -> Result<Vec<Experiment>, ExperimentError> {
    let raw: BTreeMap<String, RawExperiment> =
        toml::from_str(text).map_err(|e| ExperimentError::Syntax(e.to_string()))?;
    raw.into_iter().map(|(name, r)| check(name, r)).collect()
}

fn check(name: String, r: RawExperiment) -> Result<Experiment, ExperimentError> {
    let bad = |key: &'static str, why: String| ExperimentError::Invalid { experiment: name.clone(), key, why };
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) {
        return Err(bad("name", "letters, digits, '_', '-' and '.' only".into()));
    }
    let (variants, factors) = match (r.variants.is_empty(), r.factors.is_empty()) {
        (false, true) => {
            let vs: Vec<Variant> = r
                .variants
                .into_iter()
                .map(|v| match v {
                    RawVariant::Name(name) => Variant { name, weight: 1.0 },
                    RawVariant::Weighted { name, weight } => Variant { name, weight },
                })
                .collect();
            (vs, Vec::new())
        }
        (true, false) => {
            let factors: Vec<Factor> = r.factors.into_iter().map(|(name, levels)| Factor { name, levels }).collect();
            if let Some(f) = factors.iter().find(|f| f.levels.len() < 2) {
                return Err(bad("factors", format!("factor {:?} needs at least two levels", f.name)));
            }
            let mut names = vec![String::new()];
            for f in &factors {
                names = names
                    .iter()
                    .flat_map(|n| {
                        f.levels.iter().map(move |l| if n.is_empty() { l.clone() } else { format!("{n}+{l}") })
                    })
                    .collect();
            }
            (names.into_iter().map(|name| Variant { name, weight: 1.0 }).collect(), factors)
        }
        (false, false) => return Err(bad("variants", "give variants or factors, not both".into())),
        (true, true) => return Err(bad("variants", "no variants (or factors) given".into())),
    };
    if variants.len() < 2 {
        return Err(bad("variants", "an experiment needs a control and at least one variant".into()));
    }
    if let Some(v) = variants.iter().find(|v| !(v.weight.is_finite() && v.weight > 0.0)) {
        return Err(bad("variants", format!("variant {:?} has weight {}, which is not positive", v.name, v.weight)));
    }
    let mut seen: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    seen.sort_unstable();
    if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
        return Err(bad("variants", format!("variant {:?} appears twice", w[0])));
    }
    let coverage = r.coverage.unwrap_or(1.0);
    if !(coverage > 0.0 && coverage <= 1.0) {
        return Err(bad("coverage", format!("between 0 (exclusive) and 1, not {coverage}")));
    }
    let alpha = r.alpha.unwrap_or(0.05);
    if !(alpha > 0.0 && alpha < 0.5) {
        return Err(bad("alpha", format!("between 0 and 0.5, not {alpha}")));
    }
    let metric = |m: RawMetric, key: &'static str| -> Result<Metric, ExperimentError> {
        let window_ns =
            cxp_store::profile::parse_window(&m.window).map_err(|e| bad(key, format!("window {:?}: {e}", m.window)))?;
        if window_ns <= 0 {
            return Err(bad(key, format!("window {:?} must be positive", m.window)));
        }
        match (m.kind, &m.field) {
            (MetricKind::Conversion, Some(f)) => {
                return Err(bad(key, format!("a conversion counts customers; field {f:?} is not used")));
            }
            (MetricKind::Sum | MetricKind::Mean, None) => {
                return Err(bad(key, "sum and mean metrics need the field to read".into()));
            }
            _ => {}
        }
        Ok(Metric {
            name: m.name.unwrap_or_else(|| m.event.clone()),
            kind: m.kind,
            event: m.event,
            field: m.field,
            window_ns,
        })
    };
    let primary = metric(r.primary, "primary")?;
    let guardrails = r.guardrails.into_iter().map(|g| metric(g, "guardrails")).collect::<Result<Vec<_>, _>>()?;
    let plan = match r.plan {
        Some(p) => Some(sample_size(p.baseline, p.mde, p.power, alpha).map_err(|e| bad("plan", e.to_string()))?),
        None => None,
    };
    let time = |d: Option<toml::value::Datetime>, key: &'static str| -> Result<Option<i64>, ExperimentError> {
        d.map(|d| datetime_ns(&d).map_err(|e| bad(key, e))).transpose()
    };
    let exposure = match r.exposure {
        None => Exposure::default(),
        Some(e) => {
            let d = Exposure::default();
            Exposure {
                event: e.event.unwrap_or(d.event),
                experiment: e.experiment.unwrap_or(d.experiment),
                variant: e.variant.unwrap_or(d.variant),
            }
        }
    };
    Ok(Experiment {
        salt: r.salt.unwrap_or_else(|| name.clone()),
        description: r.description,
        variants,
        coverage,
        eligible: r.eligible,
        exposure,
        primary,
        guardrails,
        alpha,
        plan,
        start: time(r.start, "start")?,
        end: time(r.end, "end")?,
        factors,
        name,
    })
}

/// A TOML date-time as ns since the epoch; a date alone is midnight UTC, a time without an
/// offset is refused (its zone would be a guess).
fn datetime_ns(d: &toml::value::Datetime) -> Result<i64, String> {
    let date = d.date.ok_or_else(|| format!("{d} has no date"))?;
    let (y, m, day) = (i64::from(date.year), i64::from(date.month), i64::from(date.day));
    // Days from civil (Howard Hinnant's algorithm), proleptic Gregorian.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut secs = days * 86_400;
    let mut nanos = 0i64;
    if let Some(t) = d.time {
        let offset_min = match d.offset {
            Some(toml::value::Offset::Z) => 0,
            Some(toml::value::Offset::Custom { minutes }) => i64::from(minutes),
            None => return Err(format!("{d} has no time zone: add Z or an offset such as +01:00")),
        };
        secs +=
            i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second.unwrap_or(0)) - offset_min * 60;
        nanos = i64::from(t.nanosecond.unwrap_or(0));
    }
    Ok(secs * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[checkout]
variants = ["control", { name = "green", weight = 3 }]
primary = { kind = "conversion", event = "order", window = "7d" }
guardrails = [{ name = "revenue", kind = "sum", event = "order", field = "amount", window = "7d" }]
plan = { baseline = 0.1, mde = 0.02 }
start = 2026-11-01T00:00:00Z
end = 2026-11-02

[layout]
factors = { color = ["blue", "green"], copy = ["short", "long", "story"] }
primary = { kind = "mean", event = "order", field = "amount", window = "24h" }
"#;

    #[test]
    fn parses_variants_factors_metrics_and_times() {
        let exps = parse_file(BASE).expect("valid");
        let c = &exps[0];
        assert_eq!((c.name.as_str(), c.salt.as_str()), ("checkout", "checkout"));
        assert_eq!(c.variants.iter().map(|v| v.weight).collect::<Vec<_>>(), [1.0, 3.0]);
        assert_eq!(c.primary.name, "order");
        assert_eq!(c.primary.window_ns, 7 * 86_400 * 1_000_000_000);
        assert_eq!(c.plan.map(|p| p.per_variant), Some(3841));
        // 2026-11-01T00:00:00Z = 1793491200 s (date -d 2026-11-01T00:00:00Z +%s).
        assert_eq!(c.start, Some(1_793_491_200_000_000_000));
        assert_eq!(c.end, Some(1_793_577_600_000_000_000));
        assert_eq!(c.exposure, Exposure::default());
        let l = &exps[1];
        assert_eq!(l.variants.len(), 6);
        assert_eq!(l.variants[0].name, "blue+short");
        assert_eq!(l.variants[5].name, "green+story");
    }

    #[test]
    fn refuses_what_is_wrong_and_names_it() {
        let cases = [
            (
                "[a]\nvariants = [\"x\"]\nprimary = { kind = \"conversion\", event = \"o\", window = \"7d\" }",
                "variants",
            ),
            (
                "[a]\nvariants = [\"x\", \"x\"]\nprimary = { kind = \"conversion\", event = \"o\", window = \"7d\" }",
                "twice",
            ),
            (
                "[a]\nvariants = [\"x\", \"y\"]\nprimary = { kind = \"sum\", event = \"o\", window = \"7d\" }",
                "need the field",
            ),
            (
                "[a]\nvariants = [\"x\", \"y\"]\nprimary = { kind = \"conversion\", event = \"o\", window = \"7x\" }",
                "window",
            ),
            (
                "[a]\nvariants = [\"x\", \"y\"]\nprimary = { kind = \"conversion\", event = \"o\", window = \"7d\" }\nalpha = 2",
                "alpha",
            ),
            (
                "[a]\nvariants = [\"x\", \"y\"]\nprimary = { kind = \"conversion\", event = \"o\", window = \"7d\" }\ncolour = 1",
                "unknown field",
            ),
            (
                "[a]\nvariants = [\"x\", \"y\"]\nprimary = { kind = \"conversion\", event = \"o\", window = \"7d\" }\nstart = 2026-01-01T00:00:00",
                "time zone",
            ),
        ];
        for (text, want) in cases {
            let e = parse_file(text).expect_err(text).to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
