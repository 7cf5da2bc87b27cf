//! `cxp quarantine`: the lines the store refused.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `cxp quarantine`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory of the store.
    #[arg(long, env = "CXP_DATA")]
    data: PathBuf,
    /// JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Parse every quarantined line again and store those that now pass.
    #[arg(long, conflicts_with = "fix")]
    replay: bool,
    /// Replace entry ID's line with LINE and replay it.
    #[arg(long, num_args = 2, value_names = ["ID", "LINE"])]
    fix: Option<Vec<String>>,
}

/// Runs `cxp quarantine`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.data, super::saved_options())?;
    if args.replay {
        let report = store.replay_quarantine(None).context("replaying")?;
        crate::outln!("stored {}, still rejected {}", report.stored, report.still_rejected)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(fix) = &args.fix {
        let id: u64 = fix[0].parse().with_context(|| format!("{:?} is not an entry id", fix[0]))?;
        return match store.fix_quarantine(id, fix[1].as_bytes()).context("replaying")? {
            Some(r) if r.stored > 0 => {
                crate::outln!("entry {id} stored")?;
                Ok(ExitCode::SUCCESS)
            }
            Some(_) => {
                let reason = store.quarantine(id - 1, 1)?.into_iter().next().map(|e| e.reason).unwrap_or_default();
                crate::outln!("entry {id} still refused: {reason}")?;
                Ok(ExitCode::from(1))
            }
            None => {
                eprintln!("cxp: no quarantine entry {id}");
                Ok(ExitCode::from(1))
            }
        };
    }
    let mut after = 0;
    loop {
        let page = store.quarantine(after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for e in &page {
            let raw = String::from_utf8_lossy(&e.raw);
            if args.json {
                let v = serde_json::json!({
                    "id": e.id, "received_ns": e.received_ns, "source": e.source, "line": e.line,
                    "reason": e.reason, "precision": e.precision, "raw": raw,
                });
                crate::outln!("{v}")?;
            } else {
                crate::outln!("#{} {} line {}: {}\n    {}", e.id, e.source, e.line, e.reason, raw)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
