//! `cxp cluster`: customers clustered by k-means++ on standardised features.

use std::process::ExitCode;

use cxp_query::analytics::cluster::ClusterSpec;
use cxp_query::api::analytics::ClusterReport;

use super::source::{Source, SourceArgs, parse_when};

/// Arguments of `cxp cluster`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// A numeric feature (repeatable): `spend_90d`, `count(order, 90d)`, `trait.age`; default:
    /// RFM (days since the last order, orders, money spent).
    #[arg(long = "feature")]
    features: Vec<String>,
    /// Clusters to try: `4`, `2..8` or `3,5,7`; the best silhouette wins.
    #[arg(long, default_value = "2..8")]
    k: String,
    /// Seed (same data, k and seed: same clusters).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Query time (default now).
    #[arg(long, value_parser = parse_when)]
    at: Option<i64>,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `cxp cluster`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ks = cxp_query::analytics::cluster::parse_ks(&args.k).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let source = args.source.open()?;
    let at = args.at.unwrap_or_else(cxp_store::now_ns);
    let report: ClusterReport = match &source {
        Source::Local { store, .. } => {
            let spec = ClusterSpec { features: args.features.clone(), ks, seed: args.seed, ..ClusterSpec::rfm(at) };
            cxp_query::analytics::cluster::cluster(store, &spec, &source.definitions())?
        }
        Source::Remote(r) => {
            let mut q = vec![("at", at.to_string()), ("k", args.k.clone()), ("seed", args.seed.to_string())];
            if !args.features.is_empty() {
                q.push(("features", args.features.join(";")));
            }
            r.get("/api/v1/cluster", &q)?
        }
    };
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        crate::outln!("{} customers clustered ({} without every feature left out)", report.customers, report.left_out)?;
        crate::outln!("{:>3} {:>14} {:>11}", "k", "inertia", "silhouette")?;
        for t in &report.tries {
            let mark = if t.k == report.k { "  <- kept" } else { "" };
            crate::outln!("{:>3} {:>14.2} {:>11.4}{mark}", t.k, t.inertia, t.silhouette)?;
        }
        let head: Vec<String> = report.features.iter().map(|f| format!("{f:>16}")).collect();
        crate::outln!("{:>7} {:>9} {:>6} {}", "cluster", "customers", "share", head.join(" "))?;
        for c in &report.clusters {
            let means: Vec<String> = c.means.iter().map(|m| format!("{m:>16.2}")).collect();
            crate::outln!("{:>7} {:>9} {:>5.1}% {}", c.cluster, c.customers, c.share * 100.0, means.join(" "))?;
        }
    }
    source.close()?;
    Ok(ExitCode::SUCCESS)
}
