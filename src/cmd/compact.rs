//! `cxp compact` and `cxp stats`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

/// Runs `cxp compact`: every pending merge, then redb compaction.
pub fn run(dir: &Path) -> anyhow::Result<ExitCode> {
    let store = super::open_store(dir, super::saved_options())?;
    let before = store.stats()?.file_bytes;
    let merges = store.compact().context("compacting")?;
    let after = std::fs::metadata(dir.join(cxp_store::FILE_NAME)).map(|m| m.len()).unwrap_or(0);
    crate::outln!("merges    {merges}")?;
    crate::outln!("file      {} -> {} bytes", before, after)?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cxp stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Data directory of the store.
    #[arg(long, env = "CXP_DATA")]
    pub data: Option<std::path::PathBuf>,
    /// Also show bytes per event of every column of every measurement, and their codecs.
    #[arg(long)]
    columns: bool,
    /// Also show the data dictionary's counts per measurement and field, profile completeness,
    /// the omnichannel share and identity refusals.
    #[arg(long)]
    quality: bool,
}

/// Runs `cxp stats`.
pub fn stats(args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let Some(data) = &args.data else {
        anyhow::bail!("`cxp stats` needs --data DIR (or CXP_DATA), or a test: `cxp stats proportions|means`")
    };
    let store = super::open_store(data, super::saved_options())?;
    let s = store.stats()?;
    let per_event = |bytes: u64| if s.events == 0 { 0.0 } else { bytes as f64 / s.events as f64 };
    crate::outln!("events        {}", s.events)?;
    crate::outln!("customers     {}", s.customers)?;
    crate::outln!("parts         {} fresh, {} hour, {} day, {} month", s.parts[0], s.parts[1], s.parts[2], s.parts[3])?;
    crate::outln!("chunk bytes   {} ({:.2} B/event)", s.chunk_bytes, per_event(s.chunk_bytes))?;
    crate::outln!("meta bytes    {} ({:.2} B/event)", s.meta_bytes, per_event(s.meta_bytes))?;
    crate::outln!("file bytes    {} ({:.2} B/event)", s.file_bytes, per_event(s.file_bytes))?;
    crate::outln!("quarantined   {}", s.quarantined)?;
    if args.columns {
        print_columns(&store.parts()?, s.events)?;
    }
    if args.quality {
        crate::outln!(
            "{:<14} {:<16} {:>10} {:>10} {:>8} {:>8}",
            "measurement",
            "field",
            "seen",
            "normalized",
            "invalid",
            "rejected"
        )?;
        for ((m, f), q) in store.field_stats()? {
            crate::outln!("{m:<14} {f:<16} {:>10} {:>10} {:>8} {:>8}", q.seen, q.normalized, q.invalid, q.rejected)?;
        }
        let c = store.completeness();
        crate::outln!("profile completeness: mean {:.1}% over {} customers", c.mean * 100.0, c.customers)?;
        for (i, n) in c.histogram.iter().enumerate() {
            let label = if i == 10 { "100%".to_owned() } else { format!("{:>3}-{}%", i * 10, i * 10 + 9) };
            crate::outln!("  {label:<8} {n:>10}")?;
        }
        let (online, both) = store.omnichannel();
        let share = if online == 0 { 0.0 } else { both as f64 * 100.0 / online as f64 };
        crate::outln!("online buyers who also bought offline: {both} of {online} ({share:.1}%)")?;
        let refused = store.refusals(0, usize::MAX)?.len();
        crate::outln!("identity links refused by guardrails: {refused}")?;
    }
    if let Some(e) = &s.last_merge_error {
        crate::outln!("last merge error: {e}")?;
    }
    Ok(ExitCode::SUCCESS)
}

// Bytes per event (of all events) by measurement and column, with the codecs seen.
fn print_columns(parts: &[cxp_store::PartMeta], events: u64) -> std::io::Result<()> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<(String, String), (u64, BTreeMap<u8, u64>)> = BTreeMap::new();
    for p in parts {
        let names: Vec<String> = ["ts", "ck", "seq"]
            .into_iter()
            .map(str::to_owned)
            .chain(p.columns.iter().map(|c| format!("{}:{:?}", c.name, c.kind).to_lowercase()))
            .collect();
        for chunk in &p.chunks {
            for (name, col) in names.iter().zip(&chunk.columns) {
                let e = by.entry((p.measurement.clone(), name.clone())).or_default();
                e.0 += u64::from(col.bytes);
                *e.1.entry(col.codec).or_default() += 1;
            }
        }
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.0));
    crate::outln!("{:<14} {:<22} {:>10} {:>9}  codecs (chunks)", "measurement", "column", "bytes", "B/event")?;
    for ((m, c), (bytes, codecs)) in rows {
        let codecs: Vec<String> = codecs
            .iter()
            .map(|(k, n)| format!("{}x{n}", cxp_store::Codec::from_byte(*k).map_or("?", cxp_store::Codec::name)))
            .collect();
        crate::outln!(
            "{m:<14} {c:<22} {bytes:>10} {:>9.3}  {}",
            bytes as f64 / events.max(1) as f64,
            codecs.join(" ")
        )?;
    }
    Ok(())
}
