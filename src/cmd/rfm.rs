//! `cxp rfm`: recency, frequency and monetary scores, the R x F grid and the named segments.

use std::process::ExitCode;

use cxp_query::analytics::rfm::RfmOptions;
use cxp_query::api::analytics::RfmReport;

use super::source::{Source, SourceArgs, parse_when};

/// Arguments of `cxp rfm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// Query time: RFC 3339, ns, or a duration before now; default now.
    #[arg(long, value_parser = parse_when)]
    at: Option<i64>,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `cxp rfm`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = args.source.open()?;
    let at = args.at.unwrap_or_else(cxp_store::now_ns);
    let report: RfmReport = match &source {
        Source::Local { store, .. } => cxp_query::analytics::rfm_report(store, &RfmOptions::at(at))?,
        Source::Remote(r) => r.get("/api/v1/rfm", &[("at", at.to_string())])?,
    };
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        crate::outln!("{} customers with an order", report.customers)?;
        crate::outln!(
            "{:<20} {:>9} {:>7} {:>9} {:>8} {:>11} {:>13}",
            "segment",
            "customers",
            "share",
            "recency d",
            "orders",
            "monetary",
            "revenue"
        )?;
        for s in &report.segments {
            crate::outln!(
                "{:<20} {:>9} {:>6.1}% {:>9.1} {:>8.2} {:>11.2} {:>13.2}",
                s.name,
                s.customers,
                s.share * 100.0,
                s.recency_days,
                s.frequency,
                s.monetary,
                s.revenue
            )?;
        }
        crate::outln!("customers by R (rows, 5 = most recent) and F (columns, 5 = most orders):")?;
        crate::outln!("      F=1      F=2      F=3      F=4      F=5")?;
        for r in (1..=5u8).rev() {
            let row: Vec<String> =
                report.grid.iter().filter(|c| c.r == r).map(|c| format!("{:>8}", c.customers)).collect();
            crate::outln!("R={r} {}", row.join(" "))?;
        }
    }
    source.close()?;
    Ok(ExitCode::SUCCESS)
}
