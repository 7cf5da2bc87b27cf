//! `cxp identity`: why identifiers are one customer.

use std::path::PathBuf;
use std::process::ExitCode;

use cxp_store::StoreOptions;

/// Subcommands of `cxp identity`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Shows every identifier linked with ID and the chain of links that joins them, each with
    /// the event that carried both identifiers.
    Explain {
        /// Data directory of the store.
        #[arg(long, env = "CXP_DATA")]
        data: PathBuf,
        /// Any identifier: a customer id or an anonymous id.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cxp identity`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Explain { data, id, json } = command;
    let store = super::open_store(&data, StoreOptions { auto_merge: false, ..StoreOptions::default() })?;
    let Some(view) = store.identity(&id)? else {
        eprintln!("cxp: the store has never seen the identifier {id:?}");
        return Ok(ExitCode::from(1));
    };
    let name = |ck: u32| {
        view.identifiers
            .iter()
            .find(|(k, _, _)| *k == ck)
            .map_or_else(|| format!("#{ck}"), |(_, kind, id)| format!("{}={id}", kind.key()))
    };
    if json {
        let ids: Vec<_> = view
            .identifiers
            .iter()
            .map(|(k, kind, id)| serde_json::json!({"key": k, "type": kind.key(), "id": id}))
            .collect();
        let links: Vec<_> = view
            .links
            .iter()
            .map(|l| serde_json::json!({"link": l.id, "from": name(l.a), "to": name(l.b), "event": l.measurement, "ts": l.ts, "seq": l.seq, "source": l.source}))
            .collect();
        crate::outln!("{}", serde_json::json!({"customer": name(view.root), "identifiers": ids, "links": links}))?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::outln!("customer {} ({} identifiers)", name(view.root), view.identifiers.len())?;
    for (_, kind, id) in &view.identifiers {
        crate::outln!("  {:<10} {id}", kind.key())?;
    }
    if view.links.is_empty() {
        crate::outln!("no links: {id} stands alone")?;
    }
    for l in &view.links {
        crate::outln!(
            "link {}: {} -- {}  by {} event (seq {}, ts {}) from {}",
            l.id,
            name(l.a),
            name(l.b),
            l.measurement,
            l.seq,
            l.ts,
            l.source
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
