//! `cxp copurchase`: what the buyers of a product also bought.

use std::process::ExitCode;

use cxp_query::analytics::copurchase::CopurchaseSpec;
use cxp_query::api::analytics::CopurchaseReport;

use super::source::{Source, SourceArgs, parse_when};

/// Arguments of `cxp copurchase`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// The product (the `sku` field of orders).
    sku: String,
    /// Orders before this time: RFC 3339, ns, or a duration before now; default now.
    #[arg(long, value_parser = parse_when)]
    at: Option<i64>,
    /// Orders from this time on (default: all).
    #[arg(long, value_parser = parse_when)]
    from: Option<i64>,
    /// Products to list.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `cxp copurchase`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = args.source.open()?;
    let at = args.at.unwrap_or_else(cxp_store::now_ns);
    let report: CopurchaseReport = match &source {
        Source::Local { store, .. } => {
            let spec = CopurchaseSpec {
                from: args.from.unwrap_or(i64::MIN),
                ..CopurchaseSpec::new(&args.sku, at, args.limit)
            };
            cxp_query::analytics::copurchase_report(store, &spec)?
        }
        Source::Remote(r) => {
            let mut q = vec![("sku", args.sku.clone()), ("at", at.to_string()), ("limit", args.limit.to_string())];
            if let Some(f) = args.from {
                q.push(("from", f.to_string()));
            }
            r.get("/api/v1/copurchase", &q)?
        }
    };
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        crate::outln!("{} customers bought {} ({} bought anything)", report.buyers, report.sku, report.all_buyers)?;
        crate::outln!("{:<16} {:>8} {:>7} {:>6}", "also bought", "buyers", "share", "lift")?;
        for i in &report.items {
            crate::outln!("{:<16} {:>8} {:>6.1}% {:>6.2}", i.sku, i.buyers, i.share * 100.0, i.lift)?;
        }
    }
    source.close()?;
    Ok(ExitCode::SUCCESS)
}
