//! `cxp compact` and `cxp stats`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use cxp_store::StoreOptions;

/// Runs `cxp compact`: every pending merge, then redb compaction.
pub fn run(dir: &Path) -> anyhow::Result<ExitCode> {
    let store = super::open_store(dir, StoreOptions { auto_merge: false, ..StoreOptions::default() })?;
    let before = store.stats()?.file_bytes;
    let merges = store.compact().context("compacting")?;
    let after = std::fs::metadata(dir.join(cxp_store::FILE_NAME)).map(|m| m.len()).unwrap_or(0);
    println!("merges    {merges}");
    println!("file      {} -> {} bytes", before, after);
    Ok(ExitCode::SUCCESS)
}

/// Runs `cxp stats`.
pub fn stats(dir: &Path) -> anyhow::Result<ExitCode> {
    let store = super::open_store(dir, StoreOptions { auto_merge: false, ..StoreOptions::default() })?;
    let s = store.stats()?;
    let per_event = |bytes: u64| if s.events == 0 { 0.0 } else { bytes as f64 / s.events as f64 };
    println!("events        {}", s.events);
    println!("customers     {}", s.customers);
    println!("parts         {} fresh, {} hour, {} day", s.parts[0], s.parts[1], s.parts[2]);
    println!("chunk bytes   {} ({:.2} B/event)", s.chunk_bytes, per_event(s.chunk_bytes));
    println!("file bytes    {} ({:.2} B/event)", s.file_bytes, per_event(s.file_bytes));
    println!("quarantined   {}", s.quarantined);
    if let Some(e) = &s.last_merge_error {
        println!("last merge error: {e}");
    }
    Ok(ExitCode::SUCCESS)
}
