//! One module per command.

pub mod automation;
pub mod cluster;
pub mod compact;
pub mod copurchase;
pub mod customer;
pub mod demo;
pub mod dict;
pub mod erase;
pub mod events;
pub mod experiment;
pub mod funnel;
pub mod generate;
pub mod identity;
pub mod import;
pub mod kpi;
pub mod model;
pub mod quarantine;
pub mod query;
pub mod rfm;
pub mod search;
pub mod segment;
pub mod serve;
pub mod source;
pub mod stats;
pub mod token;
pub mod top;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use cxp_store::dict::{Dictionary, DictionaryChoice};
use cxp_store::{Store, StoreOptions};

/// Opens the store of a command, with a message that names the directory.
pub fn open_store(dir: &Path, options: StoreOptions) -> anyhow::Result<Store> {
    Store::open(dir, options).with_context(|| format!("opening the store in {}", dir.display()))
}

/// Options of commands that work on an existing store: no background merges, and the data
/// dictionary saved in it (so identifiers are normalised and replayed lines governed as at
/// ingest).
pub fn saved_options() -> StoreOptions {
    StoreOptions { auto_merge: false, dictionary: DictionaryChoice::Saved, ..StoreOptions::default() }
}

/// `--dict`: the data dictionary a command applies.
#[derive(Debug, Clone, clap::Args)]
pub struct DictArg {
    /// Data dictionary: a TOML file, `default` for the one that ships with cxp, or `none`; the
    /// choice is saved in the store for later commands. Without it, the saved choice applies,
    /// else the default dictionary.
    #[arg(long, value_name = "FILE|default|none")]
    dict: Option<PathBuf>,
}

impl DictArg {
    /// The store option for this argument.
    pub fn choice(&self) -> anyhow::Result<DictionaryChoice> {
        let Some(p) = &self.dict else { return Ok(DictionaryChoice::Saved) };
        if p.as_os_str() == "none" {
            return Ok(DictionaryChoice::Disable);
        }
        if p.as_os_str() == "default" {
            return Ok(DictionaryChoice::Use(Arc::new(Dictionary::builtin())));
        }
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let dict = Dictionary::parse(&text).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| format!("{}:{e}", p.display())).collect();
            anyhow::anyhow!("invalid dictionary:\n{}", lines.join("\n"))
        })?;
        Ok(DictionaryChoice::Use(Arc::new(dict)))
    }
}

/// Parses a time given as RFC 3339 (`2026-01-01T00:00:00Z`) or integer nanoseconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(ns) = s.parse::<i64>() {
        return Ok(ns);
    }
    let t = humantime::parse_rfc3339_weak(s)
        .map_err(|e| format!("{s:?} is neither nanoseconds nor an RFC 3339 time: {e}"))?;
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).map_err(|_| format!("{s:?} is out of range")),
        Err(e) => i64::try_from(e.duration().as_nanos()).map(|n| -n).map_err(|_| format!("{s:?} is out of range")),
    }
}

/// A time in ns as RFC 3339 to the second (UTC).
pub fn format_time(ns: i64) -> String {
    match u64::try_from(ns) {
        Ok(n) => {
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(n)).to_string()
        }
        Err(_) => format!("{ns} ns"),
    }
}

/// `println!` that returns write errors (a closed pipe) instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
