//! `cxp customer`: the 360 view of one customer, as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cxp customer`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory of the store.
    #[arg(long, env = "CXP_DATA")]
    data: PathBuf,
    /// Any identifier: customer id, device id, email, phone (any spelling the dictionary
    /// normalises), member card.
    id: String,
    /// Evaluate computed traits at this time (RFC 3339 or ns); default now.
    #[arg(long, value_parser = super::parse_time)]
    at: Option<i64>,
    /// Recent events to include.
    #[arg(long, default_value_t = 20)]
    events: usize,
}

/// Runs `cxp customer`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.data, super::saved_options())?;
    let Some(out) = cxp_query::api::CustomerDoc::load(&store, &args.id, args.at, args.events)? else {
        eprintln!("cxp: no customer with the identifier {:?}", args.id);
        return Ok(ExitCode::from(1));
    };
    crate::outln!("{}", serde_json::to_string_pretty(&out)?)?;
    Ok(ExitCode::SUCCESS)
}
