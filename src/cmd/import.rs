//! `cxp import`: bulk load line protocol with a progress bar and a report.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use cxp_store::{Batch, ParseOptions, PendingWrite, Precision, Store, StoreOptions};
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `cxp import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory of the store.
    #[arg(long, env = "CXP_DATA")]
    data: PathBuf,
    /// Precision of timestamps in the input: ns, us, ms, s (and v1's n, u, m, h).
    #[arg(long, default_value = "ns", value_parser = parse_precision)]
    precision: Precision,
    /// Longest line accepted, in bytes.
    #[arg(long, default_value_t = cxp_store::ParseOptions::default().max_line_bytes)]
    max_line_bytes: usize,
    #[command(flatten)]
    dict: super::DictArg,
    /// Files of line protocol; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn parse_precision(s: &str) -> Result<Precision, String> {
    s.parse::<Precision>().map_err(|e| e.to_string())
}

// Large enough to amortise a commit, small enough to keep memory flat on huge files.
const BLOCK: usize = 2 << 20;
// Batches in flight: parsing the next block overlaps the commit of the previous ones.
const IN_FLIGHT: usize = 3;

#[derive(Default)]
struct Totals {
    accepted: u64,
    rejected: u64,
    reasons: BTreeMap<String, (u64, String)>,
}

impl Totals {
    fn absorb(&mut self, pending: PendingWrite) -> anyhow::Result<()> {
        let receipt = pending.wait().context("writing to the store")?;
        self.accepted += receipt.accepted;
        for r in receipt.rejected {
            self.rejected += 1;
            let entry = self.reasons.entry(reason_kind(&r.reason)).or_insert((0, String::new()));
            entry.0 += 1;
            if entry.1.is_empty() {
                entry.1 = format!("line {}: {}", r.line, r.reason);
            }
        }
        Ok(())
    }
}

// Groups reasons without their column, so that one mistake repeated on many lines counts once.
fn reason_kind(reason: &str) -> String {
    reason.split_once(": ").filter(|(c, _)| c.starts_with("col ")).map_or(reason, |(_, r)| r).to_owned()
}

/// Runs `cxp import`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dictionary = args.dict.choice()?;
    let store = super::open_store(&args.data, StoreOptions { dictionary, search: true, ..StoreOptions::default() })?;
    let options = ParseOptions { precision: args.precision, max_line_bytes: args.max_line_bytes };
    let started = Instant::now();
    let mut totals = Totals::default();
    for file in &args.files {
        import_one(&store, file, options, &mut totals)?;
    }
    let elapsed = started.elapsed();
    store.close().context("closing the store")?;
    let rate = totals.accepted as f64 / elapsed.as_secs_f64().max(1e-9);
    crate::outln!("accepted  {}", totals.accepted)?;
    crate::outln!("rejected  {}", totals.rejected)?;
    let mut kinds: Vec<_> = totals.reasons.iter().collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1.0));
    for (kind, (count, example)) in kinds.iter().take(10) {
        crate::outln!("  {count:>8}  {kind}  (first: {example})")?;
    }
    if kinds.len() > 10 {
        crate::outln!("  ... and {} more kinds of reason", kinds.len() - 10)?;
    }
    crate::outln!("elapsed   {:.2} s", elapsed.as_secs_f64())?;
    crate::outln!("rate      {rate:.0} events/s")?;
    if totals.rejected > 0 {
        crate::outln!("see the refused lines with: cxp quarantine --data {}", args.data.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn import_one(store: &Store, file: &PathBuf, options: ParseOptions, totals: &mut Totals) -> anyhow::Result<()> {
    let (mut reader, len, source): (Box<dyn Read>, Option<u64>, String) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None, "import:-".to_owned())
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len, format!("import:{}", file.display()))
    };
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .expect("template is valid"),
        ),
        None => ProgressBar::new_spinner()
            .with_style(ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}").expect("valid")),
    };
    bar.set_message(file.display().to_string());
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK * 2);
    let mut line_no = 1u64;
    let mut in_flight: VecDeque<PendingWrite> = VecDeque::new();
    loop {
        let start = buf.len();
        buf.resize(start + BLOCK, 0);
        let n = read_full(&mut reader, &mut buf[start..]).with_context(|| format!("reading {}", file.display()))?;
        buf.truncate(start + n);
        let eof = n == 0;
        // Parse whole lines only; the tail waits for the next block.
        let mut cut = if eof { buf.len() } else { buf.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) };
        if cut > 0 {
            let mut batch = Batch::new(source.clone());
            let unterminated = batch.push_line_protocol(&buf[..cut], options, cxp_store::now_ns(), line_no);
            // A quoted string with a raw newline may straddle the cut: read that line again with
            // the next block. Only near the end (a line is at most max_line_bytes) and never
            // from the block's start, so a truly unterminated string is still reported.
            if let Some(mark) = unterminated
                && !eof
                && mark.offset > 0
                && mark.offset + options.max_line_bytes >= cut
            {
                batch.rewind(mark);
                cut = mark.offset;
            }
            line_no += count_newlines(&buf[..cut]);
            if in_flight.len() >= IN_FLIGHT
                && let Some(p) = in_flight.pop_front()
            {
                totals.absorb(p)?;
            }
            in_flight.push_back(store.write_async(batch).context("queueing a batch")?);
            bar.inc(cut as u64);
            buf.drain(..cut);
        }
        if eof {
            break;
        }
    }
    while let Some(p) = in_flight.pop_front() {
        totals.absorb(p)?;
    }
    bar.finish_and_clear();
    Ok(())
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::reason_kind;

    #[test]
    fn reasons_group_without_columns() {
        assert_eq!(
            reason_kind("col 17: integer 9223372036854775808i out of range"),
            "integer 9223372036854775808i out of range"
        );
        let conflict = "field type conflict: input field \"amount\" on measurement \"order\" is type integer";
        assert_eq!(reason_kind(conflict), conflict);
    }
}
