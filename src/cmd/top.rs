//! `cxp top`: the operator console, live against a running daemon (locally or over SSH).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `cxp top`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The daemon's HTTP address.
    #[arg(long, default_value = "127.0.0.1:8086", env = "CXP_ADDR")]
    addr: String,
    /// API token; without it, the admin token of `--data` is used.
    #[arg(long, env = "CXP_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Data directory of the daemon (for its admin token, when on the same machine).
    #[arg(long, env = "CXP_DATA")]
    data: Option<PathBuf>,
    /// How often to refresh (at least 250ms).
    #[arg(long, default_value = "1s", value_parser = parse_every)]
    refresh: Duration,
    /// ASCII glyphs only (automatic for TERM=linux and non-UTF-8 locales).
    #[arg(long)]
    ascii: bool,
    /// Colour: auto follows NO_COLOR.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    color: String,
    /// Draw even in a terminal smaller than 60x16.
    #[arg(long)]
    no_size_check: bool,
}

fn parse_every(s: &str) -> Result<Duration, String> {
    cxp_tui::app::parse_every(s).ok_or_else(|| format!("{s:?}: give a time like 2s or 500ms, at least 250ms"))
}

/// Runs `cxp top`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let token = match (args.token, &args.data) {
        (Some(t), _) => Some(t),
        (None, Some(dir)) => {
            let path = dir.join("admin.token");
            let t = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("reading the admin token {}: {e} (give --token)", path.display()))?;
            Some(t.trim().to_owned())
        }
        (None, None) => None,
    };
    let color = match args.color.as_str() {
        "always" => Some(true),
        "never" => Some(false),
        _ => None,
    };
    cxp_tui::run(cxp_tui::TopOptions {
        addr: args.addr,
        token,
        every: args.refresh,
        ascii: args.ascii,
        color,
        no_size_check: args.no_size_check,
    })?;
    Ok(ExitCode::SUCCESS)
}
