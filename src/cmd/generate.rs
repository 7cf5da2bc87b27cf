//! `cxp gen`: the synthetic retail stream.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cxp_gen::GenConfig;

/// Arguments of `cxp gen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of customers.
    #[arg(long, default_value_t = 10_000)]
    customers: u64,
    /// Number of events (lines).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Days the stream spans.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Random seed: the same arguments give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `cxp gen`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = GenConfig {
        customers: args.customers,
        events: args.events,
        days: args.days,
        seed: args.seed,
        ..GenConfig::default()
    };
    match &args.out {
        Some(path) => {
            let mut file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            cxp_gen::write_all(config, &mut file).with_context(|| format!("writing {}", path.display()))?;
            file.flush()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match cxp_gen::write_all(config, &mut lock) {
                Ok(_) => {}
                // `cxp gen | head` is normal use, not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).context("writing to standard output"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
