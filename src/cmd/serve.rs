//! `cxp serve`: the daemon. Options come from the config file, then the environment, then
//! flags; `--help` lists every one, and `example.toml` in the daemon crate shows the file.

use std::path::PathBuf;
use std::process::ExitCode;

use cxp_daemon::Config;

/// Arguments of `cxp serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory (store, search index, tokens, audit log). Also `data` in the file.
    #[arg(long, env = "CXP_DATA")]
    data: Option<PathBuf>,
    /// TOML configuration file (see daemon/example.toml for every option).
    #[arg(long, env = "CXP_CONFIG")]
    config: Option<PathBuf>,
    /// HTTP address: InfluxDB /write and /api/v2/write, Segment /v1/*, /api/v1, /metrics
    /// (default 127.0.0.1:8086; "off" disables).
    #[arg(long, env = "CXP_HTTP")]
    http: Option<String>,
    /// Line protocol over TCP (default 127.0.0.1:8094; "off" disables).
    #[arg(long, env = "CXP_LP_TCP")]
    lp_tcp: Option<String>,
    /// Line protocol over UDP (default off).
    #[arg(long, env = "CXP_LP_UDP")]
    lp_udp: Option<String>,
    /// Timestamp precision of UDP line protocol (default ms, what collectd sends).
    #[arg(long, env = "CXP_UDP_PRECISION")]
    udp_precision: Option<String>,
    /// Ingest without a token ("open") or with one ("token", the default).
    #[arg(long, env = "CXP_INGEST_AUTH")]
    ingest_auth: Option<String>,
    /// Log one JSON object per line.
    #[arg(long, env = "CXP_LOG_JSON")]
    log_json: bool,
}

/// Runs `cxp serve` until SIGINT or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(d) = args.data {
        config.data = Some(d);
    }
    let set = |slot: &mut String, v: Option<String>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut config.listen.http, args.http);
    set(&mut config.listen.lp_tcp, args.lp_tcp);
    set(&mut config.listen.lp_udp, args.lp_udp);
    set(&mut config.listen.udp_precision, args.udp_precision);
    set(&mut config.auth.ingest, args.ingest_auth);
    if args.log_json {
        config.log.format = "json".into();
    }
    let resolved = config.resolve()?;
    cxp_daemon::init_logging(resolved.config.log.format == "json", &resolved.config.log.level);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(cxp_daemon::run(resolved, tokio_util::sync::CancellationToken::new(), |bound| {
        // One line on stdout that scripts and tests can wait for.
        if let Some(a) = bound.http {
            println!("http {a}");
        }
        if let Some(a) = bound.lp_tcp {
            println!("lp-tcp {a}");
        }
        if let Some(a) = bound.lp_udp {
            println!("lp-udp {a}");
        }
        println!("ready");
    }))?;
    Ok(ExitCode::SUCCESS)
}
