//! `cxp demo`: a live retail business on an embedded daemon, in one command. It starts the
//! daemon on a fresh data directory with the demo's segments and automation, loads generated
//! history through the HTTP ingest, trains the models on it, then plays the business live
//! (thousands of events per second) and opens the console on it; `--headless` runs it for a
//! while and prints what happened. Messages go to the file sink in the data directory.

mod business;
mod setup;
mod summary;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use business::{Feed, Shop, Writer};

/// Arguments of `cxp demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory (kept afterwards); without it, a temporary one removed at the end.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Live events per second.
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Customers of the shop.
    #[arg(long, default_value_t = 5_000)]
    customers: u64,
    /// Events of history loaded before the live feed starts.
    #[arg(long, default_value_t = 150_000)]
    history: u64,
    /// Days the history spans, up to now (the churn model needs 60 or more).
    #[arg(long, default_value_t = 120)]
    history_days: u32,
    /// Seed of the generated business.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// No console: run for `--duration`, then print a summary and exit.
    #[arg(long)]
    headless: bool,
    /// How long a headless demo runs (live part).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// The summary as JSON.
    #[arg(long)]
    json: bool,
    /// ASCII glyphs in the console.
    #[arg(long)]
    ascii: bool,
}

/// Runs `cxp demo`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let temp = match &args.data {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("cxp-demo-").tempdir().context("creating a data directory")?),
    };
    let data = args.data.clone().or_else(|| temp.as_ref().map(|t| t.path().to_owned())).context("a data directory")?;
    setup::write_files(&data)?;
    let say = |s: String| {
        if !args.json {
            eprintln!("{s}");
        }
    };
    say(format!("cxp demo: data in {}", data.display()));

    // The daemon, embedded: the same code as `cxp serve`, on ports of its own.
    let mut config = cxp_daemon::Config { data: Some(data.clone()), ..Default::default() };
    config.listen.http = "127.0.0.1:0".into();
    config.listen.lp_tcp = "127.0.0.1:0".into();
    let resolved = config.resolve()?;
    if args.headless {
        cxp_daemon::init_logging(false, "warn");
    }
    let cancel = CancellationToken::new();
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let daemon = {
        let cancel = cancel.clone();
        std::thread::Builder::new().name("cxp-demo-daemon".into()).spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(cxp_daemon::run(resolved, cancel, |bound| {
                let _ = bound_tx.send(bound.http);
            }))?;
            Ok(())
        })?
    };
    let addr = match bound_rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Some(a)) => a,
        _ => {
            cancel.cancel();
            return match daemon.join() {
                Ok(Err(e)) => Err(e.context("starting the daemon")),
                _ => Err(anyhow::anyhow!("the daemon did not start")),
            };
        }
    };
    let token = std::fs::read_to_string(data.join("admin.token")).context("reading the admin token")?.trim().to_owned();
    let result = drive(&args, addr, &token, &say);
    cancel.cancel();
    match daemon.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.context("the daemon")),
        Err(_) => anyhow::bail!("the daemon thread panicked"),
    }
    let summary = result?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&summary)?)?;
    } else {
        crate::outln!("{}", summary.text())?;
        if args.data.is_some() {
            crate::outln!("messages sent: {}", data.join("messages").display())?;
        }
    }
    drop(temp);
    Ok(ExitCode::SUCCESS)
}

// History, models, the live feed, and the console or the headless wait; the summary.
fn drive(
    args: &Args,
    addr: std::net::SocketAddr,
    token: &str,
    say: &dyn Fn(String),
) -> anyhow::Result<summary::Summary> {
    let shop = Shop {
        customers: args.customers,
        history_events: args.history,
        history_days: args.history_days,
        rate: args.rate,
        seed: args.seed,
    };
    let writer = Writer::new(addr, token)?;
    let now = cxp_store::now_ns();
    let started = Instant::now();
    let generator = business::history(shop, now);
    let bar = (!args.json).then(|| {
        indicatif::ProgressBar::new(args.history).with_style(
            indicatif::ProgressStyle::with_template("history {wide_bar} {pos}/{len} events")
                .expect("template is valid"),
        )
    });
    let history = business::backfill(generator, now, &writer, &|n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    say(format!(
        "history: {history} events over {} days loaded in {:.1} s",
        args.history_days,
        started.elapsed().as_secs_f64()
    ));
    let api = summary::Api::new(addr, token)?;
    for model in ["churn", "purchase"] {
        let t = Instant::now();
        match api.post(&format!("/api/v1/models/{model}/train")) {
            Ok(doc) => say(format!(
                "model {model}: trained in {:.1} s, test AUC {}",
                t.elapsed().as_secs_f64(),
                doc["model"]["test"]["auc"].as_f64().map_or("-".into(), |a| format!("{a:.3}"))
            )),
            Err(e) => say(format!("model {model}: not trained: {e}")),
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let feed = Arc::new(Feed::default());
    let live = {
        let (stop, feed) = (stop.clone(), feed.clone());
        std::thread::Builder::new()
            .name("cxp-demo-live".into())
            .spawn(move || business::live(shop, &writer, &stop, &feed))?
    };
    let live_started = Instant::now();
    let console = if args.headless {
        say(format!("live: {} events/s for {}", args.rate, humantime::format_duration(args.duration)));
        while live_started.elapsed() < args.duration {
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    } else {
        cxp_tui::run(cxp_tui::TopOptions {
            addr: addr.to_string(),
            token: Some(token.to_owned()),
            every: Duration::from_secs(1),
            ascii: args.ascii,
            color: None,
            no_size_check: false,
        })
    };
    stop.store(true, Ordering::Relaxed);
    if live.join().is_err() {
        anyhow::bail!("the live feed panicked");
    }
    console.context("the console")?;
    // Let the last events reach segments and journeys before counting.
    std::thread::sleep(Duration::from_millis(1_500));
    api.summary(history, feed.sent.load(Ordering::Relaxed), feed.failed.load(Ordering::Relaxed), live_started.elapsed())
}
