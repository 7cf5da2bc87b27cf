//! `cxp import`: bulk load line protocol, CSV and JSON lines (with a mapping file) and
//! transaction logs, with a progress bar, a rejects report, and resumption of an interrupted
//! import of a large file where it stopped.

mod checkpoint;
mod mapping;
mod records;

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
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
    /// lp, csv, jsonl or txlog (customer id, date, quantity, amount per purchase); default by
    /// the file's extension (.csv, .jsonl/.ndjson, else line protocol).
    #[arg(long, value_parser = ["lp", "csv", "jsonl", "txlog"])]
    format: Option<String>,
    /// Mapping file for CSV and JSON lines: event, customer, time and its format, tags, fields.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Time zone of dates without an offset in a transaction log (default UTC).
    #[arg(long)]
    timezone: Option<String>,
    /// Import from the start even if an earlier import of the file was interrupted (without
    /// it, the import goes on after the last durable batch).
    #[arg(long)]
    from_start: bool,
    /// Write records that could not be converted (line, reason, record) to this file.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Files; `-` reads line protocol from standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// The kind of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Lp,
    Csv,
    Jsonl,
    Txlog,
}

fn format_of(given: Option<&str>, file: &Path) -> Format {
    match given {
        Some("csv") => Format::Csv,
        Some("jsonl") => Format::Jsonl,
        Some("txlog") => Format::Txlog,
        Some(_) => Format::Lp,
        None => match file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Format::Csv,
            Some("jsonl" | "ndjson") => Format::Jsonl,
            _ => Format::Lp,
        },
    }
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
    rejects_file: Option<std::io::BufWriter<std::fs::File>>,
}

impl Totals {
    fn absorb(&mut self, pending: PendingWrite) -> anyhow::Result<()> {
        let receipt = pending.wait().context("writing to the store")?;
        self.accepted += receipt.accepted;
        for r in receipt.rejected {
            self.reject(r.line, &r.reason);
        }
        Ok(())
    }

    fn reject(&mut self, line: u64, reason: &str) {
        self.rejected += 1;
        let entry = self.reasons.entry(reason_kind(reason)).or_insert((0, String::new()));
        entry.0 += 1;
        if entry.1.is_empty() {
            entry.1 = format!("line {line}: {reason}");
        }
    }

    // A record that never became an event: counted, and written to the rejects file.
    fn refuse(&mut self, file: &Path, line: u64, reason: &str, raw: &str) -> anyhow::Result<()> {
        self.reject(line, reason);
        if let Some(w) = &mut self.rejects_file {
            writeln!(w, "{}:{line}\t{reason}\t{raw}", file.display()).context("writing the rejects file")?;
        }
        Ok(())
    }
}

/// Batches in flight with where each one ends in its file, and the checkpoint to move on.
struct Progress<'a> {
    store: &'a Store,
    in_flight: VecDeque<(PendingWrite, u64, u64)>,
    checkpoint: Option<(PathBuf, checkpoint::Checkpoint)>,
}

impl Progress<'_> {
    fn push(&mut self, totals: &mut Totals, batch: Batch, offset: u64, line: u64) -> anyhow::Result<()> {
        // With a checkpoint, one batch commits while the next is read: a crash can then leave
        // at most that one batch durable beyond the checkpoint (stored twice on resume).
        let limit = if self.checkpoint.is_some() { 1 } else { IN_FLIGHT };
        if self.in_flight.len() >= limit {
            self.settle_one(totals)?;
        }
        self.in_flight.push_back((self.store.write_async(batch).context("queueing a batch")?, offset, line));
        Ok(())
    }

    // Waits for the oldest batch, then records that the file is durable up to its end.
    fn settle_one(&mut self, totals: &mut Totals) -> anyhow::Result<()> {
        let Some((p, offset, line)) = self.in_flight.pop_front() else { return Ok(()) };
        totals.absorb(p)?;
        if let Some((path, c)) = &mut self.checkpoint {
            (c.offset, c.line, c.accepted, c.rejected) = (offset, line, totals.accepted, totals.rejected);
            checkpoint::save(path, c)?;
        }
        Ok(())
    }

    fn finish(&mut self, totals: &mut Totals) -> anyhow::Result<()> {
        while !self.in_flight.is_empty() {
            self.settle_one(totals)?;
        }
        if let Some((path, _)) = &self.checkpoint {
            checkpoint::remove(path)?;
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
    let mapping = match &args.mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(mapping::Mapping::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    let started = Instant::now();
    let mut totals = Totals::default();
    if let Some(p) = &args.rejects {
        let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
        totals.rejects_file = Some(std::io::BufWriter::new(f));
    }
    for file in &args.files {
        let format = format_of(args.format.as_deref(), file);
        let resume = if file.as_os_str() == "-" {
            None
        } else {
            Some(resume_point(&args.data, file, args.from_start, &mut totals)?)
        };
        let mut progress = Progress { store: &store, in_flight: VecDeque::new(), checkpoint: resume.clone() };
        let (offset, line) = resume.as_ref().map_or((0, 1), |(_, c)| (c.offset, c.line));
        match format {
            Format::Lp => import_one(&mut progress, file, options, &mut totals, offset, line)?,
            Format::Csv | Format::Jsonl => {
                let Some(m) = mapping.clone() else {
                    anyhow::bail!(
                        "{}: CSV and JSON lines need --mapping FILE (see `cxp import --help`)",
                        file.display()
                    );
                };
                convert_one(&mut progress, file, format, m, options, &mut totals, offset, line)?;
            }
            Format::Txlog => {
                let mut m = mapping::Mapping::txlog();
                m.timezone = args.timezone.clone();
                m.zone().map_err(anyhow::Error::msg)?;
                convert_one(&mut progress, file, format, m, options, &mut totals, offset, line)?;
            }
        }
        progress.finish(&mut totals)?;
    }
    if let Some(w) = &mut totals.rejects_file {
        w.flush().context("writing the rejects file")?;
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

// Where to start `file`: after the last durable batch of an interrupted import of it.
fn resume_point(
    data: &Path,
    file: &Path,
    from_start: bool,
    totals: &mut Totals,
) -> anyhow::Result<(PathBuf, checkpoint::Checkpoint)> {
    let path = checkpoint::path_for(data, file);
    let (size, modified_ns) = checkpoint::stamp(file)?;
    let fresh = checkpoint::Checkpoint {
        file: file.display().to_string(),
        size,
        modified_ns,
        offset: 0,
        line: 1,
        accepted: 0,
        rejected: 0,
    };
    match checkpoint::load(&path)? {
        Some(c) if from_start => {
            eprintln!("{}: importing from the start (an earlier import had reached line {})", file.display(), c.line);
            Ok((path, fresh))
        }
        Some(c) if c.size == size && c.modified_ns == modified_ns => {
            eprintln!(
                "{}: resuming at line {} (byte {}): {} events were stored before the interruption",
                file.display(),
                c.line,
                c.offset,
                c.accepted
            );
            totals.accepted += c.accepted;
            totals.rejected += c.rejected;
            let carried = checkpoint::Checkpoint { accepted: 0, rejected: 0, ..c };
            Ok((path, carried))
        }
        Some(c) => anyhow::bail!(
            "{}: an earlier import stopped at line {}, but the file changed since; \
             import it again with --from-start (events already stored would be stored twice), \
             or remove {}",
            file.display(),
            c.line,
            path.display()
        ),
        None => Ok((path, fresh)),
    }
}

fn bar_for(file: &Path, len: Option<u64>, offset: u64) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .expect("template is valid"),
        ),
        None => ProgressBar::new_spinner()
            .with_style(ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}").expect("valid")),
    };
    bar.set_message(file.display().to_string());
    bar.set_position(offset);
    bar
}

#[allow(clippy::too_many_arguments)]
fn convert_one(
    progress: &mut Progress<'_>,
    file: &Path,
    format: Format,
    mapping: mapping::Mapping,
    options: ParseOptions,
    totals: &mut Totals,
    offset: u64,
    line: u64,
) -> anyhow::Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let len = f.metadata().ok().map(|m| m.len());
    let mut source: Box<dyn records::Records> = match format {
        Format::Csv => {
            Box::new(records::Csv::open(f, mapping, offset, line).with_context(|| file.display().to_string())?)
        }
        Format::Jsonl => Box::new(records::Lines::open(f, records::LineKind::Json, mapping, offset, line)?),
        _ => Box::new(records::Lines::open(f, records::LineKind::Txlog, mapping, offset, line)?),
    };
    let bar = bar_for(file, len, offset);
    let name = format!("import:{}", file.display());
    let mut batch = Batch::new(name.clone());
    let mut bytes = 0usize;
    let now = cxp_store::now_ns();
    while let Some(r) = source.next_record()? {
        match r.lp {
            Ok(lp) => {
                bytes += lp.len();
                // One record at a time, so the store's line numbers are the file's.
                batch.push_line_protocol(&lp, options, now, r.line);
            }
            Err(reason) => totals.refuse(file, r.line, &reason, &r.raw)?,
        }
        if bytes >= BLOCK {
            let (offset, line) = source.position();
            progress.push(totals, std::mem::replace(&mut batch, Batch::new(name.clone())), offset, line)?;
            bar.set_position(offset);
            bytes = 0;
        }
    }
    let (offset, line) = source.position();
    progress.push(totals, batch, offset, line)?;
    bar.finish_and_clear();
    Ok(())
}

fn import_one(
    progress: &mut Progress<'_>,
    file: &Path,
    options: ParseOptions,
    totals: &mut Totals,
    offset: u64,
    first_line: u64,
) -> anyhow::Result<()> {
    let (mut reader, len, source): (Box<dyn Read>, Option<u64>, String) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None, "import:-".to_owned())
    } else {
        let mut f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset)).context("going to where the import stopped")?;
        (Box::new(f), len, format!("import:{}", file.display()))
    };
    let bar = bar_for(file, len, offset);
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK * 2);
    let mut line_no = first_line;
    let mut done = offset;
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
            done += cut as u64;
            progress.push(totals, batch, done, line_no)?;
            bar.inc(cut as u64);
            buf.drain(..cut);
        }
        if eof {
            break;
        }
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
