//! `cxp stats`: the store's figures, or the experiment engine's tests on summary numbers
//! (`proportions`, `means`) for analysts who have only counts, means and deviations.

use std::process::ExitCode;

use cxp_query::stats::bayes::{self, BayesResult};
use cxp_query::stats::means::{MeansTest, Summary, welch};
use cxp_query::stats::proportions::{Counts, ProportionsTest, two_proportions};

use super::compact::StatsArgs;

/// Arguments of `cxp stats`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    test: Option<Test>,
    #[command(flatten)]
    store: StatsArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Test {
    /// Two-sided two-proportion z-test (pooled variance) with the interval of the difference
    /// (unpooled) and of the relative lift, plus the Bayesian chance to beat control.
    Proportions {
        /// Control conversions/exposures, e.g. 120/1000.
        #[arg(long, value_parser = parse_counts)]
        control: Counts,
        /// Variant conversions/exposures.
        #[arg(long, value_parser = parse_counts)]
        variant: Counts,
        /// Significance level; intervals are for 1 - alpha.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Welch's t-test on two samples given as MEAN,SD,N, plus the Bayesian chance to beat
    /// control (normal approximation).
    Means {
        /// Control mean, standard deviation and size, e.g. 10.2,3.1,500.
        #[arg(long, value_parser = parse_summary, allow_hyphen_values = true)]
        control: Summary,
        /// Variant mean, standard deviation and size.
        #[arg(long, value_parser = parse_summary, allow_hyphen_values = true)]
        variant: Summary,
        /// Significance level; intervals are for 1 - alpha.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn parse_counts(s: &str) -> Result<Counts, String> {
    Counts::parse(s).map_err(|e| e.to_string())
}

fn parse_summary(s: &str) -> Result<Summary, String> {
    Summary::parse(s).map_err(|e| e.to_string())
}

/// What `--json` prints for `proportions`.
#[derive(Debug, serde::Serialize)]
struct ProportionsOut {
    control: Counts,
    variant: Counts,
    test: ProportionsTest,
    bayes: BayesResult,
}

/// What `--json` prints for `means`.
#[derive(Debug, serde::Serialize)]
struct MeansOut {
    control: Summary,
    variant: Summary,
    test: MeansTest,
    bayes: BayesResult,
}

/// Runs `cxp stats`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.test {
        None => return super::compact::stats(&args.store),
        Some(Test::Proportions { control, variant, alpha, json }) => {
            let test = two_proportions(control, variant, alpha)?;
            let bayes = bayes::proportions(control, variant)?;
            if json {
                let out = ProportionsOut { control, variant, test, bayes };
                crate::outln!("{}", serde_json::to_string_pretty(&out)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            let conf = ((1.0 - alpha) * 1e8).round() / 1e6;
            crate::outln!("control     {}/{} = {:.3}%", control.successes, control.trials, test.control_rate * 100.0)?;
            crate::outln!("variant     {}/{} = {:.3}%", variant.successes, variant.trials, test.variant_rate * 100.0)?;
            crate::outln!(
                "difference  {:+.3} pp, {conf}% CI [{:+.3}, {:+.3}] pp",
                test.difference * 100.0,
                test.difference_ci.low * 100.0,
                test.difference_ci.high * 100.0
            )?;
            print_relative(test.relative_lift, test.relative_ci, conf)?;
            crate::outln!("z = {:.4}, two-sided p = {:.6}{}", test.z, test.p_value, verdict(test.p_value, alpha))?;
            print_bayes(&bayes, 100.0, " pp")?;
        }
        Some(Test::Means { control, variant, alpha, json }) => {
            let test = welch(control, variant, alpha)?;
            let bayes = bayes::means(control, variant)?;
            if json {
                let out = MeansOut { control, variant, test, bayes };
                crate::outln!("{}", serde_json::to_string_pretty(&out)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            let conf = ((1.0 - alpha) * 1e8).round() / 1e6;
            crate::outln!("control     mean {} (sd {}, n {})", control.mean, control.sd, control.n)?;
            crate::outln!("variant     mean {} (sd {}, n {})", variant.mean, variant.sd, variant.n)?;
            crate::outln!(
                "difference  {:+.4}, {conf}% CI [{:+.4}, {:+.4}]",
                test.difference,
                test.difference_ci.low,
                test.difference_ci.high
            )?;
            print_relative(test.relative_lift, test.relative_ci, conf)?;
            crate::outln!(
                "Welch t = {:.4}, df = {:.2}, two-sided p = {:.6}{}",
                test.t,
                test.df,
                test.p_value,
                verdict(test.p_value, alpha)
            )?;
            print_bayes(&bayes, 1.0, "")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verdict(p: f64, alpha: f64) -> String {
    if p < alpha { format!(": significant at alpha {alpha}") } else { format!(": not significant at alpha {alpha}") }
}

fn print_relative(lift: Option<f64>, ci: Option<cxp_query::stats::Interval>, conf: f64) -> std::io::Result<()> {
    match (lift, ci) {
        (Some(l), Some(ci)) => crate::outln!(
            "relative    {:+.2}%, {conf}% CI [{:+.2}%, {:+.2}%]",
            l * 100.0,
            ci.low * 100.0,
            ci.high * 100.0
        ),
        _ => crate::outln!("relative    undefined (the control is 0)"),
    }
}

fn print_bayes(b: &BayesResult, scale: f64, unit: &str) -> std::io::Result<()> {
    crate::outln!(
        "Bayesian    chance to beat control {:.2}%, expected loss: variant {:.4}{unit}, control {:.4}{unit}",
        b.chance_to_beat_control * 100.0,
        b.expected_loss_variant * scale,
        b.expected_loss_control * scale
    )
}
