//! `cxp search`: find customers by name, identifier or what they wrote.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cxp search`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory of the store.
    #[arg(long, env = "CXP_DATA")]
    data: PathBuf,
    /// Words that must all match (Chinese or English), or one identifier.
    query: String,
    /// Best matches to show.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `cxp search`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.data, cxp_store::StoreOptions { search: true, ..super::saved_options() })?;
    // An index that was missing or behind is caught up at open; wait until it is searchable.
    store.search_flush()?;
    let result = store.search(&args.query, args.limit)?;
    let name = |root: u32| store.customer_id(root).map_or_else(|| format!("#{root}"), |(t, id)| format!("{t}={id}"));
    if args.json {
        let top: Vec<_> = result
            .top
            .iter()
            .map(|h| serde_json::json!({"customer": name(h.root), "score": h.score, "snippet": h.snippet}))
            .collect();
        crate::outln!("{}", serde_json::json!({"matches": result.customers.len(), "top": top}))?;
    } else {
        crate::outln!("{} customers match {:?}", result.customers.len(), args.query)?;
        for h in &result.top {
            crate::outln!("  {:<24} {:>6.2}  {}", name(h.root), h.score, h.snippet)?;
        }
    }
    store.close()?;
    Ok(ExitCode::SUCCESS)
}
