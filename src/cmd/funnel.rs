//! `cxp funnel`: customers through ordered steps, with conversion and drop-off.

use std::process::ExitCode;

use cxp_query::analytics::funnel::FunnelSpec;
use cxp_query::api::analytics::{FunnelReport, FunnelStep};
use cxp_query::segment::duration;

use super::source::{Source, SourceArgs, parse_duration, parse_when};

/// Arguments of `cxp funnel`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// The steps' events, in order (`signup page_view add_to_cart order`).
    #[arg(required = true, num_args = 1..=32)]
    steps: Vec<String>,
    /// Each step within this long after the previous one (`7d`).
    #[arg(long, value_parser = parse_duration)]
    step_window: Option<i64>,
    /// Every step within this long after the first (`30d`).
    #[arg(long, value_parser = parse_duration)]
    window: Option<i64>,
    /// First steps from this time on: RFC 3339, ns, or a duration before now (default: all).
    #[arg(long, value_parser = parse_when)]
    from: Option<i64>,
    /// Events before this time (default now).
    #[arg(long, value_parser = parse_when)]
    at: Option<i64>,
    /// Break down by this tag or field of the first step (`channel`).
    #[arg(long)]
    by: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `cxp funnel`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = args.source.open()?;
    let at = args.at.unwrap_or_else(cxp_store::now_ns);
    let report: FunnelReport = match &source {
        Source::Local { store, .. } => {
            let spec = FunnelSpec {
                steps: args.steps.clone(),
                step_window: args.step_window,
                window: args.window,
                from: args.from.unwrap_or(i64::MIN),
                at,
                breakdown: args.by.clone(),
            };
            cxp_query::analytics::funnel_report(store, &spec)?
        }
        Source::Remote(r) => {
            let mut q = vec![("steps", args.steps.join(",")), ("at", at.to_string())];
            for (k, v) in [("step_window", args.step_window), ("window", args.window), ("from", args.from)] {
                if let Some(v) = v {
                    q.push((k, if k == "from" { v.to_string() } else { duration(v) }));
                }
            }
            if let Some(b) = &args.by {
                q.push(("by", b.clone()));
            }
            r.get("/api/v1/funnel", &q)?
        }
    };
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_steps(&report.steps)?;
        for g in &report.groups {
            crate::outln!("{} = {}:", report.breakdown.as_deref().unwrap_or(""), g.value)?;
            print_steps(&g.steps)?;
        }
    }
    source.close()?;
    Ok(ExitCode::SUCCESS)
}

fn print_steps(steps: &[FunnelStep]) -> anyhow::Result<()> {
    crate::outln!(
        "  {:<4} {:<20} {:>10} {:>9} {:>9} {:>9}",
        "step",
        "event",
        "customers",
        "of first",
        "of prev",
        "dropped"
    )?;
    for (i, s) in steps.iter().enumerate() {
        crate::outln!(
            "  {:<4} {:<20} {:>10} {:>8.1}% {:>8.1}% {:>9}",
            i + 1,
            s.event,
            s.customers,
            s.conversion * 100.0,
            s.step_conversion * 100.0,
            s.dropped
        )?;
    }
    Ok(())
}
