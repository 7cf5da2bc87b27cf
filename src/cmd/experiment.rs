//! `cxp experiment`: list, show (definition and results), assign, plan.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cxp_query::api::{AssignmentDoc, ExperimentDoc, ExperimentResults, MetricResult};
use cxp_query::experiment::{self, Experiment, MetricKind};
use cxp_query::stats::power::{Plan, sample_size};

use super::source::{Source, SourceArgs, parse_when};

/// `cxp experiment ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The experiments defined, with their variants and metrics.
    List {
        #[command(flatten)]
        source: ExpSource,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// An experiment's results: exposures, metrics per variant, tests against the control,
    /// sample ratio check and warnings.
    Show {
        #[command(flatten)]
        source: ExpSource,
        /// Experiment name.
        name: String,
        /// Results as of: RFC 3339, ns, or a duration before now; default now.
        #[arg(long, value_parser = parse_when)]
        at: Option<i64>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The variant of each customer (sticky: the same every time, here and in GrowthBook's
    /// SDKs). Through a daemon (`--addr`), the exposure is also logged.
    Assign {
        #[command(flatten)]
        source: ExpSource,
        /// Experiment name.
        name: String,
        /// Customer identifiers.
        #[arg(required = true)]
        customers: Vec<String>,
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Customers needed per variant to detect a change of a conversion rate.
    Plan {
        /// Control conversion rate, e.g. 0.1.
        #[arg(long)]
        baseline: f64,
        /// Smallest change worth detecting, absolute (0.02 = 10% -> 12%), or relative with
        /// `--relative`.
        #[arg(long, allow_hyphen_values = true)]
        mde: f64,
        /// `--mde` is relative to the baseline (0.2 = 10% -> 12%).
        #[arg(long)]
        relative: bool,
        /// Chance of detecting the change when it is there.
        #[arg(long, default_value_t = 0.8)]
        power: f64,
        /// Two-sided significance level.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Variants including the control.
        #[arg(long, default_value_t = 2)]
        variants: u32,
        /// Eligible customers per day, to say how long the test runs.
        #[arg(long)]
        daily: Option<u64>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A source and the experiments file.
#[derive(Debug, clap::Args)]
pub struct ExpSource {
    #[command(flatten)]
    source: SourceArgs,
    /// Experiments file (default with `--data`: `experiments.toml` in the data directory).
    #[arg(long, value_name = "FILE")]
    experiments: Option<PathBuf>,
}

impl ExpSource {
    fn experiments(&self) -> anyhow::Result<Vec<Experiment>> {
        let file = self.experiments.clone().or_else(|| self.source.data_dir().map(|d| d.join("experiments.toml")));
        match file {
            Some(f) if f.exists() || self.experiments.is_some() => read_experiments(&f),
            _ => Ok(Vec::new()),
        }
    }
}

/// The experiments of a file, with the file named in errors.
pub fn read_experiments(path: &Path) -> anyhow::Result<Vec<Experiment>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    experiment::parse_file(&text).with_context(|| format!("in {}", path.display()))
}

fn find<'e>(exps: &'e [Experiment], name: &str) -> anyhow::Result<&'e Experiment> {
    exps.iter().find(|e| e.name == name).with_context(|| {
        let names: Vec<&str> = exps.iter().map(|e| e.name.as_str()).collect();
        format!("no experiment {name:?} (defined: {})", if names.is_empty() { "none".into() } else { names.join(", ") })
    })
}

/// Runs `cxp experiment`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Plan { baseline, mde, relative, power, alpha, variants, daily, json } => {
            let mde = if relative { baseline * mde } else { mde };
            let plan = sample_size(baseline, mde, power, alpha)?;
            print_plan(&plan, variants, daily, json)?;
        }
        Command::List { source, json } => {
            let src = source.source.open()?;
            let docs: Vec<ExperimentDoc> = match &src {
                Source::Local { .. } => {
                    source.experiments()?.into_iter().map(|experiment| ExperimentDoc { experiment }).collect()
                }
                Source::Remote(r) => r.get("/api/v1/experiments", &[])?,
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&docs)?)?;
            } else {
                for d in &docs {
                    let e = &d.experiment;
                    let vs: Vec<&str> = e.variants.iter().map(|v| v.name.as_str()).collect();
                    crate::outln!(
                        "{:<20} {} | primary {} | {}",
                        e.name,
                        vs.join(" / "),
                        e.primary.name,
                        e.description
                    )?;
                }
                if docs.is_empty() {
                    crate::outln!("no experiments defined (experiments.toml in the data directory, or --experiments)")?;
                }
            }
            src.close()?;
        }
        Command::Show { source, name, at, json } => {
            let src = source.source.open()?;
            let at = at.unwrap_or_else(cxp_store::now_ns);
            let r: ExperimentResults = match &src {
                Source::Local { store, .. } => {
                    let exps = source.experiments()?;
                    experiment::results(store, find(&exps, &name)?, at)?
                }
                Source::Remote(r) => {
                    r.get(&format!("/api/v1/experiments/{name}/results"), &[("at", at.to_string())])?
                }
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&r)?)?;
            } else {
                print_results(&r)?;
            }
            src.close()?;
        }
        Command::Assign { source, name, customers, json } => {
            let src = source.source.open()?;
            let at = cxp_store::now_ns();
            for id in &customers {
                let doc: AssignmentDoc = match &src {
                    Source::Local { store, .. } => {
                        let exps = source.experiments()?;
                        let defs = src.definitions();
                        // Named segments by evaluating them (no live membership here).
                        let member = |seg: &str| {
                            let root = store.customer_key(id).ok().flatten().map(|k| store.root(k))?;
                            let answer =
                                cxp_query::segment::query(store, &format!("segment({seg})"), at, &defs).ok()?;
                            Some(answer.members.contains(root))
                        };
                        experiment::assign(store, find(&exps, &name)?, id, at, &defs, &member)?
                    }
                    Source::Remote(r) => {
                        r.post(&format!("/api/v1/experiments/{name}/assign"), &serde_json::json!({ "customer": id }))?
                    }
                };
                if json {
                    crate::outln!("{}", serde_json::to_string(&doc)?)?;
                } else {
                    let what = doc
                        .variant
                        .clone()
                        .unwrap_or_else(|| format!("- ({})", doc.reason.clone().unwrap_or_default()));
                    crate::outln!("{id}\t{what}{}", if doc.logged { "\t(exposure logged)" } else { "" })?;
                }
            }
            src.close()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &Plan, variants: u32, daily: Option<u64>, json: bool) -> anyhow::Result<()> {
    let total = plan.per_variant * u64::from(variants);
    if json {
        let days = daily.filter(|d| *d > 0).map(|d| total.div_ceil(d));
        let out = serde_json::json!({ "plan": plan, "variants": variants, "total": total, "days": days });
        crate::outln!("{}", serde_json::to_string_pretty(&out)?)?;
        return Ok(());
    }
    crate::outln!(
        "to detect {:.4} -> {:.4} ({:+.2}% relative) with power {} at alpha {} (two-sided):",
        plan.baseline,
        plan.baseline + plan.mde,
        plan.mde / plan.baseline * 100.0,
        plan.power,
        plan.alpha
    )?;
    crate::outln!(
        "  {} customers per variant ({:.1} exactly), {total} for {variants} variants",
        plan.per_variant,
        plan.exact_per_variant
    )?;
    if let Some(d) = daily.filter(|d| *d > 0) {
        crate::outln!("  {} days at {d} eligible customers a day", total.div_ceil(d))?;
    }
    if variants > 2 {
        crate::outln!(
            "  (each variant is compared with the control; Holm's correction makes the bar higher with more of them)"
        )?;
    }
    Ok(())
}

fn print_results(r: &ExperimentResults) -> anyhow::Result<()> {
    crate::outln!("experiment {} (alpha {}), took {:.1} ms", r.name, r.alpha, r.took_us as f64 / 1e3)?;
    for v in &r.variants {
        crate::outln!("  {:<16} {:>9} exposed ({:.1}% planned share)", v.name, v.exposed, v.share * 100.0)?;
    }
    crate::outln!(
        "sample ratio: chi-square {:.3}, p = {:.4}{}",
        r.srm.chi_square,
        r.srm.p_value,
        if r.srm.mismatch { "  MISMATCH" } else { "" }
    )?;
    for m in &r.metrics {
        print_metric(m, r.alpha)?;
    }
    for f in &r.factors {
        crate::outln!("factor {} ({}):", f.factor, f.levels.join(" / "))?;
        for m in &f.metrics {
            print_metric(m, r.alpha)?;
        }
    }
    for w in &r.warnings {
        crate::outln!("warning: {w}")?;
    }
    Ok(())
}

fn print_metric(m: &MetricResult, alpha: f64) -> anyhow::Result<()> {
    let rate = m.kind == MetricKind::Conversion;
    crate::outln!("{} {} ({:?}):", if m.guardrail { "guardrail" } else { "primary" }, m.name, m.kind)?;
    for v in &m.values {
        match v.conversions {
            Some(c) => crate::outln!("  {:<16} {:>9}/{:<9} {:>8.3}%", v.group, c, v.customers, v.mean * 100.0)?,
            None => crate::outln!(
                "  {:<16} {:>9} customers, mean {:.4} (sd {:.4})",
                v.group,
                v.customers,
                v.mean,
                v.sd.unwrap_or(0.0)
            )?,
        }
    }
    let conf = ((1.0 - alpha) * 1e8).round() / 1e6;
    for c in &m.comparisons {
        let (scale, unit) = if rate { (100.0, " pp") } else { (1.0, "") };
        let rel = match (c.relative_lift, c.relative_ci) {
            (Some(l), Some(ci)) => format!("{:+.2}% [{:+.2}%, {:+.2}%]", l * 100.0, ci.low * 100.0, ci.high * 100.0),
            _ => "n/a".into(),
        };
        crate::outln!(
            "  {} vs control: {:+.4}{unit} {conf}% CI [{:+.4}, {:+.4}]{unit}, relative {rel}, p {:.4} (Holm {:.4}){}, \
             chance to beat {:.1}%, expected loss {:.4}{unit}",
            c.group,
            c.difference * scale,
            c.difference_ci.low * scale,
            c.difference_ci.high * scale,
            c.p_value,
            c.p_adjusted,
            if c.significant { " significant" } else { "" },
            c.chance_to_beat_control * 100.0,
            c.expected_loss * scale
        )?;
    }
    Ok(())
}
