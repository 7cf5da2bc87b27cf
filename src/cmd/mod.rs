//! One module per command.

pub mod compact;
pub mod dict;
pub mod events;
pub mod generate;
pub mod identity;
pub mod import;
pub mod quarantine;

use std::path::Path;

use anyhow::Context;
use cxp_store::{Store, StoreOptions};

/// Opens the store of a command, with a message that names the directory.
pub fn open_store(dir: &Path, options: StoreOptions) -> anyhow::Result<Store> {
    Store::open(dir, options).with_context(|| format!("opening the store in {}", dir.display()))
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

/// `println!` that returns write errors (a closed pipe) instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
