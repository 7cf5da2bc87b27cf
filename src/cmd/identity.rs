//! `cxp identity`: why identifiers are one customer, undo a wrong link, and what the
//! guardrails refused.

use std::path::PathBuf;
use std::process::ExitCode;

use cxp_store::{IdentityView, Link};

/// Subcommands of `cxp identity`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Shows every identifier linked with ID and the chain of links that joins them, each with
    /// the event that carried both identifiers; also links split by an operator and links a
    /// guardrail refused.
    Explain {
        /// Data directory of the store.
        #[arg(long, env = "CXP_DATA")]
        data: PathBuf,
        /// Any identifier: customer id, device id, email, phone, member card.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Undoes link LINK (its number in `cxp identity explain`): the identifiers it joined are
    /// apart again unless other links still join them, and later events do not join them
    /// again. The link stays on record with the split.
    Split {
        /// Data directory of the store.
        #[arg(long, env = "CXP_DATA")]
        data: PathBuf,
        /// The link's number.
        link: u64,
        /// Why, kept with the split.
        #[arg(long, default_value = "split by an operator")]
        reason: String,
    },
    /// Lists the links the guardrails refused and the blocked placeholder values seen.
    Refusals {
        /// Data directory of the store.
        #[arg(long, env = "CXP_DATA")]
        data: PathBuf,
        /// At most this many refusals.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

/// Runs `cxp identity`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Explain { data, id, json } => explain(&data, &id, json),
        Command::Split { data, link, reason } => {
            let store = super::open_store(&data, super::saved_options())?;
            let done = store.split_link(link, &reason)?;
            let (a, b) = (describe(&store, done.a), describe(&store, done.b));
            crate::outln!("split link {link}: {a} -- {b}")?;
            for (label, ck) in [(a, done.a), (b, done.b)] {
                let root = store.root(ck);
                crate::outln!("  {label} now belongs to customer {}", describe(&store, root))?;
            }
            store.close()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Refusals { data, limit } => {
            let store = super::open_store(&data, super::saved_options())?;
            let refusals = store.refusals(0, limit)?;
            if refusals.is_empty() {
                crate::outln!("no links refused")?;
            }
            for r in &refusals {
                crate::outln!(
                    "refusal {}: {} {} not linked to {}: {} ({} event, seq {}, ts {}, from {})",
                    r.id,
                    r.kind,
                    r.value,
                    describe(&store, r.key),
                    r.reason,
                    r.measurement,
                    r.seq,
                    r.ts,
                    r.source
                )?;
            }
            for (kind, value, n) in store.blocked_identifiers()? {
                crate::outln!("blocked {kind} {value:?}: {n} events keyed without it")?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn describe(store: &cxp_store::Store, ck: u32) -> String {
    store.customer_id(ck).map_or_else(|| format!("#{ck}"), |(kind, id)| format!("{kind}={id}"))
}

fn explain(data: &std::path::Path, id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = super::open_store(data, super::saved_options())?;
    let Some(view) = store.identity(id)? else {
        eprintln!("cxp: the store has never seen the identifier {id:?}");
        return Ok(ExitCode::from(1));
    };
    let name = |ck: u32| describe(&store, ck);
    if json {
        crate::outln!("{}", view_json(&view, &name))?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::outln!("customer {} ({} identifiers)", name(view.root), view.identifiers.len())?;
    for (_, kind, id) in &view.identifiers {
        crate::outln!("  {kind:<12} {id}")?;
    }
    if view.links.is_empty() {
        crate::outln!("no links: {id} stands alone")?;
    }
    let line = |l: &Link| {
        format!(
            "link {}: {} -- {}  by {} event (seq {}, ts {}) from {}",
            l.id,
            name(l.a),
            name(l.b),
            l.measurement,
            l.seq,
            l.ts,
            l.source
        )
    };
    for l in &view.links {
        crate::outln!("{}", line(l))?;
    }
    for (l, s) in &view.splits {
        crate::outln!("{}  [split at {}: {}]", line(l), s.at, s.reason)?;
    }
    for r in &view.refusals {
        crate::outln!(
            "refused {} {}: {} ({} event, seq {}, from {})",
            r.kind,
            r.value,
            r.reason,
            r.measurement,
            r.seq,
            r.source
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn view_json(view: &IdentityView, name: &dyn Fn(u32) -> String) -> serde_json::Value {
    let ids: Vec<_> =
        view.identifiers.iter().map(|(k, kind, id)| serde_json::json!({"key": k, "type": kind, "id": id})).collect();
    let link = |l: &Link| serde_json::json!({"link": l.id, "from": name(l.a), "to": name(l.b), "event": l.measurement, "ts": l.ts, "seq": l.seq, "source": l.source});
    let links: Vec<_> = view.links.iter().map(link).collect();
    let splits: Vec<_> = view
        .splits
        .iter()
        .map(|(l, s)| serde_json::json!({"link": link(l), "split_at": s.at, "reason": s.reason}))
        .collect();
    let refusals: Vec<_> = view
        .refusals
        .iter()
        .map(|r| serde_json::json!({"refusal": r.id, "type": r.kind, "id": r.value, "reason": r.reason, "event": r.measurement, "seq": r.seq, "ts": r.ts, "source": r.source}))
        .collect();
    serde_json::json!({"customer": name(view.root), "identifiers": ids, "links": links, "splits": splits, "refusals": refusals})
}
